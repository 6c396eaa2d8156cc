"""The HTTP API of the embedded service, in-process, against the emulator."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import EXAMPLES
from tests.polling import eventually, until
from tests.service.helpers import (
    AUTH,
    NDJSON,
    assert_cancelled_results,
    numbered,
    results,
    service_settings,
    started,
    status,
    upload,
    wait_for_done,
    wait_for_state,
    wait_gone,
)
from worker.emulator.running import RunningEmulator
from worker.record.ledger import Ledger
from worker.service.batches import Batch, now
from worker.service.embedded.store import BatchStore


def leftovers(state: Path) -> list[Path]:
    """Every file the service keeps for batches (received bodies and batch folders)."""
    return [*(state / "uploads").rglob("*"), *(state / "batches").rglob("*")]


async def test_examples_batch_runs_to_one_result_per_line(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        created = await upload(client, EXAMPLES.read_bytes(), name="examples")
        assert created["state"] == "queued"
        done = await wait_for_state(client, created["id"])
        rows = await results(client, created["id"])
    assert done["state"] == "failed"  # some lines were rejected
    assert done["counts"] == {"succeeded": 5, "failed": 0, "rejected": 10}
    assert (done["total"], done["done"], done["progress"]) == (15, 15, 1.0)
    assert done["name"] == "examples"
    assert sorted(row["line"] for row in rows) == list(range(1, 16))
    assert Counter(row["status"] for row in rows) == {"succeeded": 5, "rejected": 10}
    assert len(emulator.requests(status=200)) == 5


async def test_all_valid_batch_succeeds(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        created = await upload(client, numbered(40))
        done = await wait_for_state(client, created["id"])
    assert done["state"] == "succeeded"
    assert done["counts"]["succeeded"] == 40


async def test_malformed_lines_are_accepted_and_rejected_one_by_one(emulator: RunningEmulator, tmp_path: Path) -> None:
    body = b'{"action": "Update"}\nnot json\n\n   \n[1, 2]\n{"action": 5}'  # no final newline
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        created = await upload(client, body)
        done = await wait_for_state(client, created["id"])
        rows = await results(client, created["id"])
    assert done["total"] == 4  # blank lines get no result
    assert {row["line"]: row["status"] for row in rows} == {1: "succeeded", 2: "rejected", 5: "rejected", 6: "rejected"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic c2VydmljZS1rZXk="}, {"Authorization": ""}],
    ids=["missing", "wrong", "other-scheme", "empty"],
)
async def test_requests_without_the_key_are_refused_and_change_nothing(
    emulator: RunningEmulator, tmp_path: Path, headers: dict[str, str]
) -> None:
    state = tmp_path / "state"
    async with started(service_settings(emulator.base_url, state)) as (_, client):
        async with client.post("/v1/batches", data=numbered(3), headers={**headers, **NDJSON}) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        for method, path in [("GET", "/v1/batches"), ("GET", "/v1/batches/" + "0" * 32), ("DELETE", "/v1/batches/x")]:
            async with client.request(method, path, headers=headers) as response:
                assert response.status == 401
                assert set((await response.json())["error"]) == {"code", "message"}
        async with client.get("/v1/batches", headers=AUTH) as response:
            assert (await response.json())["batches"] == []
    assert leftovers(state) == []
    assert emulator.requests() == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_over_the_limit_is_413_and_leaves_nothing(
    emulator: RunningEmulator, tmp_path: Path, chunked: bool
) -> None:
    state = tmp_path / "state"
    body = numbered(200)  # about 8 KB

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    async with started(service_settings(emulator.base_url, state, max_upload_bytes=4000)) as (_, client):
        data = chunks() if chunked else body
        async with client.post("/v1/batches", data=data, headers={**AUTH, **NDJSON}) as response:
            assert response.status == 413
            assert (await response.json())["error"]["code"] == "payload_too_large"
        async with client.get("/v1/batches", headers=AUTH) as response:
            assert (await response.json())["batches"] == []
        # a body at the limit is fine
        await upload(client, body[: body.rindex(b"\n", 0, 4000) + 1])
    assert [path.name for path in (state / "uploads").iterdir()] == []


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=x", None])
async def test_wrong_content_type_is_415(emulator: RunningEmulator, tmp_path: Path, content_type: str | None) -> None:
    state = tmp_path / "state"
    headers = dict(AUTH)
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with (
        started(service_settings(emulator.base_url, state)) as (_, client),
        client.post("/v1/batches", data=numbered(2), headers=headers) as response,
    ):
        assert response.status == 415
        assert (await response.json())["error"]["code"] == "unsupported_media_type"
    assert leftovers(state) == []


@pytest.mark.parametrize("content_type", ["application/jsonl", "text/plain; charset=utf-8"])
async def test_other_jsonl_content_types_are_accepted(
    emulator: RunningEmulator, tmp_path: Path, content_type: str
) -> None:
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        headers = {**AUTH, "Content-Type": content_type}
        async with client.post("/v1/batches", data=numbered(2), headers=headers) as response:
            assert response.status == 202


@pytest.mark.parametrize("body", [b"", b"\n\n  \n"], ids=["empty", "blank-lines"])
async def test_empty_body_is_400(emulator: RunningEmulator, tmp_path: Path, body: bytes) -> None:
    state = tmp_path / "state"
    async with (
        started(service_settings(emulator.base_url, state)) as (_, client),
        client.post("/v1/batches", data=body, headers={**AUTH, **NDJSON}) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "empty_batch"
    assert leftovers(state) == []


async def test_name_is_metadata_never_a_path(emulator: RunningEmulator, tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with started(service_settings(emulator.base_url, state)) as (_, client):
        created = await upload(client, numbered(1), name="../../escape")
        found = await status(client, created["id"])
    assert found["name"] == "../../escape"
    assert not (tmp_path / "escape").exists()
    assert sorted(path.name for path in (state / "batches").iterdir()) == [created["id"]]


async def test_unknown_or_malformed_ids_are_404(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        for path in ["/v1/batches/" + "a" * 32, "/v1/batches/..%2F..%2Fetc", "/v1/batches/" + "a" * 32 + "/results"]:
            async with client.get(path, headers=AUTH) as response:
                assert response.status == 404
                assert (await response.json())["error"]["code"] == "not_found"
        async with client.delete("/v1/batches/" + "b" * 32, headers=AUTH) as response:
            assert response.status == 404


async def test_cancel_stops_a_running_batch(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(latency_ms=200)
    settings = service_settings(emulator.base_url, tmp_path / "state")
    settings = settings.model_copy(update={"run": settings.run.model_copy(update={"concurrency": 2})})
    async with started(settings) as (_, client):
        created = await upload(client, numbered(100))
        await wait_for_state(client, created["id"], ("running",))

        async def some_answered() -> bool:
            return len(emulator.requests()) >= 2

        await until(some_answered, "sending")
        async with client.delete(created["links"]["self"], headers=AUTH) as response:
            assert response.status == 200
            answer = await response.json()
            assert (answer["state"], answer["finishedAt"]) == ("cancelling", None)  # in flight, counts not final
        await wait_for_state(client, created["id"], ("cancelled",))  # every line has its result: none in flight
        sent = len(emulator.requests())
        await asyncio.sleep(0.5)  # the behaviour under test: nothing is sent over a while
        assert len(emulator.requests()) == sent
        await wait_for_done(client, created["id"], 100)  # every line gets its result, sent or not
        found = await status(client, created["id"])
        assert found["state"] == "cancelled"
        assert found["finishedAt"] is not None
        assert 0 < found["counts"]["succeeded"] == len(emulator.requests()) < 100
        assert found["counts"]["failed"] == 100 - found["counts"]["succeeded"]
        assert_cancelled_results(await results(client, created["id"]), 100, sent)
        async with client.delete(created["links"]["self"], headers=AUTH) as response:
            assert response.status == 409
            assert (await response.json())["error"]["code"] == "conflict"


async def test_cancel_a_queued_batch(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(latency_ms=100)
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        first = await upload(client, numbered(20))
        second = await upload(client, numbered(5))  # max_parallel_batches is 1: this one waits
        assert (await status(client, second["id"]))["state"] == "queued"
        async with client.delete(second["links"]["self"], headers=AUTH) as response:
            assert response.status == 200
        assert (await wait_for_state(client, first["id"]))["state"] == "succeeded"
        await wait_for_done(client, second["id"], 5)
        found = await status(client, second["id"])
        rows = await results(client, second["id"])
    assert found["state"] == "cancelled"
    assert found["counts"] == {"succeeded": 0, "failed": 5, "rejected": 0}
    assert_cancelled_results(rows, 5, 0)
    assert len(emulator.requests()) == 20


async def test_parallel_batches(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(latency_ms=100)
    settings = service_settings(emulator.base_url, tmp_path / "state", max_parallel_batches=3)
    async with started(settings) as (_, client):
        created = [await upload(client, numbered(10)) for _ in range(3)]
        done = [await wait_for_state(client, batch["id"]) for batch in created]
    assert [batch["state"] for batch in done] == ["succeeded"] * 3
    assert max(batch["startedAt"] for batch in done) < min(batch["finishedAt"] for batch in done)  # all at once


async def test_list_is_paginated_newest_first(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        ids = [(await upload(client, numbered(1)))["id"] for _ in range(3)]
        async with client.get("/v1/batches", params={"limit": "2"}, headers=AUTH) as response:
            first = await response.json()
        async with client.get(first["next"], headers=AUTH) as response:
            second = await response.json()
        async with client.get("/v1/batches", params={"limit": "0"}, headers=AUTH) as response:
            assert response.status == 400
    assert [batch["id"] for batch in first["batches"]] == ids[::-1][:2]
    assert [batch["id"] for batch in second["batches"]] == ids[:1]
    assert second["next"] is None


async def test_health_readiness_and_metrics(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(retry_after="seconds")
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (service, client):
        async with client.get("/healthz") as response:
            assert response.status == 200
        async with client.get("/readyz") as response:
            assert response.status == 200
        created = await upload(client, EXAMPLES.read_bytes())
        await wait_for_state(client, created["id"])
        async with client.get("/metrics", headers=AUTH) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
        await service.drain()
        async with client.get("/readyz") as response:
            assert response.status == 503
        async with client.post("/v1/batches", data=numbered(1), headers={**AUTH, **NDJSON}) as response:
            assert response.status == 503
    assert 'patch_worker_jobs_total{status="succeeded"} 5.0' in text
    assert 'patch_worker_jobs_total{status="rejected"} 10.0' in text
    assert 'patch_worker_attempts_total{lane="contoso",scope="reports"} 1.0' in text
    assert "patch_worker_throttled_total" in text or "patch_worker_throttled" in text
    assert "patch_worker_jobs_in_flight 0.0" in text
    assert "patch_worker_job_duration_seconds_count 5.0" in text
    assert 'patch_worker_batches{state="failed"} 1.0' in text
    assert 'patch_worker_lane_effective_rate{lane="default",scope="reports"}' in text


async def test_throttling_is_counted_per_lane(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(error_rate=0.5, error_status=503, error_retry_after=0.01)  # 503 + Retry-After: throttled
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        created = await upload(client, numbered(4))
        done = await wait_for_state(client, created["id"])
        async with client.get("/metrics", headers=AUTH) as response:
            text = await response.text()
    assert done["state"] == "succeeded"
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("patch_worker_"))
    throttled = len(emulator.requests(status=503))
    assert throttled > 0
    assert float(samples['patch_worker_throttled_total{lane="default",scope="reports"}']) == throttled
    assert float(samples['patch_worker_attempts_total{lane="default",scope="reports"}']) == 4 + throttled
    assert 'patch_worker_lane_paced_rate{lane="default",scope="reports"}' in samples


async def test_unknown_route_and_method_are_json(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        async with client.get("/nope") as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "not_found"
        async with client.put("/v1/batches", headers=AUTH) as response:
            assert response.status == 405
            assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_results_stream_while_running(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(latency_ms=50)
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        created = await upload(client, numbered(200))
        await wait_for_state(client, created["id"], ("running",))
        partial: list[dict[str, Any]] = []

        async def some_results() -> bool:
            partial[:] = await results(client, created["id"])  # every line whole, even mid-write
            return bool(partial)

        await until(some_results, "writing results")
        await wait_for_state(client, created["id"])
        whole = await results(client, created["id"])
    assert 0 < len(partial) < 200
    assert sorted(row["line"] for row in whole) == list(range(1, 201))


async def test_client_disconnect_mid_upload_leaves_nothing(emulator: RunningEmulator, tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with started(service_settings(emulator.base_url, state)) as (service, client):
        reader, writer = await asyncio.open_connection("127.0.0.1", int(service.url.rsplit(":", 1)[1]))
        writer.write(
            b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: "
            + AUTH["Authorization"].encode()
            + b"\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n"
            + numbered(10)
        )
        await writer.drain()

        async def receiving() -> bool:
            return len(list((state / "uploads").iterdir())) == 1

        await until(receiving, "receiving the upload")
        writer.close()
        await writer.wait_closed()
        del reader
        await eventually(lambda: not list((state / "uploads").iterdir()), "the partial upload deleted", timeout=2.5)
        async with client.get("/v1/batches", headers=AUTH) as response:
            assert (await response.json())["batches"] == []
    assert list((state / "uploads").iterdir()) == []


async def test_drain_takes_the_grace_period_even_when_lanes_are_full(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(latency_ms=5000)  # every request hangs; the lane's queue fills and the reader waits
    settings = service_settings(emulator.base_url, tmp_path / "state")
    settings = settings.model_copy(update={"run": settings.run.model_copy(update={"concurrency": 2, "grace_s": 0.5})})
    async with started(settings) as (service, client):
        created = await upload(client, numbered(1000))

        async def lanes_full() -> bool:  # both requests in flight (they hang), the other lines queued behind
            async with client.get("/metrics", headers=AUTH) as response:
                return "patch_worker_jobs_in_flight 2.0" in await response.text()

        await until(lanes_full, "two requests in flight")
        began = asyncio.get_running_loop().time()
        await service.drain()
        took = asyncio.get_running_loop().time() - began
        found = await status(client, created["id"])
    assert took < 2.0  # the grace period (0.5 s), not the 5 s requests
    assert found["state"] == "interrupted"


async def test_a_cancelled_batch_left_without_all_results_gets_them_at_the_next_start(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    # what a stop in the middle of the cancelled-lines pass leaves: a cancelled batch, 1 of its 4 results
    store = BatchStore(tmp_path / "state")
    await store.open()
    moment = now()
    batch_id = "c" * 32
    await store.insert(Batch(id=batch_id, state="cancelled", created=moment, updated=moment, total=4))
    store.batch_dir(batch_id).mkdir(parents=True)
    store.input_path(batch_id).write_bytes(numbered(3) + b"not json\n")
    Ledger.open(store.batch_dir(batch_id), str(store.input_path(batch_id)), None)  # as its first run did
    (store.batch_dir(batch_id) / "results.jsonl").write_bytes(
        orjson.dumps(
            {
                "jobId": "1",
                "line": 1,
                "status": "succeeded",
                "httpStatus": 204,
                "attempts": 1,
                "elapsedMs": 1.0,
                "clientRequestId": "x",
                "error": None,
            }
        )
        + b"\n"
    )
    await store.close()
    async with started(service_settings(emulator.base_url, tmp_path / "state")) as (_, client):
        await wait_for_done(client, batch_id, 4)
        found = await status(client, batch_id)
        rows = {row["line"]: row for row in await results(client, batch_id)}
    assert found["state"] == "cancelled"
    assert found["counts"] == {"succeeded": 1, "failed": 2, "rejected": 1}
    assert sorted(rows) == [1, 2, 3, 4]
    assert [rows[line]["error"]["kind"] for line in (2, 3)] == ["cancelled", "cancelled"]
    assert rows[4]["status"] == "rejected"  # a bad line still gets its rejection, with line and reason
    assert emulator.requests() == []  # nothing is sent for a cancelled batch


async def test_finished_batches_are_deleted_after_the_retention(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(latency_ms=200)
    settings = service_settings(emulator.base_url, tmp_path / "state", retention_s=0.4, max_parallel_batches=2)
    settings = settings.model_copy(update={"run": settings.run.model_copy(update={"concurrency": 1})})
    async with started(settings) as (_, client):
        short = await upload(client, numbered(2))
        assert (await wait_for_state(client, short["id"]))["state"] == "succeeded"
        long = await upload(client, numbered(30))  # 6 s at one request of 200 ms at a time
        await wait_gone(client, short["id"])
        still = await status(client, long["id"])
        async with client.get("/v1/batches", headers=AUTH) as response:
            listed = [batch["id"] for batch in (await response.json())["batches"]]
        async with client.get(short["links"]["results"], headers=AUTH) as response:
            results_status = response.status
    assert still["state"] == "running"  # an unfinished batch is never pruned, however old
    assert listed == [long["id"]]
    assert results_status == 404
    assert not (tmp_path / "state" / "batches" / short["id"]).exists()
    assert (tmp_path / "state" / "batches" / long["id"]).exists()
