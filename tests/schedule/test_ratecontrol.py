"""The lane controller on a fake clock: each rule of `worker.schedule.ratecontrol`, one test each."""

from __future__ import annotations

import pytest

from worker.schedule.pacer import Pacer
from worker.schedule.ratecontrol import LaneController
from worker.schedule.tuning import DEFAULT_TUNING

MARGIN = DEFAULT_TUNING.margin


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _controller(rate: float | None = None, ceiling: float | None = None) -> tuple[FakeClock, Pacer, LaneController]:
    clock = FakeClock()
    pacer = Pacer(rate, clock=clock)
    return clock, pacer, LaneController(pacer, ceiling=ceiling, clock=clock)


def _deliver(clock: FakeClock, controller: LaneController, count: int, every: float) -> None:
    for _ in range(count):
        controller.settle_due()
        controller.on_send()
        clock.now += every
        controller.on_success(None)


def _refused(clock: FakeClock, controller: LaneController, pause_s: float, *, precise: bool = True) -> None:
    """A refusal of a request sent now, and the lane going on once its pause has passed."""
    controller.on_throttled(pause_s, sent_at=clock.now, precise=precise)
    clock.now += pause_s
    controller.settle_due()


def _sent(controller: LaneController, count: int) -> None:
    """`count` requests went out (growth needs the lane to use its pace)."""
    for _ in range(count):
        controller.on_send()


def test_the_first_refusal_spreads_what_got_through_until_the_lane_may_go_on() -> None:
    clock, pacer, controller = _controller()
    _deliver(clock, controller, 10, 0.005)  # 10 requests in 50 ms, then "wait 1 s": a guess, to ramp from
    controller.on_throttled(1.0, sent_at=clock.now)
    assert pacer.rate is None  # decided when the lane goes on, once the span is known
    clock.now += 1.0
    controller.settle_due()
    assert pacer.rate == pytest.approx(10 / 1.05, rel=0.01)
    assert controller.measured is None


def test_a_first_refusal_with_a_long_pause_is_a_measure_paced_just_under_at_once() -> None:
    clock, pacer, controller = _controller()
    _deliver(clock, controller, 5, 0.01)  # 5 requests in 50 ms, then "wait 9.95 s" (a 10-s window)
    _refused(clock, controller, 9.95)
    assert controller.measured == pytest.approx(5 / 10.0, rel=0.01)
    assert pacer.rate == pytest.approx(MARGIN * 5 / 10.0, rel=0.01)  # no ramp past it: no second refusal
    assert pacer.window is not None  # ... and 5 at each window's start, not one every 2 s
    count, seconds = pacer.window
    assert count == 5
    assert seconds == pytest.approx(10.0 / MARGIN, rel=0.01)


def test_a_window_is_held_until_refused_then_paced_evenly() -> None:
    clock, pacer, controller = _controller()
    _deliver(clock, controller, 5, 0.01)
    _refused(clock, controller, 9.95)
    _deliver(clock, controller, 20, 2.5)  # 50 s of windows: no growth past the quota
    window = pacer.window
    assert window is not None
    assert window[0] == 5
    controller.on_throttled(3.0, sent_at=clock.now)  # a window begun too early (its length was a guess)
    clock.now += 3.0
    controller.settle_due()
    assert pacer.window is None
    assert pacer.rate is not None
    assert pacer.rate <= 0.5


def test_a_window_learned_earlier_is_paced_again_and_held() -> None:
    clock, pacer, controller = _controller()
    controller.start_from(5 / 10.2, (5, 10.2))  # what a run under "5 per 10 s" ended with (`lanes.json`)
    assert pacer.window == (5, 10.2)
    assert controller.measured == pytest.approx(5 / 10.2)
    _deliver(clock, controller, 20, 2.5)
    assert pacer.window == (5, 10.2)  # no probing past it until a refusal says it was a guess


def test_a_window_learned_earlier_over_a_ceiling_is_not_paced() -> None:
    _clock, pacer, controller = _controller(ceiling=0.2)
    controller.start_from(5 / 10.2, (5, 10.2))
    assert pacer.window is None
    assert pacer.rate == 0.2


def test_refusals_of_requests_in_flight_together_are_one_event() -> None:
    clock, _pacer, controller = _controller()
    _deliver(clock, controller, 10, 0.01)
    sent = clock.now - 0.005
    controller.on_throttled(0.5, sent_at=sent + 0.001)
    for _ in range(20):
        controller.on_throttled(0.5, sent_at=sent)
    assert controller.throttle_events == 1


def test_a_long_saturated_span_sets_the_rate_just_under_what_got_through() -> None:
    clock, pacer, controller = _controller(rate=300.0)
    controller.on_throttled(0.005, sent_at=clock.now)  # opens a span
    clock.now += 0.005
    controller.settle_due()
    _deliver(clock, controller, 400, 0.005)  # paced at 300/s, but only 200/s got through: 2 s
    for _ in range(200):  # ... of the 600 sent
        controller.on_send()
    _refused(clock, controller, 0.005)
    assert controller.measured == pytest.approx(200, rel=0.02)
    assert pacer.rate == pytest.approx(200 * MARGIN, rel=0.02)


def test_a_short_span_cuts_but_not_below_what_got_through() -> None:
    clock, pacer, controller = _controller(rate=1000.0)
    _refused(clock, controller, 0.005)
    _deliver(clock, controller, 1, 0.005)
    _refused(clock, controller, 0.005)
    assert controller.measured is None  # 15 ms mean nothing
    assert pacer.rate == pytest.approx(500.0)


def test_a_span_that_got_all_the_lane_sent_is_not_saturated_though_under_its_pace() -> None:
    clock, pacer, controller = _controller(rate=210.0)
    controller.on_throttled(0.005, sent_at=clock.now)  # opens a span
    clock.now += 0.005
    controller.settle_due()
    _deliver(clock, controller, 400, 0.005)  # paced at 210/s, the pacer lagging: 200/s sent, all got through
    _refused(clock, controller, 0.005)
    assert controller.measured is None  # not a measure of the quota: a trim only
    assert pacer.rate == pytest.approx(210 * 0.99, rel=0.01)  # not 200 * MARGIN


def test_a_lane_refused_while_sending_well_under_its_pace_goes_at_what_it_sent_measuring_nothing() -> None:
    clock, pacer, controller = _controller(rate=300.0)
    _refused(clock, controller, 0.005)
    _deliver(clock, controller, 400, 0.005)  # paced at 300/s, but its input came at 200/s
    _refused(clock, controller, 0.005)
    assert controller.measured is None  # another lane's use of an app-wide limit, maybe: not this lane's quota
    assert pacer.rate == pytest.approx(200, rel=0.01)


def test_below_a_provisional_estimate_the_rate_doubles_every_20_requests_at_its_pace() -> None:
    clock, pacer, controller = _controller()
    _deliver(clock, controller, 10, 0.005)
    _refused(clock, controller, 1.0)
    first = pacer.rate
    assert first is not None
    _sent(controller, 20)
    _deliver(clock, controller, 1, 20 / first + 0.01)  # a step is 20 requests' time at the pace
    assert pacer.rate == pytest.approx(first * 2)
    _sent(controller, 20)
    _deliver(clock, controller, 1, 10 / first + 0.01)  # ... at the new, doubled pace: half as long
    assert pacer.rate == pytest.approx(first * 4)


def test_once_refused_at_a_pace_growth_closes_part_of_the_gap_only() -> None:
    clock, pacer, controller = _controller(rate=100.0)
    controller.on_throttled(0.01, sent_at=clock.now)  # refused at 100/s: no more ramping
    clock.now += 0.01
    controller.settle_due()
    pacer.rate = 50.0
    _sent(controller, 75)
    _deliver(clock, controller, 1, 1.5)
    assert pacer.rate == pytest.approx(50 + 0.3 * (100 * MARGIN - 50))  # aiming just under the pace refused


def test_a_pace_the_lane_does_not_use_does_not_grow() -> None:
    clock, pacer, controller = _controller(rate=100.0)
    controller.start_from(100.0)
    for _ in range(20):  # 10 s sending 20/s (its input is slow): the pace of 100/s proves nothing
        _sent(controller, 10)
        clock.now += 0.5
        controller.on_success(None)
    assert pacer.rate == pytest.approx(100.0)
    for _ in range(4):  # then it sends at its pace: probing resumes
        _sent(controller, 50)
        clock.now += 0.5
        controller.on_success(None)
    assert pacer.rate is not None
    assert pacer.rate > 100.0


def test_the_throttle_hint_slows_down_each_time_it_rises_and_holds_nothing_when_steady() -> None:
    clock, pacer, controller = _controller(rate=10.0)
    controller.start_from(10.0)
    _sent(controller, 15)
    clock.now += 1.5
    controller.on_success(0.85)
    assert pacer.rate == pytest.approx(10 * 0.97)
    _sent(controller, 15)
    clock.now += 1.5
    controller.on_success(0.85)  # steady (a bucket of one request reads 100 % after every request): a probe step
    assert pacer.rate is not None
    assert 10 * 0.97 < pacer.rate < 10 * 0.97 * 1.05


def test_the_ceiling_caps_every_change() -> None:
    clock, pacer, controller = _controller(rate=0.5, ceiling=0.5)
    for _ in range(10):
        clock.now += 2
        controller.on_success(None)
    assert pacer.rate == 0.5


def test_a_rate_learned_earlier_is_the_start_and_is_not_ramped() -> None:
    clock, pacer, controller = _controller()
    controller.start_from(42.0)
    assert pacer.rate == 42.0
    _deliver(clock, controller, 3, 1.1)
    assert pacer.rate == pytest.approx(42.0 * 1.002**2, rel=0.01)


def test_a_large_first_burst_lets_the_pacer_make_up_for_late_wake_ups_and_a_small_one_does_not() -> None:
    for burst, expected in ((200, DEFAULT_TUNING.max_catch_up), (3, 1.0)):
        clock, pacer, controller = _controller()
        _deliver(clock, controller, burst, 0.00005)  # let through at once, then "wait 1 s"
        _refused(clock, controller, 1.0, precise=False)
        assert pacer.burst == expected  # a bucket of a few requests refuses two sends closer than its interval


def test_a_ramp_refused_falls_to_what_got_through_even_when_probes_are_refused_during_its_pause() -> None:
    # a sliding window of 200 a second: 200 at once, then a provisional ~200/s and a ramp past it, until the
    # window's 200 are used; the pause's probes are refused too, until the window slides
    clock, pacer, controller = _controller()
    _deliver(clock, controller, 200, 0.00005)
    _refused(clock, controller, 1.0, precise=False)
    delivered = controller.delivered
    while controller.delivered < delivered + 200:
        assert pacer.rate is not None
        _deliver(clock, controller, 1, 1.0 / pacer.rate)
    ramped = pacer.rate
    assert ramped is not None
    assert ramped > 400.0
    controller.on_throttled(1.0, sent_at=clock.now, precise=False)
    for wait in (0.1, 0.2, 0.4):  # probes, refused: the same pause
        clock.now += wait
        controller.on_throttled(1.0, sent_at=clock.now, precise=False)
    clock.now += 0.1
    controller.reopened()  # a probe went through
    assert pacer.rate is not None
    assert pacer.rate < 1.1 * 200  # not half the ramp's pace (> 200): the window would be overshot again


def test_a_share_moved_between_lanes_moves_the_pace_and_what_growth_aims_at_but_not_the_span() -> None:
    clock, pacer, controller = _controller()
    controller.start_from(100.0)  # measured: 100/s (a share of an app-wide limit)
    clock.now += 5.0
    sent_before = clock.now - 0.01
    controller.share_moved(-20.0)  # evened out towards slower lanes under the same limit
    assert pacer.rate == pytest.approx(80.0)
    assert controller.measured == pytest.approx(80.0)
    # a refusal of a request sent before the move is still a refusal of its own (a move is no change of
    # the lane's own: it must not hide the refusals that follow it)
    controller.on_throttled(0.5, sent_at=sent_before)
    assert controller.throttle_events == 1
    controller.share_moved(+50.0)  # during the pause: the pause's settlement decides
    assert pacer.rate == pytest.approx(80.0)


def test_a_share_moved_stays_within_the_ceiling_and_above_the_floor() -> None:
    _clock, pacer, controller = _controller(ceiling=90.0)
    controller.start_from(80.0)
    controller.share_moved(+50.0)
    assert pacer.rate == pytest.approx(90.0)
    controller.share_moved(-500.0)
    assert pacer.rate == pytest.approx(DEFAULT_TUNING.floor)
    assert controller.measured == pytest.approx(DEFAULT_TUNING.floor)
