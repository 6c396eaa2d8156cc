"""`patch-worker run` stops at once on a systemic failure (exit 2), and a `--state` rerun sends exactly the rest."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from tests.conftest import TOKEN, read_results, run_args, run_cli, write_lines
from worker.emulator.running import RunningEmulator
from worker.send.systemic import FORBIDDEN_AFTER

WRONG_TOKEN = "wrong-token-8c2e51d0"  # a token the emulator does not accept
IN_FLIGHT = 32  # run.concurrency: the most requests that can be out when the first 401 comes back


def numbered(count: int, *, bad_every: int = 0) -> list[Any]:
    """Bare bodies whose jobId names the line at the emulator; every `bad_every`-th line is not JSON."""
    return [
        "{not json" if bad_every and line % bad_every == 0 else {"jobId": f"line-{line}", "action": "Update"}
        for line in range(1, count + 1)
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def summary_of(stdout: str) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(stdout.strip().splitlines()[-1])
    return parsed


def final_results(path: Path) -> dict[int, dict[str, Any]]:
    """Each line's final result; fails on two final results for one line."""
    final: dict[int, dict[str, Any]] = {}
    for row in read_results(path):
        if row["error"] is not None and row["error"]["kind"] == "not_sent":
            continue
        assert row["line"] not in final, f"two final results for line {row['line']}"
        final[row["line"]] = row
    return final


def assert_not_sent(row: dict[str, Any], cause: str) -> None:
    assert (row["status"], row["httpStatus"], row["attempts"]) == ("failed", None, 0), row
    assert row["error"]["kind"] == "not_sent"
    assert cause in row["error"]["message"]


async def test_a_wrong_static_token_stops_at_once_and_a_state_rerun_sends_exactly_the_rest(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", numbered(2000, bad_every=500))
    state = tmp_path / "state"
    args = ("run", str(source), "--state", str(state), "--base-url", emulator.base_url, "--no-progress")
    started = time.monotonic()
    done = await run_cli(*args, env={"GRAPH_TOKEN": WRONG_TOKEN})
    elapsed = time.monotonic() - started

    assert done.code == 2, done.stderr
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"
    answered_401 = emulator.requests(status=401)
    assert 1 <= len(answered_401) <= IN_FLIGHT
    assert len(emulator.requests()) == len(answered_401)
    stopped = [line for line in done.stderr.splitlines() if line.startswith("patch-worker: stopped:")]
    assert len(stopped) == 1
    assert "'default'" in stopped[0]
    assert "401" in stopped[0]
    rows = read_results(state / "results.jsonl")
    assert sorted(row["line"] for row in rows) == list(range(1, 2001))  # one result per line
    everything = done.stdout + done.stderr + (state / "results.jsonl").read_text()
    assert WRONG_TOKEN not in everything
    rejected = [row for row in rows if row["status"] == "rejected"]
    assert [row["line"] for row in rejected] == [500, 1000, 1500, 2000]  # read on: bad lines still rejected
    unsent = {row["line"] for row in rows if row["error"] and row["error"]["kind"] == "not_sent"}
    for row in rows:
        if row["line"] in unsent:
            assert_not_sent(row, "Graph refused its token")
    assert len(unsent) == 2000 - 4 - len(answered_401)
    summary = summary_of(done.stdout)
    assert summary["notSent"] == len(unsent)
    assert "'default'" in summary["stoppedBy"]

    emulator.reset()
    emulator.config.update({"accepted_tokens": frozenset({TOKEN, WRONG_TOKEN})})  # "fixed"
    again = await run_cli(*args, env={"GRAPH_TOKEN": WRONG_TOKEN})

    assert again.code == 1, again.stderr  # the 401s of the first run and the rejected lines stay
    sent_again = {int(request.body["jobId"].removeprefix("line-")) for request in emulator.requests()}
    assert sent_again == unsent
    assert len(emulator.requests()) == len(unsent)  # each once
    final = final_results(state / "results.jsonl")
    assert sorted(final) == list(range(1, 2001))
    assert all(final[line]["status"] == "succeeded" for line in unsent)
    assert summary_of(again.stdout)["stoppedBy"] is None


async def test_a_base_url_where_nothing_listens_stops_within_seconds_naming_the_host(
    tmp_path: Path, token_env: dict[str, str]
) -> None:
    port = free_port()
    source = write_lines(tmp_path / "in.jsonl", numbered(2000))
    results = tmp_path / "results.jsonl"
    started = time.monotonic()
    done = await run_cli(
        "run",
        str(source),
        "--base-url",
        f"http://127.0.0.1:{port}/beta",
        "--results",
        str(results),
        "--no-progress",
        env=token_env,
    )
    elapsed = time.monotonic() - started

    assert done.code == 2, done.stderr
    assert elapsed < 10, f"took {elapsed:.1f} s to stop"
    (stopped,) = [line for line in done.stderr.splitlines() if line.startswith("patch-worker: stopped:")]
    assert f"127.0.0.1:{port}" in stopped
    rows = read_results(results)
    assert sorted(row["line"] for row in rows) == list(range(1, 2001))
    for row in rows:
        assert row["status"] == "failed"
        assert row["error"]["kind"] == "not_sent", row
        assert row["httpStatus"] is None
    assert sum(row["attempts"] == 0 for row in rows) >= 2000 - IN_FLIGHT  # at most the first wave was tried


@pytest.fixture
async def forbidding_graph() -> AsyncIterator[tuple[str, list[str]]]:
    """A Graph stand-in that answers 403 (missing permission) to every PATCH; and the paths it was sent."""
    seen: list[str] = []

    async def patch(request: web.Request) -> web.Response:
        seen.append(request.path)
        error = {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}
        return web.json_response({"error": error}, status=403)

    app = web.Application()
    app.router.add_route("PATCH", "/{tail:.*}", patch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/beta", seen
    finally:
        await runner.cleanup()


async def test_a_lane_where_every_answer_is_403_stops_naming_the_tenant(
    forbidding_graph: tuple[str, list[str]], tmp_path: Path, token_env: dict[str, str]
) -> None:
    base_url, seen = forbidding_graph
    lines = [{"jobId": f"j{i}", "tenant": "contoso", "body": {"action": "Update"}} for i in range(500)]
    source = write_lines(tmp_path / "in.jsonl", lines)
    results = tmp_path / "results.jsonl"
    done = await run_cli(*run_args(source, base_url, results), "--no-progress", env=token_env)

    assert done.code == 2, done.stderr
    (stopped,) = [line for line in done.stderr.splitlines() if line.startswith("patch-worker: stopped:")]
    assert "'contoso'" in stopped
    assert "403" in stopped
    assert len(seen) <= IN_FLIGHT + FORBIDDEN_AFTER - 1  # answers before the 5th 403 free slots for a few more
    rows = read_results(results)
    assert len(rows) == 500
    assert sum(row["httpStatus"] == 403 for row in rows) == len(seen)
    assert sum(row["error"]["kind"] == "not_sent" for row in rows) == 500 - len(seen)
