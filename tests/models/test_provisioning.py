"""The provisioning models, the strict scalar types and the route registry."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pytest
from pydantic import Field, ValidationError

from worker.models import DEFAULT_PATH, ROUTES, GraphModel, match_route
from worker.models.provisioning import (
    DetailsInfo,
    Initiator,
    ModifiedProperty,
    ProvisionedIdentity,
    ProvisioningObjectSummary,
    ProvisioningServicePrincipal,
    ProvisioningStep,
    ProvisioningSystemDetails,
    StatusBase,
)

ALL_MODELS: list[type[GraphModel]] = [
    DetailsInfo,
    Initiator,
    ModifiedProperty,
    ProvisionedIdentity,
    ProvisioningObjectSummary,
    ProvisioningServicePrincipal,
    ProvisioningStep,
    ProvisioningSystemDetails,
    StatusBase,
]

# The request example of the seed page (shared/seed-update-provisioning.md), verbatim.
SEED_REQUEST: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.provisioningObjectSummary",
    "activityDateTime": "2017-01-01T00:03:07.3452024+03:00",
    "tenantId": "Tenant Id value",
    "jobId": "Job Id value",
    "cycleId": "Cycle Id value",
    "changeId": "Change Id value",
    "action": "Action value",
    "durationInMilliseconds": 6,
    "servicePrincipal": {
        "@odata.type": "microsoft.graph.provisioningServicePrincipal",
        "id": "Id value",
        "displayName": "Display Name value",
    },
    "initiatedBy": {"@odata.type": "microsoft.graph.initiator", "initiatorType": "String"},
    "sourceSystem": {
        "@odata.type": "microsoft.graph.provisioningSystemDetails",
        "details": {"@odata.type": "microsoft.graph.detailsInfo"},
    },
    "targetSystem": {"@odata.type": "microsoft.graph.provisioningSystemDetails"},
    "sourceIdentity": {
        "@odata.type": "microsoft.graph.provisionedIdentity",
        "identityType": "Identity Type value",
    },
    "targetIdentity": {"@odata.type": "microsoft.graph.provisionedIdentity"},
    "statusInfo": {"@odata.type": "microsoft.graph.statusBase", "status": "String"},
    "provisioningSteps": [
        {
            "@odata.type": "microsoft.graph.provisioningStep",
            "name": "Name value",
            "description": "Description value",
            "provisioningStepType": "String",
        }
    ],
    "modifiedProperties": [
        {
            "@odata.type": "microsoft.graph.modifiedProperty",
            "oldValue": "Old Value value",
            "newValue": "New Value value",
        }
    ],
}


def errors_of(model: type[GraphModel], data: object) -> list[tuple[tuple[str | int, ...], str]]:
    """(loc, type) of every error, or [] when valid."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [(tuple(err["loc"]), err["type"]) for err in exc.errors()]
    return []


def test_seed_request_example_validates() -> None:
    summary = ProvisioningObjectSummary.model_validate(SEED_REQUEST)
    assert summary.duration_in_milliseconds == 6
    assert summary.activity_date_time == "2017-01-01T00:03:07.3452024+03:00"
    assert summary.service_principal is not None
    assert summary.service_principal.display_name == "Display Name value"
    assert summary.model_dump(by_alias=True, exclude_unset=True) == SEED_REQUEST


def test_seed_properties_exactly() -> None:
    assert {f.alias for f in ProvisioningObjectSummary.model_fields.values()} == {
        "@odata.type",
        "id",
        "activityDateTime",
        "tenantId",
        "jobId",
        "cycleId",
        "changeId",
        "action",
        "durationInMilliseconds",
        "servicePrincipal",
        "initiatedBy",
        "sourceSystem",
        "targetSystem",
        "sourceIdentity",
        "targetIdentity",
        "statusInfo",
        "provisioningSteps",
        "modifiedProperties",
    }


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_odata_type_with_or_without_hash(model: type[GraphModel]) -> None:
    name = model.odata_type_name
    assert name.startswith("microsoft.graph.")
    assert errors_of(model, {"@odata.type": name}) == []
    assert errors_of(model, {"@odata.type": f"#{name}"}) == []
    assert errors_of(model, {}) == []
    for wrong in (f"##{name}", name.upper(), "#microsoft.graph.entity", "", 1, None):  # may be absent, not null
        assert errors_of(model, {"@odata.type": wrong}) == [(("@odata.type",), "literal_error")]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_every_property_nullable_and_snake_case_names_unknown(model: type[GraphModel]) -> None:
    nulls = {field.alias: None for field in model.model_fields.values() if field.alias != "@odata.type"}
    assert errors_of(model, nulls) == []
    snake = [name for name, field in model.model_fields.items() if name != field.alias]
    for name in snake:
        if name == "odata_type" or model is DetailsInfo:
            continue
        assert errors_of(model, {name: None}) == [((name,), "extra_forbidden")]


def test_models_are_frozen() -> None:
    step = ProvisioningStep.model_validate({"name": "a"})
    with pytest.raises(ValidationError):
        step.name = "b"  # type: ignore[misc]


def test_statusbase_only_status_and_its_own_type() -> None:
    assert errors_of(StatusBase, {"status": "success"}) == []
    assert errors_of(StatusBase, {"@odata.type": "#microsoft.graph.statusDetails"}) == [
        (("@odata.type",), "literal_error")
    ]
    assert errors_of(StatusBase, {"errorCode": "x"}) == [(("errorCode",), "extra_forbidden")]


def test_details_info_is_open() -> None:
    data = {"@odata.type": "microsoft.graph.detailsInfo", "anything": {"nested": [1, None, "x"]}, "n": 1}
    assert errors_of(DetailsInfo, data) == []
    assert errors_of(DetailsInfo, {"@odata.type": "microsoft.graph.initiator", "a": 1}) == [
        (("@odata.type",), "literal_error")
    ]
    assert errors_of(ProvisioningStep, {"details": {"free": True}}) == []


@pytest.mark.parametrize("value", [0, 6, -(2**31), 2**31 - 1, None])
def test_int32_accepts(value: int | None) -> None:
    assert errors_of(ProvisioningObjectSummary, {"durationInMilliseconds": value}) == []


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        (True, "int_type"),
        (False, "int_type"),
        (6.0, "int_type"),
        (6.5, "int_type"),
        ("6", "int_type"),
        (2**31, "less_than_equal"),
        (-(2**31) - 1, "greater_than_equal"),
        ([6], "int_type"),
    ],
)
def test_int32_rejects(value: object, error_type: str) -> None:
    assert errors_of(ProvisioningObjectSummary, {"durationInMilliseconds": value}) == [
        (("durationInMilliseconds",), error_type)
    ]


@pytest.mark.parametrize(
    "value",
    [
        "2017-01-01T00:03:07.3452024+03:00",
        "2017-01-01T00:03:07Z",
        "2017-01-01T00:03Z",
        "2017-01-01T00:03:07.1-08:00",
        "2017-01-01T00:03:07.123456789012Z",
        "2020-02-29T23:59:59+14:00",
    ],
)
def test_datetime_offset_accepts(value: str) -> None:
    assert errors_of(ProvisioningObjectSummary, {"activityDateTime": value}) == []


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("2017-01-01T00:03:07", "datetime_format"),
        ("2017-01-01T00:03:07.3452024", "datetime_format"),
        ("2017-01-01", "datetime_format"),
        ("2017-01-01 00:03:07Z", "datetime_format"),
        ("2017-01-01T00:03:07z", "datetime_format"),
        ("2017-01-01T00:03:07+0300", "datetime_format"),
        ("20170101T000307Z", "datetime_format"),
        ("2017-01-01T00:03:07.1234567890123Z", "datetime_format"),
        (" 2017-01-01T00:03:07Z", "datetime_format"),
        ("2017-01-01T00:03:07Z\n", "datetime_format"),
        ("2017-13-01T00:03:07Z", "datetime_range"),
        ("2019-02-29T00:03:07Z", "datetime_range"),
        ("2017-01-01T24:03:07Z", "datetime_range"),
        ("2017-01-01T00:03:07+24:00", "datetime_range"),
        (1483228987, "datetime_type"),
        (1483228987.5, "datetime_type"),
        (True, "datetime_type"),
        ({}, "datetime_type"),
    ],
)
def test_datetime_offset_rejects(value: object, error_type: str) -> None:
    assert errors_of(ProvisioningObjectSummary, {"activityDateTime": value}) == [(("activityDateTime",), error_type)]


def test_strings_are_strict() -> None:
    values: tuple[object, ...] = (1, 1.5, True, [], {})
    for value in values:
        assert errors_of(ProvisioningServicePrincipal, {"id": value}) == [(("id",), "string_type")]


def test_collections() -> None:
    model = ProvisioningObjectSummary
    assert errors_of(model, {"provisioningSteps": None, "modifiedProperties": []}) == []
    assert errors_of(model, {"provisioningSteps": [{}, None]}) == [(("provisioningSteps", 1), "model_type")]
    assert errors_of(model, {"modifiedProperties": {"oldValue": "x"}}) == [(("modifiedProperties",), "list_type")]
    assert errors_of(model, {"modifiedProperties": [{"oldValue": 1}]}) == [
        (("modifiedProperties", 0, "oldValue"), "string_type")
    ]


def test_a_model_with_mismatched_odata_type_fails_at_definition() -> None:
    with pytest.raises(TypeError, match="odata_type_name"):

        class Broken(GraphModel):
            odata_type_name: ClassVar[str] = "microsoft.graph.broken"
            odata_type: Literal["#microsoft.graph.other", "microsoft.graph.other"] | None = Field(
                default=None, alias="@odata.type"
            )

    with pytest.raises(TypeError, match="odata_type_name"):

        class Undeclared(GraphModel):
            odata_type_name: ClassVar[str] = "microsoft.graph.undeclared"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/auditLogs/provisioning", "provisioning"),
        ("/auditLogs/provisioning/c094201e-201e-c094-1e20-94c01e2094c0", "provisioning_item"),
        ("/auditLogs/provisioning/a.b_c~d-e", "provisioning_item"),
        ("/auditLogs/provisioning/...", "provisioning_item"),
    ],
)
def test_match_route(path: str, name: str) -> None:
    route = match_route(path)
    assert route is not None
    assert route.name == name
    assert route.model is ProvisioningObjectSummary


@pytest.mark.parametrize(
    "path",
    [
        "/auditLogs/provisioning/",
        "/auditLogs/provisioning/.",
        "/auditLogs/provisioning/..",
        "/auditLogs/provisioning/a/b",
        "/auditLogs/provisioning/a\n",
        "/auditLogs/provisioning/a b",
        "/auditLogs/provisioning/%2e%2e",
        "/auditLogs/provisioning/é",
        "/auditLogs/provisioning?x=1",
        "auditLogs/provisioning",
        "/users/1",
        "",
    ],
)
def test_match_route_rejects(path: str) -> None:
    assert match_route(path) is None


def test_registry_shape() -> None:
    assert match_route(DEFAULT_PATH) is ROUTES[0]
    assert len({route.name for route in ROUTES}) == len(ROUTES)
