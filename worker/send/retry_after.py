"""Parse Graph's Retry-After: integer seconds, fractional seconds (`2.128`) or an HTTP-date.

The value comes from a server (or a `$batch` item's JSON), so it is untrusted: any type, any size. Whatever
it is, the answer is a finite number of seconds >= 0 or None ("unreadable: fall back to backoff"). How long
is too long to wait is the retry policy's decision (`retry.max_retry_after_s`), not this parser's.
"""

from __future__ import annotations

import itertools
import math
import time
from email.utils import parsedate_to_datetime

#: Longer values are not a Retry-After anyone meant (an HTTP-date is 29 characters).
MAX_TEXT = 128


def parse_retry_after(value: object, *, now: float | None = None) -> float | None:
    """Seconds to wait, or None when absent or unreadable (the caller falls back to backoff).

    A date in the past means "now" (0.0). Negative, NaN and infinite numbers are unreadable. A JSON number
    is read as seconds; a bool, list or object is unreadable. Two values joined by a proxy (`30, 120`):
    the longer wait wins.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if not isinstance(value, str):
        return _finite_seconds(float(value)) if abs(value) < 1e300 else None
    text = value.strip()
    if not text or len(text) > MAX_TEXT:
        return None
    single = _parse_one(text, now)
    if single is not None or "," not in text:
        return single
    return _parse_joined(text.split(","), now)


def _parse_one(text: str, now: float | None) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now)
    return _finite_seconds(seconds)


def _parse_joined(parts: list[str], now: float | None) -> float | None:
    """The longest readable wait among comma-joined values (an HTTP-date has a comma of its own)."""
    candidates = [part.strip() for part in parts]
    candidates += [f"{a.strip()}, {b.strip()}" for a, b in itertools.pairwise(parts)]
    waits = [wait for text in candidates if text and (wait := _parse_one(text, now)) is not None]
    return max(waits, default=None)


def _finite_seconds(seconds: float) -> float | None:
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


def _seconds_until_http_date(text: str, now: float | None) -> float | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT; a date without a zone is not one of them
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)
