"""Hostile inputs through the real CLI: a truncated gzip, a gzip bomb of newlines."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from tests.conftest import read_results, run_args, run_cli
from tests.sources.test_jsonl import newline_bomb
from worker.emulator.running import RunningEmulator
from worker.sources.jsonl import CHUNK_BYTES

#: Long lines (about 190 bytes): a read of CHUNK_BYTES holds some 5,500 of them, so a truncated input sends
#: thousands of jobs before its error, not tens of thousands.
PAD = "x" * 150


def truncated_gzip(path: Path, count: int, keep: float) -> Path:
    data = b"".join(orjson.dumps({"jobId": f"job-{i}-{PAD}", "action": "Update"}) + b"\n" for i in range(count))
    packed = gzip.compress(data)
    path.write_bytes(packed[: int(len(packed) * keep)])
    return path


async def test_a_truncated_gzip_records_every_job_sent_before_exit_2(
    emulator: RunningEmulator, tmp_path: Path, token_env: dict[str, str]
) -> None:
    emulator.config.update({"latency_ms": 5})
    source = truncated_gzip(tmp_path / "in.jsonl.gz", 14_000, 0.6)
    readable = 0.6 * 14_000 * 190
    assert CHUNK_BYTES < readable < 2 * CHUNK_BYTES  # one whole read, then the error, jobs queued and in flight
    results = tmp_path / "results.jsonl"
    done = await run_cli(
        *run_args(source, emulator.base_url, results),
        "--no-progress",
        "--concurrency",
        "32",
        env=token_env,
        timeout=120,
    )
    assert done.code == 2, done.stderr
    assert "cannot read" in done.stderr
    assert "after line" in done.stderr
    assert "Traceback" not in done.stderr
    rows = read_results(results)
    lines = [row["line"] for row in rows]
    assert len(lines) == len(set(lines)) > 1000  # one result per line
    received = {request.client_request_id for request in emulator.recorder.requests()}
    recorded = {row["clientRequestId"] for row in rows}
    assert received - recorded == set(), [row for row in rows if row["status"] != "succeeded"][:5]  # all have results


async def test_a_gzip_bomb_is_refused_with_exit_2(
    emulator: RunningEmulator, tmp_path: Path, token_env: dict[str, str]
) -> None:
    source = newline_bomb(tmp_path / "bomb.jsonl.gz", 64)
    done = await run_cli(
        "run",
        str(source),
        "--base-url",
        emulator.base_url,
        "--results",
        str(tmp_path / "r.jsonl"),
        "--no-progress",
        env=token_env,
        timeout=60,
    )
    assert done.code == 2, done.stderr
    assert "inflates more than 500 times" in done.stderr
    assert "Traceback" not in done.stderr
