"""parse_line and validate_body: every kind of line becomes a Job, a Rejected with located errors, or None."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from typing import Any

import orjson
import pytest

from tests.models.test_provisioning import SEED_REQUEST
from worker.jobs import FieldError, Job, Rejected
from worker.models import DEFAULT_PATH, match_route
from worker.validate.model_check import validate_body
from worker.validate.parse import parse_line

TENANT = "contoso"


def parse(line: bytes | dict[str, Any] | list[Any], line_no: int = 7) -> Job | Rejected | None:
    """parse_line on bytes, or on a value dumped as JSON."""
    raw = line if isinstance(line, bytes) else orjson.dumps(line)
    return parse_line(raw, line_no, default_tenant=TENANT)


def job(line: bytes | dict[str, Any]) -> Job:
    result = parse(line)
    assert isinstance(result, Job), result
    return result


def rejected(line: bytes | dict[str, Any] | list[Any]) -> Rejected:
    result = parse(line)
    assert isinstance(result, Rejected), result
    return result


def locs(line: bytes | dict[str, Any] | list[Any]) -> list[tuple[str, str]]:
    """(loc, type) of every error of a rejected line, sorted."""
    return sorted((error.loc, error.type) for error in rejected(line).errors)


def seed_with(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(SEED_REQUEST)
    body.update(changes)
    return body


# --- valid lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(SEED_REQUEST, indent=2).replace("\n", " ").encode(),
        orjson.dumps(SEED_REQUEST),
        json.dumps(SEED_REQUEST).encode() + b"\r\n",
        b"  \t" + orjson.dumps(SEED_REQUEST) + b"\n",
    ],
)
def test_seed_example_bare_body_is_sent_as_given(raw: bytes) -> None:
    result = job(raw)
    assert result.body == raw.strip()
    assert orjson.loads(result.body) == SEED_REQUEST
    assert result.job_id == "7"
    assert result.line == 7
    assert result.tenant == TENANT
    assert result.path == DEFAULT_PATH
    assert uuid.UUID(result.client_request_id).version == 4


def test_every_job_gets_its_own_client_request_id() -> None:
    raw = orjson.dumps(SEED_REQUEST)
    assert job(raw).client_request_id != job(raw).client_request_id


def test_seed_example_in_an_envelope() -> None:
    line = {
        "jobId": "job-1",
        "path": "/auditLogs/provisioning/c094201e-201e-c094-1e20-94c01e2094c0",
        "tenant": "fabrikam.onmicrosoft.com",
        "body": SEED_REQUEST,
    }
    result = job(line)
    assert result.job_id == "job-1"
    assert result.tenant == "fabrikam.onmicrosoft.com"
    assert result.path == line["path"]
    assert orjson.loads(result.body) == SEED_REQUEST
    assert list(orjson.loads(result.body)) == list(SEED_REQUEST)


def test_envelope_defaults() -> None:
    result = job({"body": {"action": "x"}})
    assert (result.job_id, result.tenant, result.path) == ("7", TENANT, DEFAULT_PATH)
    assert orjson.loads(result.body) == {"action": "x"}
    nulls = job({"jobId": None, "tenant": None, "path": None, "body": {}})
    assert (nulls.job_id, nulls.tenant, nulls.path) == ("7", TENANT, DEFAULT_PATH)


def test_nulls_are_accepted_everywhere_and_kept() -> None:
    body: dict[str, Any] = dict.fromkeys(key for key in SEED_REQUEST if key != "@odata.type")
    body["servicePrincipal"] = {"id": None, "displayName": None}
    body["sourceSystem"] = {"id": None, "displayName": None, "details": None}
    body["provisioningSteps"] = [dict.fromkeys(("name", "description", "provisioningStepType", "status"))]
    body["modifiedProperties"] = [{"displayName": None, "oldValue": None, "newValue": None}]
    assert orjson.loads(job(body).body) == body
    assert orjson.loads(job({"body": body}).body) == body


@pytest.mark.parametrize("body", [{"@odata.type": None}, {"servicePrincipal": {"@odata.type": None}}])
def test_a_null_odata_type_is_rejected(body: dict[str, Any]) -> None:
    rejected = parse(orjson.dumps(body))
    assert isinstance(rejected, Rejected)
    assert [error.type for error in rejected.errors] == ["literal_error"]


def test_invalid_utf8_says_which_byte_and_where() -> None:
    rejected = parse(b'{"id": "\xff\xfe", "action": "Upd\xe9te"}')
    assert isinstance(rejected, Rejected)
    assert rejected.kind == "invalid_utf8"
    assert rejected.message.startswith("not valid UTF-8: byte 0xff at column 9")
    assert "surrogates" not in rejected.message


def test_nothing_is_added_to_a_partial_body() -> None:
    assert orjson.loads(job({"action": "x"}).body) == {"action": "x"}
    assert orjson.loads(job({"body": {"statusInfo": {"status": "s"}}}).body) == {"statusInfo": {"status": "s"}}


@pytest.mark.parametrize("raw", [b"", b"\n", b"   \r\n", b"\t \t"])
def test_blank_line_is_none(raw: bytes) -> None:
    assert parse(raw) is None


# --- not a JSON object --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"id": "x"',
        b"[" * 5000,
        b'{"a":' * 5000,
        b'{"durationInMilliseconds": ' + b"9" * 5000 + b"}",
        b"\xef\xbb\xbf{}",
        b'{"id": "\\ud800"}',
        b"{'id': 'x'}",
        b'{"id": NaN}',
        b"\x00oversized",
    ],
)
def test_not_json_is_rejected_with_the_reason(raw: bytes) -> None:
    result = rejected(raw)
    assert result.kind == "invalid_json"
    assert result.job_id == "7"
    assert result.line == 7
    assert result.message.startswith("not valid JSON: ")
    assert len(result.errors) == 1
    assert result.errors[0].loc == ""
    assert result.errors[0].type == "json_invalid"
    assert result.errors[0].message in result.message


@pytest.mark.parametrize(("raw", "name"), [(b"[1, 2]", "an array"), (b'"x"', "a string"), (b"6", "a number")])
def test_not_an_object_is_an_invalid_line(raw: bytes, name: str) -> None:
    result = rejected(raw)
    assert result.kind == "invalid_line"
    assert result.message == f"a line must be a JSON object, not {name}"
    assert [(e.loc, e.type) for e in result.errors] == [("", "object_type")]


# --- body validation ----------------------------------------------------------------------------------


def test_unknown_property_top_and_nested() -> None:
    result = rejected(seed_with(secret="hunter2", servicePrincipal={"id": "a", "appId": "hunter2"}))
    assert result.kind == "validation"
    assert {(e.loc, e.message) for e in result.errors} == {
        ("secret", "unknown property 'secret' for microsoft.graph.provisioningObjectSummary"),
        ("servicePrincipal.appId", "unknown property 'appId' for microsoft.graph.provisioningServicePrincipal"),
    }
    assert "hunter2" not in repr(result)


def test_unknown_property_in_a_collection_element() -> None:
    line = {"provisioningSteps": [{"name": "a"}, {"name": "b", "extra": 1}]}
    result = rejected(line)
    assert [(e.loc, e.message) for e in result.errors] == [
        ("provisioningSteps.1.extra", "unknown property 'extra' for microsoft.graph.provisioningStep")
    ]


def test_wrong_odata_type_top_and_nested() -> None:
    line = seed_with(
        **{"@odata.type": "#microsoft.graph.user"},
        initiatedBy={"@odata.type": "microsoft.graph.provisioningServicePrincipal"},
        sourceSystem={"details": {"@odata.type": "#microsoft.graph.statusBase"}},
        modifiedProperties=[{"@odata.type": "microsoft.graph.modifiedProperty"}, {"@odata.type": "x"}],
    )
    assert locs(line) == [
        ("@odata.type", "literal_error"),
        ("initiatedBy.@odata.type", "literal_error"),
        ("modifiedProperties.1.@odata.type", "literal_error"),
        ("sourceSystem.details.@odata.type", "literal_error"),
    ]


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("2017-01-01T00:03:07.3452024", "datetime_format"),
        (1483228987, "datetime_type"),
        ("2017-02-30T00:00:00Z", "datetime_range"),
    ],
)
def test_bad_activity_date_time(value: object, error_type: str) -> None:
    assert locs(seed_with(activityDateTime=value)) == [("activityDateTime", error_type)]


@pytest.mark.parametrize(
    ("value", "error_type"),
    [(True, "int_type"), (6.0, "int_type"), ("6", "int_type"), (2**31, "less_than_equal")],
)
def test_bad_duration(value: object, error_type: str) -> None:
    assert locs(seed_with(durationInMilliseconds=value)) == [("durationInMilliseconds", error_type)]


def test_huge_integer_that_still_parses_is_rejected_as_not_an_int32() -> None:
    raw = b'{"durationInMilliseconds": ' + b"9" * 30 + b"}"
    assert locs(raw) == [("durationInMilliseconds", "int_type")]


def test_null_element_in_a_collection_is_rejected() -> None:
    result = rejected(seed_with(provisioningSteps=[None], modifiedProperties=[{}, None]))
    assert sorted((e.loc, e.message) for e in result.errors) == [
        ("modifiedProperties.1", "Input should be a JSON object (microsoft.graph.modifiedProperty)"),
        ("provisioningSteps.0", "Input should be a JSON object (microsoft.graph.provisioningStep)"),
    ]


def test_wrong_shapes() -> None:
    line = {"servicePrincipal": "sp", "provisioningSteps": {"name": "a"}, "statusInfo": []}
    assert locs(line) == [
        ("provisioningSteps", "list_type"),
        ("servicePrincipal", "model_type"),
        ("statusInfo", "model_type"),
    ]


def test_all_errors_of_a_line_are_reported() -> None:
    line = seed_with(
        id=1,
        activityDateTime="2017-01-01T00:03:07",
        durationInMilliseconds=1.5,
        servicePrincipal={"id": 2, "bogus": "x"},
        provisioningSteps=[{"name": 3}],
    )
    result = rejected(line)
    assert [e.loc for e in result.errors] == [
        "id",
        "activityDateTime",
        "durationInMilliseconds",
        "servicePrincipal.id",
        "servicePrincipal.bogus",
        "provisioningSteps.0.name",
    ]
    assert result.message.startswith(
        "6 validation errors: id: Input should be a valid string; activityDateTime: Input should be"
    )
    assert result.job_id == "7"


def test_message_lists_at_most_ten_errors() -> None:
    result = rejected({f"x{i}": i for i in range(12)})
    assert result.message.startswith("12 validation errors: x0: unknown property 'x0'")
    assert result.message.endswith("; and 2 more")
    assert len(result.errors) == 12


def test_one_error_message_is_singular() -> None:
    assert rejected({"id": 1}).message == "1 validation error: id: Input should be a valid string"


def test_input_values_never_appear_in_errors() -> None:
    secret = "s3cr3t-value"
    line = {
        "id": [secret],
        "activityDateTime": secret,
        "durationInMilliseconds": secret,
        "@odata.type": secret,
        "provisioningSteps": [secret],
    }
    assert secret not in repr(rejected(line))
    assert secret not in repr(rejected({"body": line, "path": f"/x/{secret}?", "jobId": 5}))


# --- duplicate keys -----------------------------------------------------------------------------------


def test_duplicate_key_at_the_top() -> None:
    raw = b'{"action": "a", "id": "1", "action": "b"}'
    result = rejected(raw)
    assert result.kind == "validation"
    assert [(e.loc, e.type) for e in result.errors] == [("action", "duplicate_key")]
    assert result.errors[0].message == "duplicate key 'action' (JSON objects must not repeat a key)"


def test_duplicate_keys_nested_and_in_an_envelope() -> None:
    raw = (
        b'{"provisioningSteps": [{"name": "a"}, {"name": "a", "name" : "b"}],'
        b' "statusInfo": {"status":"1","status":"2"}}'
    )
    assert locs(raw) == [("provisioningSteps.1.name", "duplicate_key"), ("statusInfo.status", "duplicate_key")]
    envelope = b'{"jobId": "j", "body": {"servicePrincipal": {"id": "a", "id": "b"}}, "jobId": "k"}'
    assert locs(envelope) == [("body.servicePrincipal.id", "duplicate_key"), ("jobId", "duplicate_key")]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": "a\\":", "action": "b\\" :c", "jobId": "::::"}',
        b'{"id": "\\u003a", "action": "\\u003A\\u003a"}',
        b'{"body": {"id": "x\\": \\"y\\":"}, "jobId": "a:b"}',
        b'{"id": "a\\\\", "action": "b"}',
        b'{"id"  :  "a" , "action"\t:\n"b"}',
    ],
)
def test_colon_or_quote_in_a_string_is_not_a_duplicate(raw: bytes) -> None:
    result = job(raw)
    assert orjson.loads(result.body) == orjson.loads(raw).get("body", orjson.loads(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": "a", "id": "\\u003a"}',
        b'{"id": ":", "id": "a"}',
        b'{"id" : "a", "id" : "b"}',
        b'{"sourceSystem": {"details": {"k": 1, "k\\u003a": 2, "k": 3}}}',
    ],
)
def test_duplicates_are_found_however_the_line_is_written(raw: bytes) -> None:
    assert "duplicate_key" in {e.type for e in rejected(raw).errors}


def test_duplicate_key_inside_deep_details_info() -> None:
    deep = b"[" * 300 + b"]" * 300
    raw = b'{"sourceSystem": {"details": {"a": ' + deep + b', "b": 1, "b": 2}}}'
    assert locs(raw) == [("sourceSystem.details.b", "duplicate_key")]
    assert isinstance(parse(b'{"sourceSystem": {"details": {"a": ' + deep + b"}}}"), Job)


# --- envelopes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/x",
        "//evil/x",
        "//evil.example/auditLogs/provisioning",
        "/auditLogs/provisioning/../../me",
        "/auditLogs/provisioning/./x",
        "/auditLogs/provisioning/..",
        "/auditLogs/provisioning?x=1",
        "/auditLogs/provisioning#x",
        "/users/1",
        "/auditLogs/provisioning/%2e%2e",
        "/auditLogs/provisioning/a%2Fb",
        "/auditLogs/provisioning\\..\\..\\me",
        "/auditLogs/provisioning/a/b",
        "/auditLogs/provisioning/",
        "auditLogs/provisioning",
        "",
        " /auditLogs/provisioning",
        "/auditLogs/provisioning\n",
        "/auditLogs/provisioning/@evil.example",
    ],
)
def test_unsafe_or_unknown_paths_are_rejected(path: str) -> None:
    result = rejected({"jobId": "j", "path": path, "body": SEED_REQUEST})
    assert result.kind == "validation"
    assert result.job_id == "j"
    assert [(e.loc, e.type) for e in result.errors] == [("path", "path_invalid")]
    assert result.errors[0].message.startswith("path ")


def test_path_messages_say_why() -> None:
    def message(path: str) -> str:
        return rejected({"path": path, "body": {}}).errors[0].message

    assert "start with '/'" in message("https://evil.example/x")
    assert "'//'" in message("//evil/x")
    assert "'..'" in message("/auditLogs/provisioning/../../me")
    assert "query" in message("/auditLogs/provisioning?x=1")
    assert "'%'" in message("/auditLogs/provisioning/%2e%2e")
    assert "/auditLogs/provisioning/{id}" in message("/users/1")


def test_envelope_unknown_key() -> None:
    result = rejected({"jobId": "j", "body": {}, "Path": "/users/1", "headers": {}})
    assert sorted((e.loc, e.type) for e in result.errors) == [
        ("Path", "extra_forbidden"),
        ("headers", "extra_forbidden"),
    ]
    assert "unknown envelope key 'headers'" in result.message


@pytest.mark.parametrize(
    ("key", "value", "error_type"),
    [
        ("jobId", 5, "string_type"),
        ("jobId", ["j"], "string_type"),
        ("jobId", "", "string_too_short"),
        ("jobId", "j" * 201, "string_too_long"),
        ("tenant", 5, "string_type"),
        ("tenant", "", "string_pattern_mismatch"),
        ("tenant", "a/b", "string_pattern_mismatch"),
        ("tenant", "t" * 101, "string_pattern_mismatch"),
        ("path", 5, "string_type"),
        ("path", {"p": 1}, "string_type"),
    ],
)
def test_envelope_bad_fields(key: str, value: object, error_type: str) -> None:
    result = rejected({key: value, "body": {}})
    assert [(e.loc, e.type) for e in result.errors] == [(key, error_type)]
    assert result.job_id == "7"


def test_envelope_limits_accepted() -> None:
    result = job({"jobId": "j" * 200, "tenant": "t" * 100, "body": {}})
    assert (len(result.job_id), len(result.tenant)) == (200, 100)


@pytest.mark.parametrize("body", [None, [], "x", 1, [SEED_REQUEST]])
def test_envelope_body_must_be_an_object(body: object) -> None:
    assert locs({"body": body}) == [("body", "dict_type")]


def test_envelope_and_body_errors_together() -> None:
    line = {
        "jobId": "j",
        "tenant": 1,
        "extra": True,
        "body": seed_with(durationInMilliseconds="6", servicePrincipal={"x": 1}),
    }
    result = rejected(line)
    assert result.job_id == "j"
    assert sorted((e.loc, e.type) for e in result.errors) == [
        ("body.durationInMilliseconds", "int_type"),
        ("body.servicePrincipal.x", "extra_forbidden"),
        ("extra", "extra_forbidden"),
        ("tenant", "string_type"),
    ]
    assert result.message.startswith("4 validation errors: ")


def test_envelope_with_a_bad_path_still_reports_envelope_errors() -> None:
    assert locs({"jobId": 1, "path": "/users/1", "body": {"bogus": 1}}) == [
        ("jobId", "string_type"),
        ("path", "path_invalid"),
    ]


def test_envelope_body_too_deep_to_send_is_rejected() -> None:
    deep = b"[" * 300 + b"]" * 300
    result = rejected(b'{"body": {"sourceSystem": {"details": {"a": ' + deep + b"}}}}")
    assert [(e.loc, e.type) for e in result.errors] == [("body", "too_deep")]


# --- validate_body ------------------------------------------------------------------------------------


def test_validate_body_locates_relative_to_the_body() -> None:
    route = match_route("/auditLogs/provisioning/abc")
    assert route is not None
    assert validate_body(route, SEED_REQUEST) == []
    assert validate_body(route, {"servicePrincipal": {"id": 1}, "x": None}) == [
        FieldError("servicePrincipal.id", "Input should be a valid string", "string_type"),
        FieldError("x", "unknown property 'x' for microsoft.graph.provisioningObjectSummary", "extra_forbidden"),
    ]
    assert validate_body(route, [1]) == [
        FieldError("", "Input should be a JSON object (microsoft.graph.provisioningObjectSummary)", "model_type")
    ]


# --- a body equal to the last valid one (bulk updates send one body to many objects) -------------------


def test_a_repeated_body_is_valid_again_only_for_the_model_it_was_valid_for() -> None:
    body = {"displayName": "Ada", "accountEnabled": False}
    for index in range(3):  # the same body to three users: each a Job, the body sent as dumped
        result = parse({"path": f"/users/{uuid.UUID(int=index)}", "body": body})
        assert isinstance(result, Job)
        assert result.body == orjson.dumps(body)
    # the very same bytes for a provisioning summary: not a property of it, so refused there
    result = parse({"path": "/auditLogs/provisioning/x", "body": body})
    assert isinstance(result, Rejected)
    assert {error.loc for error in result.errors} == {"body.displayName", "body.accountEnabled"}
    # a different body for users after the valid one: validated, and refused
    result = parse({"path": f"/users/{uuid.UUID(int=9)}", "body": {**body, "accountEnabled": "no"}})
    assert isinstance(result, Rejected)
    assert [error.loc for error in result.errors] == ["body.accountEnabled"]


def test_a_repeated_bare_line_is_valid_again_and_an_invalid_one_is_never_remembered() -> None:
    bad = orjson.dumps({**SEED_REQUEST, "activityDateTime": "yesterday"})
    for _ in range(2):
        assert isinstance(parse(bad), Rejected)  # refused each time: only valid bodies are remembered
        assert isinstance(parse(orjson.dumps(SEED_REQUEST)), Job)


# --- a line repeating the last valid body is parsed in part (worker.validate.repeat) ----------------------

BODY = orjson.dumps(SEED_REQUEST)
OTHER_BODY = orjson.dumps({**SEED_REQUEST, "action": "Other"})


def parsed_after(primer: bytes, line: bytes) -> Job | Rejected | None:
    """`line` parsed right after the valid envelope `primer` (which sets the remembered body); a Job's
    client-request-id blanked (each Job gets a fresh one)."""
    assert isinstance(parse(primer), Job)
    result = parse(line)
    return dataclasses.replace(result, client_request_id="") if isinstance(result, Job) else result


@pytest.mark.parametrize(
    "line",
    [
        b'{"jobId":"j2","tenant":"t-2","path":"/auditLogs/provisioning/o2","body":' + BODY + b"}",
        b'{"jobId":"j3","body":' + BODY + b"}",
        b'{"body":' + BODY + b"}",
        b'{"jobId":"j","jobId":"k","body":' + BODY + b"}",  # a duplicate key before the body
        b'{"body":{"action":"x"},"jobId":"j","body":' + BODY + b"}",  # "body" twice
        b'{"jobId":"j","extra":1,"body":' + BODY + b"}",
        b'{"jobId":"","tenant":"bad tenant!","body":' + BODY + b"}",
        b'{"jobId":"j","path":"/users/u1","body":' + BODY + b"}",  # valid for another model? no
        b'{"jobId":"j\\",\\"body\\":' + BODY.replace(b'"', b'\\"') + b'"}',  # the body inside a string
        b'{"jobId":"x\\"body":' + BODY + b"}",  # a key ending in body"
        b'{"x\\"body":' + BODY + b"}",  # a key ending in body": a bare body
        b'["body":' + BODY + b"}",
        b'{"jobId":"j",:"body":' + BODY + b"}",
        b'{"jobId":"j", "body":' + BODY + b"}",
        b'{"jobId":"j","body": ' + BODY + b"}",
        b'{"jobId":"j","body":' + BODY + b"}}",
        b'{"jobId":"j\xff","body":' + BODY + b"}",
        BODY,
        b'{"jobId":"' + b"j" * 300 + b'","body":' + BODY + b"}",
    ],
)
def test_a_line_repeating_the_last_valid_body_gets_what_a_full_parse_gives(line: bytes) -> None:
    primer = b'{"jobId":"j1","body":' + BODY + b"}"
    other = b'{"jobId":"j1","body":' + OTHER_BODY + b"}"  # remembers another body: the full parse runs
    assert parsed_after(primer, line) == parsed_after(other, line)


def test_a_repeated_body_is_sent_as_the_same_bytes_and_each_job_is_its_own() -> None:
    first = job(b'{"jobId":"a","body":' + BODY + b"}")
    second = job(b'{"jobId":"b","tenant":"t","path":"/auditLogs/provisioning/x","body":' + BODY + b"}")
    assert (second.job_id, second.tenant, second.path, second.line) == ("b", "t", "/auditLogs/provisioning/x", 7)
    assert second.body == first.body == BODY
    assert second.client_request_id != first.client_request_id
