"""The EDM scalars the generated models need beyond base.py's: GUID, date, time, duration, binary, numbers.

Each is checked and kept as the JSON gave it (the worker sends the line's JSON, never a re-serialised value),
with a one-line message that says what was expected and never quotes the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from pydantic import Field, PlainValidator
from pydantic_core import PydanticCustomError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Int64 = Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX)]
"""Edm.Int64 (and Edm.Int32, which the SDK does not tell apart): a JSON integer, no bool, float or string."""

Double = float
"""Edm.Double: a JSON number (an integer too); a bool or a string is refused (models are strict)."""

_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,12})?)?", re.ASCII)
# xs:dayTimeDuration as OData writes Edm.Duration: at least one component, T before the time ones
_DURATION = re.compile(r"-?P(?=\d|T\d)(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?", re.ASCII)
_BASE64 = re.compile(
    r"(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}==|[A-Za-z0-9+/_-]{3}=|[A-Za-z0-9+/_-]{2,3})?", re.ASCII
)


def _string_checker(kind: str, pattern: re.Pattern[str], hint: str) -> Callable[[Any], str]:
    """A validator accepting strings that match `pattern` in full, kept as given."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise PydanticCustomError(f"{kind}_type", f"Input should be a string: {hint}")
        if not pattern.fullmatch(value):
            raise PydanticCustomError(f"{kind}_format", f"Input should be {hint}")
        return value

    check.__doc__ = f"Accept {hint}; reject non-strings and other strings."
    return check


def flags_of(*members: str) -> PlainValidator:
    """The check of an Edm flags enum: one or more of `members` joined by commas, e.g. "rsaSha1,unknownFutureValue"."""
    allowed = frozenset(members)
    hint = f"one or more of {', '.join(repr(m) for m in members)}, joined by commas"

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise PydanticCustomError("flags_type", f"Input should be a string: {hint}")
        if not all(part.strip() in allowed for part in value.split(",")):
            raise PydanticCustomError("flags_error", f"Input should be {hint}")
        return value

    return PlainValidator(check)


def _check_date(value: Any) -> str:
    """Accept an Edm.Date (YYYY-MM-DD) that exists on the calendar."""
    checked = _date_format(value)
    try:
        date.fromisoformat(checked)
    except ValueError:
        raise PydanticCustomError("date_range", "Input is not a valid date") from None
    return checked


_date_format = _string_checker("date", _DATE, "a date as YYYY-MM-DD, e.g. 2026-12-02")

Guid = Annotated[
    str, PlainValidator(_string_checker("guid", _GUID, "a GUID, e.g. 8a6f4f0e-1b2c-4d3e-9f00-112233445566"))
]
"""Edm.Guid: 32 hex digits in the 8-4-4-4-12 form."""

Date = Annotated[str, PlainValidator(_check_date)]
"""Edm.Date: YYYY-MM-DD."""

TimeOfDay = Annotated[
    str, PlainValidator(_string_checker("time", _TIME, "a time of day as hh:mm[:ss[.fraction]], e.g. 08:30:00"))
]
"""Edm.TimeOfDay: hh:mm[:ss[.fraction]], 24-hour."""

Duration = Annotated[
    str, PlainValidator(_string_checker("duration", _DURATION, "an ISO-8601 duration, e.g. P1D or PT1H30M"))
]
"""Edm.Duration: an ISO-8601 day-time duration such as P1DT2H or PT0.5S."""

Binary = Annotated[str, PlainValidator(_string_checker("binary", _BASE64, "base64 (or base64url) text"))]
"""Edm.Binary: base64 text, padded or not."""
