"""Retry-After header values in every shape a client must survive (RFC 9110 allows seconds or an HTTP-date;
Graph also sends fractional seconds such as "2.128"; a proxy that adds its own value to Graph's leaves two
joined by a comma, such as "30,120")."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from email.utils import formatdate

from worker.emulator.config import RETRY_AFTER_FORMATS, RetryAfterFormat

# How far in the past the "past-date" shape lies: clearly stale, as from a server with a skewed clock.
_PAST_OFFSET_S = 3600.0
GARBAGE_RETRY_AFTER = "soon, maybe"
# The "combined" shape's second value (a proxy's) is this many times the first (the emulator's own).
COMBINED_FACTOR = 4


def _seconds(wait: float) -> str:
    # rounded up so a client that obeys the header is never early
    return str(math.ceil(wait))


def _fractional(wait: float) -> str:
    return f"{math.ceil(wait * 1000) / 1000:.3f}"


def _http_date(wait: float) -> str:
    # HTTP-dates have one-second resolution: round up for the same reason as `_seconds`
    return formatdate(math.ceil(time.time() + wait), usegmt=True)


def _past_date(_wait: float) -> str:
    return formatdate(time.time() - _PAST_OFFSET_S, usegmt=True)


def _garbage(_wait: float) -> str:
    return GARBAGE_RETRY_AFTER


def _combined(wait: float) -> str:
    # "own,proxy's": the emulator's integer seconds, then a larger one; both are never early, so a client
    # that takes the larger (the safe reading of two values) is never early either, only slower
    seconds = math.ceil(wait)
    return f"{seconds},{max(seconds * COMBINED_FACTOR, seconds + 1)}"


_RENDERERS: dict[str, Callable[[float], str]] = {
    "seconds": _seconds,
    "fractional": _fractional,
    "http-date": _http_date,
    "past-date": _past_date,
    "garbage": _garbage,
    "combined": _combined,
}


class RetryAfterRenderer:
    """Formats a wait as a Retry-After value; "rotate" cycles through the formats listed before "combined"
    (which came later: rotating through it too would change what existing rotate runs see)."""

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """Start the "rotate" cycle again from its first format."""
        self._rotation = itertools.cycle(RETRY_AFTER_FORMATS[: RETRY_AFTER_FORMATS.index("combined")])

    def render(self, fmt: RetryAfterFormat, wait: float) -> str | None:
        """The header value for `wait` seconds, or None when no header should be sent."""
        if fmt == "rotate":
            fmt = next(self._rotation)
        renderer = _RENDERERS.get(fmt)
        return None if renderer is None else renderer(wait)
