"""`patch-worker run` (a real subprocess) with directory updates, against a small Graph stand-in on 127.0.0.1
that records what arrives: valid bodies reach it byte for byte, refused lines never leave the worker.

The emulator learns the directory routes on the scopes branch; the last test runs there once it does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from tests.conftest import read_results, run_args, run_cli, write_lines
from tests.models.directory_bodies import RESOURCES, UPN
from worker.emulator.resources import find_resource
from worker.emulator.running import RunningEmulator


@dataclass
class Recorder:
    """A Graph stand-in answering every PATCH 204 (as Graph does for directory objects), keeping each."""

    url: str = ""
    received: list[tuple[str, bytes]] = field(default_factory=list)

    async def patch(self, request: web.Request) -> web.Response:
        self.received.append((request.path, await request.read()))
        return web.Response(status=204)


@pytest.fixture
async def graph() -> AsyncIterator[Recorder]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("PATCH", "/{tail:.*}", recorder.patch)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recorder.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield recorder
    await runner.cleanup()


def _lines() -> list[object]:
    """A valid update per resource, then for each an unknown, a wrongly typed and a read-only property."""
    valid = [{"jobId": f"ok-{r.name}", "path": r.path, "body": r.valid} for r in RESOURCES]
    upn = {"jobId": "ok-upn", "path": f"/users/{UPN}", "body": {"jobTitle": "Controller"}}
    bad = []
    for r in RESOURCES:
        name, value, _, _ = r.wrong_type
        bad += [
            {"jobId": f"unknown-{r.name}", "path": r.path, "body": {r.unknown: "x"}},
            {"jobId": f"type-{r.name}", "path": r.path, "body": {name: value}},
            {"jobId": f"ro-{r.name}", "path": r.path, "body": {r.read_only: "x"}},
        ]
    return [*valid, upn, *bad]


@pytest.mark.parametrize("version", ["v1.0", "beta"])
async def test_valid_updates_arrive_unchanged_and_bad_ones_are_refused_by_line(
    graph: Recorder, token_env: dict[str, str], tmp_path: Path, version: str
) -> None:
    lines = _lines()
    source = write_lines(tmp_path / "in.jsonl", lines)
    results = tmp_path / "results.jsonl"
    base = f"{graph.url}/{version}"
    done = await run_cli(*run_args(source, base, results), env=token_env)
    assert done.code == 1, done.stderr  # some lines refused
    assert "Traceback" not in done.stderr
    sent = {(f"/{version}{r.path}", orjson.dumps(r.valid)) for r in RESOURCES}
    sent.add((f"/{version}/users/{UPN}", b'{"jobTitle":"Controller"}'))
    assert set(graph.received) == sent
    assert len(graph.received) == len(sent)
    rows = {row["jobId"]: row for row in read_results(results)}
    assert len(rows) == len(lines)
    for number, line in enumerate(lines, start=1):
        row = rows[line["jobId"]]  # type: ignore[index]
        assert row["line"] == number
        if row["jobId"].startswith("ok-"):
            assert (row["status"], row["httpStatus"]) == ("succeeded", 204), row
        else:
            assert row["status"] == "rejected", row
    for r in RESOURCES:
        name, _, inner, error_type = r.wrong_type
        assert _detail(rows[f"unknown-{r.name}"]) == [(f"body.{r.unknown}", "extra_forbidden")]
        assert _detail(rows[f"type-{r.name}"]) == [(f"body.{name}.{inner}".rstrip("."), error_type)]
        assert _detail(rows[f"ro-{r.name}"]) == [(f"body.{r.read_only}", "read_only")]


def _detail(row: dict[str, object]) -> list[tuple[str, str]]:
    error = row["error"]
    assert isinstance(error, dict)
    return [(item["loc"], item["type"]) for item in error["detail"]]


@pytest.mark.skipif(
    find_resource(f"/users/{UPN}") is None, reason="the emulator's directory routes come with the scopes branch"
)
async def test_directory_updates_through_the_emulator(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    lines = [{"jobId": r.name, "path": r.path, "body": r.valid} for r in RESOURCES]
    source = write_lines(tmp_path / "in.jsonl", lines)
    results = tmp_path / "results.jsonl"
    done = await run_cli(*run_args(source, emulator.base_url, results), env=token_env)
    assert done.code == 0, done.stderr
    assert {(r.path, r.raw_body) for r in emulator.requests()} == {(r.path, orjson.dumps(r.valid)) for r in RESOURCES}
    assert all(row["status"] == "succeeded" for row in read_results(results))
