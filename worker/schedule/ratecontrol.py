"""Learn a lane's rate from what Graph does, whatever the shape of its quota.

Graph's quota may be a token bucket of any size, a fixed window ("N requests per W seconds"), a sliding
window, or several at once, and the client is never told which. What every shape has in common: while a
client asks for more than the quota, what gets through is the quota. So the controller measures the
*delivered* rate over spans during which the lane was refused at both ends, and paces just under it.

- **Slow start.** A lane with no rate yet is unpaced; its requests go in rounds of 2, 4, 8 ... each once
  the last completed with no refusal (`AdaptiveLimit`), so a small quota is met by a few requests, not by 32.
- **First refusal.** The rate becomes what was delivered from the lane's first send until the moment the
  server lets it go on (the 429's Retry-After): the burst it let through, spread over the time it asks
  us to wait. Rough, and marked so: a *provisional* estimate. The rate is set when the lane goes on
  (`settle_due`), before the next request is admitted. A pause of seconds (a window of "N per W"
  closing) makes it a measure, and the lane paces that window (`Pacer.pace_window`); a quota that let
  many through at once gives the pacer a small burst, to make up for its late wake-ups.
- **Saturated spans.** Each later refusal (of a request sent after the last change, so a burst of 429s
  from requests in flight together is one event) closes a span that began when the previous refusal let
  the lane go on. Its delivered rate is the quota, as long as the span is long enough to mean anything
  (`min_span_s`, `min_successes`); shorter spans are pooled with the next ones, and meanwhile the rate is
  cut multiplicatively, never below what the short spans delivered. A span that delivered all the lane
  sent (`edge`: a 429 at a window's edge, timing noise on a tiny bucket, or a pacer lagging its pace)
  only trims the rate. A span in which the lane sent well under its pace (`busy`: held back by its input
  or by other lanes) measures nothing: the lane goes on at what it sent. A span ending at a whole-second
  Retry-After (late by up to a second) is a lower bound until it is long (`rounding_error`).
- **Growth.** Only while the lane sends at least `busy` of its pace (a pace it does not use proves
  nothing). Below a provisional estimate the rate ramps up quickly (the estimate may be far too low),
  until a refusal comes while paced. Then it closes part of the gap to just under the pace refused, and
  beyond that probes slowly, faster the longer nothing is refused (the quota may have grown, or other
  lanes freed their share of an app-wide limit). `x-ms-throttle-limit-percentage` (Graph: past 80 % of
  the quota) slows the lane down a little each time it rises; a steady hint holds nothing: a bucket of a
  few requests reads "past 80 %" after every one of them, at any rate.
- A configured ceiling (`tenants.<t>.rate`) caps everything; an exact rate (`--rate`) is never learned.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from worker.schedule.pacer import Pacer
from worker.schedule.recent import RecentRate
from worker.schedule.tuning import DEFAULT_TUNING, Tuning

HINT_THRESHOLD = 0.8
ROUNDING_S = 1.0  # a whole-second Retry-After is rounded up by less than this


class LaneController:
    """Moves a pacer's rate from successes, refusals and Graph's throttle hint."""

    def __init__(
        self,
        pacer: Pacer,
        *,
        ceiling: float | None = None,
        tuning: Tuning = DEFAULT_TUNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pacer = pacer
        self.ceiling = ceiling
        self.tuning = tuning
        self._clock = clock
        self.delivered = 0  # resource units delivered (successes, times their cost) since the lane began
        self.sent = 0  # resource units sent (refused ones included)
        self.measured: float | None = None  # the quota, from a long enough saturated span
        self.throttle_events = 0
        self._first_send: float | None = None
        self._span_start: float | None = None  # when the last refusal let the lane go on
        self._span_delivered = 0
        self._span_sent = 0
        self._span_min_rate = 0.0  # the lowest pace during the span: it was saturated if we got less
        self._pending: tuple[float, float | None] | None = None  # a refusal's reopen moment, and the pace then
        self._ramping = True  # until refused while paced: the first estimate may be far too low
        self._refused_at_rate: float | None = None  # the pace of the last refusal: growth slows towards it
        self._refused_before: float | None = None  # ... and of the one before
        self._precise = True
        self._refused_moment = 0.0  # when the last refusal came: its pause is the span's idle end
        self._changed_at = clock()  # refusals of requests sent before this are the same event
        self._next_step = clock()
        self._step_at = clock()  # when growth was last considered, and the units sent by then
        self._step_sent = 0
        self._last_hint = 0.0
        self._recent = RecentRate()
        self._recent_at_refusal = 0.0  # successes in the second before the last refusal
        self._held_before = 0.0  # a refused ramp's step before: a pace that got through
        self._first_burst = 0  # successes before the first refusal: what the quota lets through at once
        self._ramp_refused = False  # the last refusal came while ramping: its pace was never shown to hold

    @property
    def delivering(self) -> float:
        """Resource units that got through per second, over the last second."""
        return self._recent.per_s(self._clock())

    def start_from(self, rate: float, window: tuple[int, float] | None = None) -> None:
        """Begin paced at a rate learned earlier (a previous run's): taken as measured; a window learned with it
        (a quota of "N per W") is paced as a window again, held until refused (`_first_estimate`)."""
        self.measured = rate
        self._ramping = False
        self._change(rate, self._clock())
        if window is not None and self._may_pace_window(rate):
            self.pacer.pace_window(*window)

    def on_send(self, units: int = 1) -> None:
        """A request of `units` resource units is about to leave: the first starts the clock of the first
        estimate."""
        self.sent += units
        if self._first_send is None:
            self._first_send = self._clock()

    def settle_due(self) -> None:
        """Before a request is admitted: once a refusal's pause has passed, set the rate it calls for.

        Before, not after: requests let through in the meantime would go at the old pace (or unpaced).
        """
        if self._pending is not None and self._clock() >= self._pending[0]:
            self._settle(self._pending[0])

    def on_success(self, throttle_fraction: float | None, units: int = 1) -> None:
        """A 2xx that cost `units` resource units: count them; at most once per `step_s`, grow, hold or slow
        down on the throttle hint. Rates are in units per second, like the pacer's slots."""
        self.delivered += units
        now = self._clock()
        self._recent.add(now)
        if now < self._next_step or self._pending is not None:
            return
        self._step(now)
        rate = self.pacer.rate
        hint = throttle_fraction or 0.0
        rising = hint >= HINT_THRESHOLD and hint > self._last_hint + 0.01
        self._last_hint = hint
        sent_rate = self._sent_rate(now)
        if rate is None or now - self._changed_at < self.tuning.min_step_s or self.pacer.window is not None:
            return  # unpaced until Graph first pushes back; no growth right after a change, nor of a window
        if rising:
            self._change(rate * 0.97, now)
        elif sent_rate < self.tuning.busy * rate:
            # the lane sends less than its pace (its input, its concurrency): a pace it does not use proves
            # nothing, and grown unchecked it would be handed to other lanes (`sharing`) as if it were room
            return
        elif self._ramping:
            # far below the quota, maybe: a bucket of a few requests reads "past 80 %" after every one of
            # them, at any rate, so the hint cannot hold a ramp (a refusal ends it)
            self._set(rate * (1.0 + self.tuning.ramp))
            self._step(now)
        else:  # a steady hint holds nothing: a bucket of one request reads 100 % after every request
            self._set(rate * (1.0 + self._growth(rate)))

    def _sent_rate(self, now: float) -> float:
        """What the lane sent per second since the last growth step was considered."""
        sent_rate = (self.sent - self._step_sent) / max(now - self._step_at, 1e-3)
        self._step_sent, self._step_at = self.sent, now
        return sent_rate

    def _step(self, now: float) -> None:
        """When growth may next be considered: a ramp doubles per `ramp_requests` at its pace (TCP's slow
        start doubles per round trip), a probe moves once per `step_s`."""
        rate = self.pacer.rate
        if self._ramping and rate:
            step = min(self.tuning.max_ramp_step_s, self.tuning.ramp_requests / rate)
            self._next_step = now + max(self.tuning.min_step_s, step)
        elif rate:  # a probe past the quota costs a refusal: at a slow pace, probe per request, not per second
            self._next_step = now + max(self.tuning.step_s, self.tuning.step_requests / rate)
        else:
            self._next_step = now + self.tuning.step_s

    def _growth(self, rate: float) -> float:
        """Ramp while no refusal came at a pace; then close part of the gap to the pace last refused."""
        if self._ramping or (self.measured is not None and rate < 0.5 * self.measured):
            return self.tuning.ramp
        aim = self._refused_at_rate * self.tuning.margin if self._refused_at_rate else rate
        gap = max(0.0, aim - rate) / rate
        # the longer nothing was refused, the faster the probe (the quota may have grown, or a share of an
        # app-wide limit may have been freed by other lanes): doubling every `accelerate_s`
        period = max(self.tuning.accelerate_s, self.tuning.accelerate_requests / rate)
        quiet = (self._clock() - self._changed_at) / period
        probe = self.tuning.probe * float(2.0 ** min(quiet, 16.0))
        return min(self.tuning.ramp, max(probe, self.tuning.close_gap * gap))

    def capacity_freed(self, extra: float) -> None:
        """A lane refused together with this one stopped: its `extra` requests/s of an app-wide limit are
        free. Taken at once (just under), and the pace aimed at grows with it (`worker.schedule.sharing`)."""
        rate = self.pacer.rate
        if rate is None or self._pending is not None:
            return
        if self._refused_at_rate is not None:
            self._refused_at_rate += extra
        if self.measured is not None:
            self.measured += extra
        self._change(rate + extra * self.tuning.margin, self._clock())

    def share_moved(self, delta: float) -> None:
        """Lanes under one app-wide limit are evened out (`worker.schedule.sharing`): `delta` requests/s of
        it moved to this lane (negative: away from it). The pace and the paces aimed at move by as much; the
        span, its refusals and growth go on as they were (the app's total is unchanged)."""
        rate = self.pacer.rate
        if rate is None or self._pending is not None or self.pacer.window is not None:
            return
        floor = self.tuning.floor
        if self._refused_at_rate is not None:
            self._refused_at_rate = max(floor, self._refused_at_rate + delta)
        if self.measured is not None:
            self.measured = max(floor, self.measured + delta)
        self._set(rate + delta)

    def reopened(self) -> None:
        """The lane went on before its pause's end (a probe went through)."""
        if self._pending is not None:
            self._settle(self._clock())

    def on_throttled(self, retry_after: float, sent_at: float, *, precise: bool = True) -> None:
        """A refusal of a request sent at `sent_at`; the lane may go on after `retry_after` seconds.

        `precise`: the Retry-After was fractional. A whole number of seconds is often rounded up, so a span
        ending at it holds idle time: what it measures is only a lower bound of the quota.

        The new rate is decided when the lane goes on again (`_settle`): only then is the span known.
        """
        if sent_at < self._changed_at:
            return  # sent before the last refusal or change: the same overload
        now = self._clock()
        self.throttle_events += 1
        self._changed_at = now
        # a ramp refused: the step before held (`ramp_requests` at its pace), so the quota is at least that;
        # unless the quota lets more than a step through at once (a window, a large bucket): then any pace holds
        # for a step
        rate = self.pacer.rate
        if self._pending is None:  # a probe refused during the pause does not change what the pause follows
            proves = self.tuning.ramp_requests > self._first_burst
            self._ramp_refused = self._ramping and rate is not None
            self._held_before = rate / (1.0 + self.tuning.ramp) if self._ramp_refused and rate and proves else 0.0
        self._refused_before = self._refused_at_rate
        if rate is not None:
            self._ramping = False  # refused while paced: the quota is near, probe gently from now on
            self._refused_at_rate = rate
        self._pending = (now + retry_after, rate)
        self._refused_moment = now
        self._recent_at_refusal = self._recent.per_s(now)
        self._precise = precise

    def _settle(self, reopen: float) -> None:
        """The lane goes on at `reopen`: set the rate from the span the last refusal closed."""
        assert self._pending is not None
        rate = self._pending[1]
        self._pending = None
        now = self._clock()
        if rate is None or self._span_start is None:  # the first refusal: no span before it
            self._first_estimate(reopen, now)
            return
        span = reopen - self._span_start
        delivered = self.delivered - self._span_delivered
        delivered_rate = delivered / max(span, 1e-3)
        offered = self._offered_rate(span, reopen)
        if offered < self.tuning.busy * self._span_min_rate and delivered >= self.tuning.min_successes:
            # refused while sending well under its pace (held back by its input, its concurrency, or by other
            # lanes under one app-wide limit): what it sent was refused, not the pace, and the quota is not
            # measured; the pace the lane regrows towards stays the one refused before (a ramp refused: see
            # `_after_rise`)
            self._change(max(delivered_rate, offered * self.tuning.margin), now)
            self._new_span(reopen)
        elif span < self.tuning.min_span_s or delivered < self.tuning.min_successes:
            # too short to mean anything: keep pooling; meanwhile go by the second before the refusal
            self._after_rise(rate, delivered_rate, span, now)
        elif delivered_rate >= min(rate, offered) * self.tuning.edge:
            # we got what we sent all along: refused at a window's edge, or by timing noise on a tiny bucket;
            # a trim only (cutting to what got through at every such refusal would drift down for ever)
            self._edge(rate, now)
        elif self._ramp_refused or delivered_rate >= self._span_min_rate * 0.9:
            # under the quota for part of the span (ramping up): what we got over it is too low, but the
            # second before the refusal, paced past the quota, got the quota through (a ramp's pace, never
            # shown to hold, is no measure: cut from it, a quota of a large burst would be overshot again)
            self._after_rise(rate, delivered_rate, span, now)
            self._new_span(reopen)
        else:
            # a whole-second Retry-After is late by up to a second: trust the span once that is a small part
            trusted = self._precise or span >= self._long_span_s
            self._measured_span(delivered_rate, rate, reopen, now, trusted=trusted)

    def _offered_rate(self, span: float, reopen: float) -> float:
        """What the lane sent per second of the span before its last pause: under its pace when the pacer
        or the event loop lags (0.93-0.97 of it, measured on a loaded machine), and then a span that
        delivered less than the pace was not saturated."""
        active = span - max(0.0, reopen - self._refused_moment)
        return (self.sent - self._span_sent) / max(active, 1e-3)

    @property
    def _long_span_s(self) -> float:
        """A span ending at a whole-second Retry-After this long measures the quota within `rounding_error`."""
        return ROUNDING_S / self.tuning.rounding_error

    def _after_rise(self, rate: float, delivered_rate: float, span: float, now: float) -> None:
        """A refusal ended a span where the lane was under the quota for a while, or a span too short to
        measure. The quota is at least what the span delivered, and what a refused ramp's step before
        got through; and, if the span covers the second before the refusal, near what that second got."""
        if span >= RecentRate.WINDOW_S:
            recent = self._recent_at_refusal
            if recent >= rate * self.tuning.edge:  # that second got all we paced: an edge, trim
                self._edge(rate, now)
                return
            guess = recent * self.tuning.margin
        else:  # nothing measured: cut
            guess = rate * self.tuning.cut
        self._change(max(delivered_rate, guess, self._held_before), now)

    def _edge(self, rate: float, now: float) -> None:
        """A refusal though we got all we sent (a window's edge, timing noise on a tiny bucket): a trim; the
        span goes on (a refusal soon after is judged over both, not as a span too short to mean anything),
        and growth aims halfway back to the pace refused before, if higher: noise says little of the quota
        (a tiny bucket's, every few seconds, would otherwise hold the aim to wherever the lane is)."""
        self._refused_at_rate = max(rate, (rate + (self._refused_before or 0.0)) / 2)
        self._change(rate * self.tuning.gentle_cut, now)

    def _first_estimate(self, reopen: float, now: float) -> None:
        """What got through before the first refusal, spread until the lane may go on.

        Usually a guess (a burst over a short pause: the ramp then looks for the rate). But a pause long
        enough to dwarf a whole-second rounding (a window of "5 per 10 s" closing) makes the span a
        measure: the lane paces just under it at once, instead of ramping past it and being refused again.
        """
        start = self._first_send if self._first_send is not None else reopen
        span = max(reopen - start, 1e-3)
        if not self.delivered:
            self._new_span(reopen)
            return
        first_rate = self.delivered / span
        self._first_burst = self.delivered
        # a quota that let many through at once lets the pacer make up for its late wake-ups too; a bucket
        # of one or a few requests refuses any two sends closer than its interval
        catch_up = min(self.tuning.max_catch_up, self.tuning.catch_up_share * self.delivered)
        self.pacer.burst = max(self.pacer.burst, catch_up)
        if span >= self._long_span_s and self.delivered >= self.tuning.min_successes:
            # a window of "N per W" closed: N at each window's start, not spread evenly (`Pacer.pace_window`);
            # held there, not probed past (`on_success`), until a refusal says the window was a guess
            self._ramping = False
            self.measured = self._refused_at_rate = first_rate
            self._change(first_rate * self.tuning.margin, now)
            if self._may_pace_window(first_rate * self.tuning.margin):
                self.pacer.pace_window(self.delivered, span / self.tuning.margin)
        else:  # a guess: the ramp from it doubles at its own cadence, not after a probe's whole step
            self._change(first_rate, now)
            self._step(now)
        self._new_span(reopen)

    def _may_pace_window(self, rate: float) -> bool:
        """A window averaging `rate` is paced only within the ceiling: a lower ceiling is paced evenly."""
        return self.ceiling is None or self.ceiling >= rate

    def _measured_span(self, delivered_rate: float, rate: float, reopen: float, now: float, *, trusted: bool) -> None:
        if trusted:  # growth aims at the quota, not past it
            self.measured = self._refused_at_rate = delivered_rate
            self._change(delivered_rate * self.tuning.margin, now)
        else:  # a lower bound of the quota only: cut, but not below it
            self._change(max(delivered_rate * self.tuning.margin, rate * self.tuning.cut), now)
        self._new_span(reopen)

    def _new_span(self, reopen: float) -> None:
        self._span_start = reopen
        self._span_delivered = self.delivered
        self._span_sent = self.sent
        self._span_min_rate = self.pacer.rate or 0.0

    def _change(self, rate: float, now: float) -> None:
        self._changed_at = now
        self._next_step = now + self.tuning.step_s
        self._set(rate)

    def _set(self, rate: float) -> None:
        if self.ceiling is not None:
            rate = min(rate, self.ceiling)
        self.pacer.rate = rate = max(self.tuning.floor, rate)
        self._span_min_rate = min(self._span_min_rate, rate) if self._span_min_rate else rate
