"""Retry-After header values in every shape a client must survive (RFC 9110 allows seconds or an HTTP-date;
Graph also sends fractional seconds such as "2.128")."""

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


_RENDERERS: dict[str, Callable[[float], str]] = {
    "seconds": _seconds,
    "fractional": _fractional,
    "http-date": _http_date,
    "past-date": _past_date,
    "garbage": _garbage,
}


class RetryAfterRenderer:
    """Formats a wait as a Retry-After value; "rotate" cycles through every other format in turn."""

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """Start the "rotate" cycle again from its first format."""
        self._rotation = itertools.cycle(fmt for fmt in RETRY_AFTER_FORMATS if fmt != "rotate")

    def render(self, fmt: RetryAfterFormat, wait: float) -> str | None:
        """The header value for `wait` seconds, or None when no header should be sent."""
        if fmt == "rotate":
            fmt = next(self._rotation)
        renderer = _RENDERERS.get(fmt)
        return None if renderer is None else renderer(wait)
