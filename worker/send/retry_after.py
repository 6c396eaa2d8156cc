"""Parse Graph's Retry-After: integer seconds, fractional seconds (`2.128`) or an HTTP-date."""

from __future__ import annotations

import math
import time
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait, or None when absent or unreadable (the caller falls back to backoff).

    A date in the past means "now" (0.0). Negative, NaN and infinite numbers are unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now)
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


def _seconds_until_http_date(text: str, now: float | None) -> float | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT; a date without a zone is not one of them
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)
