"""The $batch wire format: bodies spliced in unchanged, every item's answer mapped back by id."""

from __future__ import annotations

import orjson

from worker.answers import Answer
from worker.errors import AuthError, PermanentError, ServerError, ThrottledError
from worker.jobs import Job
from worker.send.json_batch import decode_batch, encode_batch


def job(index: int, body: bytes = b'{"action": "Update", "statusInfo": null}') -> Job:
    return Job(f"j{index}", index, "t", f"/auditLogs/provisioning/id-{index}", body, f"crid-{index}")


def test_encode_keeps_bodies_and_request_ids() -> None:
    jobs = [job(0), job(1, b'{"durationInMilliseconds": 6}')]
    decoded = orjson.loads(encode_batch(jobs))
    assert decoded["requests"] == [
        {
            "id": "0",
            "method": "PATCH",
            "url": "/auditLogs/provisioning/id-0",
            "headers": {"Content-Type": "application/json", "client-request-id": "crid-0"},
            "body": {"action": "Update", "statusInfo": None},
        },
        {
            "id": "1",
            "method": "PATCH",
            "url": "/auditLogs/provisioning/id-1",
            "headers": {"Content-Type": "application/json", "client-request-id": "crid-1"},
            "body": {"durationInMilliseconds": 6},
        },
    ]


def test_decode_maps_mixed_items_by_id_in_any_order() -> None:
    raw = orjson.dumps(
        {
            "responses": [
                {"id": "3", "status": 503, "headers": {}, "body": {"error": {"code": "ServiceUnavailable"}}},
                {"id": "0", "status": 200, "headers": {"x-ms-throttle-limit-percentage": "0.9"}, "body": {}},
                {"id": "1", "status": 429, "headers": {"retry-after": "2.128"}, "body": {"error": {"code": "TooMany"}}},
                {"id": "2", "status": 400, "body": {"error": {"code": "BadRequest", "message": "bad"}}},
                {"id": "4", "status": 401, "body": None},
                {"id": "5", "status": 424, "body": {"error": {"code": "FailedDependency"}}},
            ]
        }
    )
    results = decode_batch(raw, 7)
    assert isinstance(results[0], Answer)
    assert results[0].throttle_percent == 0.9
    assert isinstance(results[1], ThrottledError)
    assert results[1].retry_after == 2.128
    assert isinstance(results[2], PermanentError)
    assert results[2].code == "BadRequest"
    assert isinstance(results[3], ServerError)
    assert isinstance(results[4], AuthError)
    assert isinstance(results[5], ServerError)  # 424: not run because another item failed: retry
    assert isinstance(results[6], ServerError)  # no answer at all for item 6
    assert "no answer" in results[6].message


def test_unreadable_envelope_fails_every_item_retryably() -> None:
    results = decode_batch(b"<html>oops</html>", 3)
    assert len(results) == 3
    assert all(isinstance(r, ServerError) for r in results)
