"""Parse a Retry-After value back into its shape, the way a careful client would."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

Shape = tuple[str, int | float | datetime | None]


def shape_of(value: str | None) -> Shape:
    """One of: absent, seconds (int), fractional (float), http-date (datetime), garbage."""
    if value is None:
        return "absent", None
    if re.fullmatch(r"\d+", value):
        return "seconds", int(value)
    if re.fullmatch(r"\d+\.\d+", value):
        return "fractional", float(value)
    try:
        return "http-date", parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return "garbage", None
