"""The lane controller's constants (`worker.schedule.ratecontrol`), named so tests and the bench can sweep them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tuning:
    """The controller's constants, named so tests and the bench can sweep them."""

    floor: float = 0.05  # requests/s: never slower (a 5-per-10-s quota is 0.5/s)
    margin: float = 0.98  # pace this far under a measured quota
    ramp: float = 1.0  # growth per step below a provisional estimate
    probe: float = 0.002  # growth per step once measured, at least
    close_gap: float = 0.3  # ... or this share of the way back to the pace last refused
    accelerate_s: float = 2.0  # ... and twice as fast for every this many seconds without a refusal
    accelerate_requests: float = 50.0  # ... or this many requests at the current pace, if longer
    step_s: float = 1.0  # growth cadence
    step_requests: float = 5.0  # ... once measured: or once per this many requests at the pace, if longer
    ramp_requests: float = 20.0  # ... while ramping: once per this many requests at the pace
    max_ramp_step_s: float = 0.25  # ... or this often, at least (a bucket of one guesses a rate far too low)
    min_step_s: float = 0.2  # ... but never more often
    busy: float = 0.8  # ... and only while the lane sends at least this share of its pace
    cut: float = 0.5  # cut per refusal while a span is too short to measure
    gentle_cut: float = 0.99  # trim when a refusal came although we got all we paced
    edge: float = 0.985  # ... "all we paced": at least this share of it
    min_span_s: float = 1.0  # a span shorter than this is pooled with the next
    min_successes: int = 4  # ... or one with fewer successes
    catch_up_share: float = 0.02  # the pacer's burst: this share of what the first refusal let through at once
    max_catch_up: float = 4.0  # ... at most this many slots (enough to make up for late wake-ups)
    rounding_error: float = 0.125  # a span ending at a rounded Retry-After is trusted when long enough for this


DEFAULT_TUNING = Tuning()
