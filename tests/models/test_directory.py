"""The generated directory models, through the worker's own line parser: what passes is sent as given,
what does not is refused with its line and field, and each kind of refusal says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from tests.models.directory_bodies import OTHER_ID, RESOURCES, UPN, USER_ID, Resource
from worker.jobs import Job, Rejected
from worker.models import GraphModel, GraphVersion, match_route, routes
from worker.models.checker import body_validator
from worker.models.generated import beta, v1_0
from worker.models.registry import graph_version
from worker.validate.parse import parse_line

VERSIONS: tuple[GraphVersion, ...] = ("v1.0", "beta")
CASES = [(version, resource) for version in VERSIONS for resource in RESOURCES]
IDS = [f"{version}-{resource.name}" for version, resource in CASES]


def parse(resource: Resource, body: object, version: GraphVersion, line: int = 3) -> Job | Rejected:
    raw = orjson.dumps({"jobId": f"j{line}", "path": resource.path, "body": body})
    parsed = parse_line(raw, line, default_tenant="contoso", version=version)
    assert parsed is not None
    return parsed


def refusal(resource: Resource, body: object, version: GraphVersion) -> list[tuple[str, str]]:
    """(location, type) of every error of a line that must be refused, on line 3."""
    parsed = parse(resource, body, version)
    assert isinstance(parsed, Rejected), parsed
    assert parsed.line == 3
    assert parsed.kind == "validation"
    return [(error.loc, error.type) for error in parsed.errors]


def message(resource: Resource, body: object, version: GraphVersion) -> str:
    parsed = parse(resource, body, version)
    assert isinstance(parsed, Rejected)
    return parsed.message


@pytest.mark.parametrize(("version", "resource"), CASES, ids=IDS)
def test_a_valid_body_becomes_a_job_with_the_same_json(version: GraphVersion, resource: Resource) -> None:
    job = parse(resource, resource.valid, version)
    assert isinstance(job, Job), job
    assert job.path == resource.path
    assert orjson.loads(job.body) == resource.valid
    assert job.body == orjson.dumps(resource.valid)  # nothing added, dropped or reordered


@pytest.mark.parametrize(("version", "resource"), CASES, ids=IDS)
def test_an_unknown_property_is_refused_with_line_and_field(version: GraphVersion, resource: Resource) -> None:
    body = {**resource.valid, resource.unknown: "x"}
    assert refusal(resource, body, version) == [(f"body.{resource.unknown}", "extra_forbidden")]
    assert f"unknown property '{resource.unknown}' for microsoft.graph." in message(resource, body, version)


@pytest.mark.parametrize(("version", "resource"), CASES, ids=IDS)
def test_a_wrong_type_is_refused_with_line_and_field(version: GraphVersion, resource: Resource) -> None:
    name, value, inner, error_type = resource.wrong_type
    where = f"body.{name}.{inner}" if inner else f"body.{name}"
    assert refusal(resource, {**resource.valid, name: value}, version) == [(where, error_type)]


@pytest.mark.parametrize(("version", "resource"), CASES, ids=IDS)
def test_a_read_only_property_is_refused_as_read_only(version: GraphVersion, resource: Resource) -> None:
    body = {**resource.valid, resource.read_only: None}  # even null: it cannot be written at all
    assert refusal(resource, body, version) == [(f"body.{resource.read_only}", "read_only")]
    assert f"property '{resource.read_only}' of microsoft.graph." in message(resource, body, version)
    assert "is read-only" in message(resource, body, version)


@pytest.mark.parametrize(("version", "resource"), CASES, ids=IDS)
def test_the_key_is_read_only_and_a_navigation_property_is_refused(version: GraphVersion, resource: Resource) -> None:
    assert refusal(resource, {"id": USER_ID}, version) == [("body.id", "read_only")]
    body = {resource.navigation: {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{OTHER_ID}"}}
    assert refusal(resource, body, version) == [(f"body.{resource.navigation}", "navigation_property")]
    assert "set it through its own endpoint" in message(resource, body, version)


@pytest.mark.parametrize(("version", "resource"), CASES, ids=IDS)
def test_odata_type_names_the_resource(version: GraphVersion, resource: Resource) -> None:
    route = match_route(resource.path, version)
    assert route is not None
    assert route.scope == "directory"
    name = route.model.odata_type_name
    assert isinstance(parse(resource, {"@odata.type": f"#{name}"}, version), Job)
    assert refusal(resource, {"@odata.type": "#microsoft.graph.directoryObject"}, version) == [
        ("body.@odata.type", "literal_error")
    ]


USER = RESOURCES[0]


@pytest.mark.parametrize(
    ("body", "where", "error_type"),
    [
        ({"employeeHireDate": "2024-03-01"}, "body.employeeHireDate", "datetime_format"),
        ({"businessPhones": "+1 425 555 0109"}, "body.businessPhones", "list_type"),
        ({"businessPhones": [1]}, "body.businessPhones.0", "string_type"),
        ({"accountEnabled": 1}, "body.accountEnabled", "bool_type"),
        (
            {"mailboxSettings": {"automaticRepliesSetting": {"status": "sometimes"}}},
            "body.mailboxSettings.automaticRepliesSetting.status",
            "literal_error",
        ),
        (
            {"mailboxSettings": {"workingHours": {"daysOfWeek": ["monday", "funday"]}}},
            "body.mailboxSettings.workingHours.daysOfWeek.1",
            "literal_error",
        ),
        (
            {"mailboxSettings": {"workingHours": {"startTime": "25:00:00"}}},
            "body.mailboxSettings.workingHours.startTime",
            "time_format",
        ),
        (
            {"passwordProfile": {"password": "x", "forcePasswordChange": True}},
            "body.passwordProfile.forcePasswordChange",
            "extra_forbidden",
        ),
        ({"assignedLicenses": [{"skuId": "not-a-guid"}]}, "body.assignedLicenses.0.skuId", "guid_format"),
        ({"passwordProfile": []}, "body.passwordProfile", "model_type"),
    ],
)
def test_user_types_enums_guids_and_nested_types(body: dict[str, Any], where: str, error_type: str) -> None:
    for version in VERSIONS:
        assert refusal(USER, body, version) == [(where, error_type)]


def test_enums_guids_and_times_accept_their_values() -> None:
    body = {
        "mailboxSettings": {
            "automaticRepliesSetting": {"status": "scheduled"},
            "workingHours": {"daysOfWeek": ["monday", "friday"], "startTime": "08:30:00", "endTime": "17:00"},
        },
        "assignedLicenses": [{"skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df", "disabledPlans": []}],
        "customSecurityAttributes": {"Engineering": {"@odata.type": "#microsoft.graph.customSecurityAttributeValue"}},
    }
    for version in VERSIONS:
        assert isinstance(parse(USER, body, version), Job)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (f"/users/{USER_ID}", "user"),
        (f"/users/{USER_ID.upper()}", "user"),
        (f"/users/{UPN}", "user"),
        ("/users/o.brien-smith_2@sub.contoso.com", "user"),
        (f"/groups/{USER_ID}", "group"),
        (f"/devices/{USER_ID}", "device"),
        (f"/applications/{USER_ID}", "application"),
        (f"/servicePrincipals/{USER_ID}", "service_principal"),
    ],
)
def test_ids_guid_everywhere_and_a_user_principal_name_for_users(path: str, name: str) -> None:
    for version in VERSIONS:
        route = match_route(path, version)
        assert route is not None
        assert route.name == name


@pytest.mark.parametrize(
    "path",
    [
        f"/groups/{UPN}",  # only users are addressed by name
        f"/devices/{UPN}",
        "/groups/finance",
        f"/groups/{USER_ID}0",
        "/users/adele",  # neither a GUID nor name@domain
        "/users/adele@contoso",
        "/users/@contoso.com",
        "/users/..",
        "/users/../groups",
        f"/users/{UPN}/manager",
        f"/users/{USER_ID}/",
        "/users/",
        "/users/adele_contoso.com#EXT#@fabrikam.onmicrosoft.com",
        "/users/adele%40contoso.com",
        "/users/adele@contoso.com@evil.com",
        f"/Users/{USER_ID}",
        f"/servicePrincipals/{USER_ID}/owners",
    ],
)
def test_paths_that_match_no_route(path: str) -> None:
    for version in VERSIONS:
        assert match_route(path, version) is None


def test_an_unknown_path_lists_the_routes() -> None:
    rejected = parse(RESOURCES[1], {}, "beta")
    assert isinstance(rejected, Job)
    raw = orjson.dumps({"path": f"/groups/{UPN}", "body": {}})
    refused = parse_line(raw, 1, default_tenant="t", version="v1.0")
    assert isinstance(refused, Rejected)
    assert "/users/{id}, /groups/{id}, /devices/{id}, /applications/{id}, /servicePrincipals/{id}" in refused.message


@pytest.mark.parametrize(
    ("base_url", "version"),
    [
        ("https://graph.microsoft.com/v1.0", "v1.0"),
        ("https://graph.microsoft.com/v1.0/", "v1.0"),
        ("https://graph.microsoft.us/beta", "beta"),
        ("http://127.0.0.1:8080/v1.0", "v1.0"),
        ("http://127.0.0.1:8080", "beta"),
        ("https://proxy.contoso.com/graph/v1.01", "beta"),
    ],
)
def test_the_base_url_names_the_version(base_url: str, version: GraphVersion) -> None:
    assert graph_version(base_url) == version


def test_each_version_checks_with_its_own_models() -> None:
    device = RESOURCES[2]
    beta_only = {"hostnames": ["laptop-0042.contoso.com"]}  # a beta property of device
    assert isinstance(parse(device, beta_only, "beta"), Job)
    assert refusal(device, beta_only, "v1.0") == [("body.hostnames", "extra_forbidden")]
    v1_only = {"oauth2RequirePostResponse": True}  # an application property beta no longer has
    assert isinstance(parse(RESOURCES[3], v1_only, "v1.0"), Job)
    assert refusal(RESOURCES[3], v1_only, "beta") == [("body.oauth2RequirePostResponse", "extra_forbidden")]
    assert match_route(f"/users/{USER_ID}", "v1.0").model is v1_0.User  # type: ignore[union-attr]
    assert match_route(f"/users/{USER_ID}", "beta").model is beta.User  # type: ignore[union-attr]


def test_the_seed_routes_come_first_and_are_shared_by_both_versions() -> None:
    assert routes("v1.0")[:2] == routes("beta")[:2]
    assert [route.scope for route in routes("beta")] == ["reports", "reports", *["directory"] * 5]


def _models(module: object) -> list[type[GraphModel]]:
    found = vars(module).values()
    return [m for m in found if isinstance(m, type) and issubclass(m, GraphModel) and m is not GraphModel]


@pytest.mark.parametrize("module", [v1_0, beta], ids=["v1.0", "beta"])
def test_generated_models_are_strict_and_name_their_type(module: object) -> None:
    models = _models(module)
    assert len(models) > 40
    for model in models:
        name = model.odata_type_name
        assert name.startswith("microsoft.graph.")
        fields = {field.alias for field in model.model_fields.values()}
        assert not fields & (model.read_only | model.navigation), model  # refused, so never fields
        if model.model_config.get("extra") != "allow":  # open types (no declared property) take any
            with pytest.raises(ValidationError):
                model.model_validate({"surelyNotAProperty": 1})
        model.model_validate({"@odata.type": name})


@pytest.mark.parametrize("version", VERSIONS)
def test_the_checker_and_the_models_agree_on_directory_bodies(version: GraphVersion) -> None:
    """body_validator (typed dicts, what the worker runs) and model_validate give the same errors."""
    for resource in RESOURCES:
        route = match_route(resource.path, version)
        assert route is not None
        name, value, _, _ = resource.wrong_type
        for body in (resource.valid, {resource.unknown: 1}, {name: value}, {resource.read_only: "x"}):
            assert _errors(lambda b, r=route: r.model.model_validate(b), body) == _errors(
                lambda b, r=route: body_validator(r.model).validate_python(b), body
            )


def _errors(validate: Any, body: object) -> list[tuple[Any, str]]:
    try:
        validate(body)
    except ValidationError as exc:
        return [(tuple(err["loc"]), err["type"]) for err in exc.errors()]
    return []


APP = "0123456789abcdef0123456789ABCDEF"


@pytest.mark.parametrize(
    "value", ["CC-4711", 42, 2**40, True, None, ["a", "b"], [1, 2], [], "2026-12-02T00:00:00Z"], ids=repr
)
def test_directory_extension_properties_are_taken(value: object) -> None:
    for version in VERSIONS:
        for resource in RESOURCES:
            body = {**resource.valid, f"extension_{APP}_costCenter": value}
            job = parse(resource, body, version)
            assert isinstance(job, Job), job
            assert job.body == orjson.dumps(body)


@pytest.mark.parametrize("value", [1.5, {"a": 1}, [1, "a"], [None], [1.5], [[1]]], ids=repr)
def test_a_directory_extension_with_a_value_it_cannot_hold_is_refused(value: object) -> None:
    name = f"extension_{APP}_costCenter"
    assert refusal(USER, {name: value, "jobTitle": 1}, "beta") == [
        (f"body.{name}", "extension_type"),
        ("body.jobTitle", "string_type"),
    ]


@pytest.mark.parametrize(
    "name", ["extension_costCenter", f"extension_{APP[:-1]}_costCenter", f"extension_{APP}_", f"extension_{APP}-x"]
)
def test_an_ill_formed_extension_name_is_an_unknown_property(name: str) -> None:
    assert refusal(USER, {name: "x"}, "v1.0") == [(f"body.{name}", "extra_forbidden")]


def test_extensions_are_for_directory_objects_only() -> None:
    raw = orjson.dumps({"body": {f"extension_{APP}_costCenter": "x"}})  # the seed's provisioning route
    rejected = parse_line(raw, 1, default_tenant="t", version="beta")
    assert isinstance(rejected, Rejected)
    assert [error.type for error in rejected.errors] == ["extra_forbidden"]
    nested = {"passwordProfile": {f"extension_{APP}_costCenter": "x"}}
    assert refusal(USER, nested, "beta") == [(f"body.passwordProfile.extension_{APP}_costCenter", "extra_forbidden")]


def test_the_readme_examples_are_the_example_file_and_valid_in_both_versions() -> None:
    repo = Path(__file__).resolve().parents[2]
    lines = (repo / "examples/directory.jsonl").read_bytes().splitlines()
    readme = (repo / "README.md").read_bytes()
    assert len(lines) == 5
    for number, raw in enumerate(lines, start=1):
        assert raw in readme
        for version in VERSIONS:
            assert isinstance(parse_line(raw, number, default_tenant="t", version=version), Job)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"nativeAuthenticationApisEnabled": "all"}, None),
        ({"requestSignatureVerification": {"allowedWeakAlgorithms": "rsaSha1"}}, None),
        ({"requestSignatureVerification": {"allowedWeakAlgorithms": "rsaSha1,unknownFutureValue"}}, None),
        ({"requestSignatureVerification": {"allowedWeakAlgorithms": ["rsaSha1"]}}, "flags_type"),
        ({"requestSignatureVerification": {"allowedWeakAlgorithms": "rsaSha1,md5"}}, "flags_error"),
        ({"nativeAuthenticationApisEnabled": ""}, "flags_error"),
    ],
)
def test_flags_enums_are_members_joined_by_commas(body: dict[str, Any], error: str | None) -> None:
    application = RESOURCES[3]
    for version in VERSIONS:
        if error is None:
            assert isinstance(parse(application, body, version), Job)
        else:
            (refused,) = refusal(application, body, version)
            assert refused[1] == error
