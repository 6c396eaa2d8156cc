"""The resources the emulator accepts PATCHes for, and their body rules: its own, not the worker's.

Written from the seed (`Update provisioning`: the property table of provisioningObjectSummary) and the Graph
resource pages it links for the nested types. The worker checks bodies with its pydantic models
(`worker.models`); the emulator must not share that code, or no emulator-backed test could catch a
validation bug. tests/emulator/test_resources.py runs both over the same generated bodies and requires
them to agree on what is refused and where.

Graph's rules as applied here: a body is a JSON object; only declared properties, under their exact
camelCase names (an open type also takes any other); every property may be null (PATCH clears it);
`@odata.type`, when present, names the property's own type, with or without '#'; String is a JSON
string, Int32 a JSON integer in 32-bit range, DateTimeOffset an ISO-8601 string with `Z` or an offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ODATA_TYPE = "@odata.type"
_INT32 = range(-(2**31), 2**31)
_DATETIME_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?(?:Z|[+-]\d{2}:\d{2})", re.ASCII)
# one id segment of a path: unreserved characters, never "." or ".."
_SEGMENT = r"(?!\.\.?(?:/|\Z))[A-Za-z0-9._~-]+"
# a user is also addressed by its userPrincipalName (name@domain)
_USER_SEGMENT = r"(?!\.\.?(?:/|\Z))[A-Za-z0-9._~@'-]+"
#: Graph's throttling scopes: the identity-and-access-reports group, and directory writes
REPORTS = "reports"
DIRECTORY = "directory"
#: The directory's PATCH-able collections and the type of their members
DIRECTORY_TYPES = {
    "users": "user",
    "groups": "group",
    "devices": "device",
    "applications": "application",
    "servicePrincipals": "servicePrincipal",
}


@dataclass(frozen=True, slots=True)
class BodyError:
    """One refused property: where (dotted path in the body), why, and the code Graph's details carry."""

    loc: str
    message: str
    code: str


@dataclass(frozen=True, slots=True)
class ComplexType:
    """A Graph entity or complex type: its name and properties (JSON name -> type name, `[T]` a collection)."""

    name: str
    properties: dict[str, str]
    open: bool = False  # an open type takes dynamic properties of any value


_TYPES = {
    t.name: t
    for t in (
        ComplexType(
            "provisioningObjectSummary",
            {
                "id": "String",
                "activityDateTime": "DateTimeOffset",
                "tenantId": "String",
                "jobId": "String",
                "cycleId": "String",
                "changeId": "String",
                "action": "String",
                "durationInMilliseconds": "Int32",
                "servicePrincipal": "provisioningServicePrincipal",
                "initiatedBy": "initiator",
                "sourceSystem": "provisioningSystemDetails",
                "targetSystem": "provisioningSystemDetails",
                "sourceIdentity": "provisionedIdentity",
                "targetIdentity": "provisionedIdentity",
                "statusInfo": "statusBase",
                "provisioningSteps": "[provisioningStep]",
                "modifiedProperties": "[modifiedProperty]",
            },
        ),
        ComplexType("provisioningServicePrincipal", {"id": "String", "displayName": "String"}),
        ComplexType("initiator", {"id": "String", "displayName": "String", "initiatorType": "String"}),
        ComplexType("provisioningSystemDetails", {"id": "String", "displayName": "String", "details": "detailsInfo"}),
        ComplexType(
            "provisionedIdentity",
            {"id": "String", "displayName": "String", "identityType": "String", "details": "detailsInfo"},
        ),
        ComplexType("statusBase", {"status": "String"}),
        ComplexType(
            "provisioningStep",
            {
                "name": "String",
                "description": "String",
                "provisioningStepType": "String",
                "status": "String",
                "details": "detailsInfo",
            },
        ),
        ComplexType("modifiedProperty", {"displayName": "String", "oldValue": "String", "newValue": "String"}),
        ComplexType("detailsInfo", {}, open=True),
        # directory objects: any JSON object is taken (the worker's generated models check the properties);
        # an @odata.type, when present, must still name the resource's own type
        *(ComplexType(name, {}, open=True) for name in DIRECTORY_TYPES.values()),
    )
}


@dataclass(frozen=True, slots=True)
class Resource:
    """A PATCH-able path (matched in full), the type of its body, and the throttling scope it counts in.

    `no_content`: a PATCH is answered 204 with no body (Graph's directory objects), not 200 with the object.
    """

    pattern: re.Pattern[str]
    body_type: str
    is_item: bool = field(default=False)
    scope: str = REPORTS
    no_content: bool = False


def _directory(collection: str, body_type: str) -> Resource:
    segment = _USER_SEGMENT if collection == "users" else _SEGMENT
    return Resource(re.compile(rf"/{collection}/{segment}"), body_type, is_item=True, scope=DIRECTORY, no_content=True)


RESOURCES = (
    Resource(re.compile(r"/auditLogs/provisioning"), "provisioningObjectSummary"),
    Resource(re.compile(rf"/auditLogs/provisioning/{_SEGMENT}"), "provisioningObjectSummary", is_item=True),
    *(_directory(collection, body_type) for collection, body_type in DIRECTORY_TYPES.items()),
)


def find_resource(path: str) -> Resource | None:
    """The resource at `path`, or None (Graph's 404)."""
    return next((resource for resource in RESOURCES if resource.pattern.fullmatch(path)), None)


def body_errors(resource: Resource, body: Any) -> list[BodyError]:
    """Every refused property of a PATCH body for `resource` (empty when Graph would accept it)."""
    return list(_check(resource.body_type, body, ()))


def _check(type_name: str, value: Any, loc: tuple[str | int, ...]) -> Iterator[BodyError]:
    if value is None and loc:
        return  # every property is nullable; the body itself is not
    if type_name.startswith("["):
        yield from _check_collection(type_name[1:-1], value, loc)
    elif type_name in _TYPES:
        yield from _check_object(_TYPES[type_name], value, loc)
    else:
        problem = _scalar_problem(type_name, value)
        if problem is not None:
            yield _error(loc, *problem)


def _check_collection(item_type: str, value: Any, loc: tuple[str | int, ...]) -> Iterator[BodyError]:
    if not isinstance(value, list):
        yield _error(loc, "Input should be a JSON array", "list_type")
        return
    for index, item in enumerate(value):
        if item is None:  # a collection's members are not nullable
            yield _error((*loc, index), f"Input should be a JSON object (microsoft.graph.{item_type})", "model_type")
        else:
            yield from _check(item_type, item, (*loc, index))


def _check_object(kind: ComplexType, value: Any, loc: tuple[str | int, ...]) -> Iterator[BodyError]:
    if not isinstance(value, dict):
        yield _error(loc, f"Input should be a JSON object (microsoft.graph.{kind.name})", "model_type")
        return
    for key, item in value.items():
        where = (*loc, key)
        if key == ODATA_TYPE:
            if item not in (f"microsoft.graph.{kind.name}", f"#microsoft.graph.{kind.name}"):
                yield _error(where, f"@odata.type should be microsoft.graph.{kind.name}", "literal_error")
        elif key in kind.properties:
            yield from _check(kind.properties[key], item, where)
        elif not kind.open:
            yield _error(where, f"unknown property '{key}' for microsoft.graph.{kind.name}", "extra_forbidden")


def _scalar_problem(type_name: str, value: Any) -> tuple[str, str] | None:
    """(message, code) when `value` is not a valid `type_name` (String, Int32 or DateTimeOffset)."""
    if type_name == "Int32":
        if type(value) is not int:  # bool is an int in Python, not in JSON
            return "Input should be a JSON integer", "int_type"
        return None if value in _INT32 else ("Input should be within the 32-bit integer range", "int_range")
    if not isinstance(value, str):
        return "Input should be a JSON string", "string_type"
    if type_name == "DateTimeOffset":
        return _datetime_problem(value)
    return None


def _datetime_problem(value: str) -> tuple[str, str] | None:
    if not _DATETIME_OFFSET.fullmatch(value):
        return "Input should be an ISO-8601 date-time with an offset, e.g. 2017-01-01T00:03:07Z", "datetime_format"
    try:
        datetime.fromisoformat(value)  # month 13, hour 25, offset 25:00 ...
    except ValueError:
        return "Input is not a valid date-time", "datetime_range"
    return None


def _error(loc: tuple[str | int, ...], message: str, code: str) -> BodyError:
    return BodyError(".".join(str(part) for part in loc), message, code)
