"""The base of every Graph resource model, and the strict scalar types of Graph's EDM.

Models are strict, frozen and closed (`extra="forbid"`): a PATCH body may contain only properties
the resource declares, under their exact JSON (camelCase) names. Python attributes are snake_case with
the JSON name as alias, and `populate_by_name=False`, so a snake_case key in the input is an unknown
property. Every property is optional and nullable: in a PATCH, an absent property is left alone
and `null` clears it. The models only *check* a body; the worker sends the JSON the line gave.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic_core import PydanticCustomError

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

Int32 = Annotated[int, Field(strict=True, ge=INT32_MIN, le=INT32_MAX)]
"""Edm.Int32: a JSON integer (no bool, float or string) within 32-bit range."""

# Edm.DateTimeOffset as OData writes it: date 'T' hh:mm[:ss[.fraction]] and a mandatory 'Z' or ±hh:mm.
# Graph sends 7 fractional digits (e.g. ...07.3452024+03:00); OData allows up to 12.
_DATETIME_OFFSET_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?(?:Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_DATETIME_HINT = "an ISO-8601 date-time with an offset, e.g. 2017-01-01T00:03:07Z"


def _check_datetime_offset(value: Any) -> str:
    """Accept an Edm.DateTimeOffset string (kept as given); reject non-strings, naive or invalid times."""
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", f"Input should be a string: {_DATETIME_HINT}")
    if not _DATETIME_OFFSET_RE.fullmatch(value):
        raise PydanticCustomError("datetime_format", f"Input should be {_DATETIME_HINT}")
    try:
        datetime.fromisoformat(value)  # ranges: month 13, day 32, hour 25, offset 25:00 ...
    except ValueError:
        raise PydanticCustomError("datetime_range", "Input is not a valid date-time") from None
    return value


DateTimeOffset = Annotated[str, PlainValidator(_check_datetime_offset)]
"""Edm.DateTimeOffset: a JSON string in ISO-8601 with an explicit offset or Z (a naive time is rejected).

pydantic's own `datetime` in strict mode accepts only `datetime` objects from Python input, and the value
is never used as a datetime here (the original JSON is sent), so the string is checked and kept as is.
"""


#: The default of `@odata.type`: None when left out, but not a type (null is refused); typed Any for mypy.
ABSENT: Any = None


class GraphModel(BaseModel):
    """A Graph entity or complex type: strict, closed, every property optional and nullable.

    A subclass names its Graph type twice, checked equal when the class is created: `odata_type_name`
    (for messages and the registry) and the `@odata.type` field's Literal of both spellings, which lets
    pydantic-core check `@odata.type` without a Python call per object (about a quarter of validation time):

        odata_type_name: ClassVar[str] = "microsoft.graph.initiator"
        odata_type: Literal["#microsoft.graph.initiator", "microsoft.graph.initiator"] = Field(
            default=ABSENT, alias="@odata.type"
        )

    `@odata.type` may be left out (the default is not validated) but not null: a null type names nothing.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        hide_input_in_errors=True,
        populate_by_name=False,
        frozen=True,
    )

    odata_type_name: ClassVar[str] = ""
    """The Graph type this model is, e.g. "microsoft.graph.initiator" (without '#')."""

    read_only: ClassVar[frozenset[str]] = frozenset()
    """Properties Graph declares but a PATCH may not set (not fields: the message for one says why)."""

    navigation: ClassVar[frozenset[str]] = frozenset()
    """Navigation properties (relationships, set through their own endpoints): not fields either."""

    directory_extensions: ClassVar[bool] = False
    """True for a directory object, which also takes `extension_{appId}_{name}` properties (`extensions`)."""

    odata_type: str | None = Field(default=None, alias="@odata.type")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Fail at import when a model's `@odata.type` Literal does not match its `odata_type_name`."""
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.odata_type_name
        field = cls.model_fields["odata_type"]
        literals = set(get_args(field.annotation))
        if not name or literals != {name, f"#{name}"} or field.alias != "@odata.type":
            raise TypeError(
                f"{cls.__name__}: declare odata_type_name and "
                f'odata_type: Literal["#{name}", "{name}"] = Field(default=ABSENT, alias="@odata.type")'
            )
