"""Bodies too large or too slow: read under a size cap (decompressed bytes) and one deadline, RSS bounded.

Peak RSS is the CLI child's own (its VmHWM, see `helpers.PEAK_RSS`), for 3 jobs each answered by the hostile body.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import Listening
from tests.hostile.helpers import run_measured

MAX_RSS_MB = 200
MAX_LINE_BYTES = 16 * 1024  # a result line or a log line: message (4 KB) + detail (8 KB) + the rest


def _line_lengths(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


@pytest.mark.parametrize(
    ("kind", "batch_size"),
    [
        ("ok-50mb", "1"),
        ("ok-bomb", "1"),
        ("error-50mb", "1"),
        ("error-bomb", "1"),
        ("error-50mb", "3"),
        ("error-bomb", "3"),
    ],
)
async def test_a_huge_body_is_cut_at_the_cap_and_memory_stays_bounded(
    hostile: Listening, tmp_path: Path, kind: str, batch_size: str
) -> None:
    done = await run_measured(tmp_path, f"{hostile.url}/big/{kind}", 3, "--batch-size", batch_size, timeout=90)
    print(f"{kind}: peak RSS {done.peak_rss_mb:.0f} MB, {done.elapsed_s:.1f} s")
    assert sorted(row["line"] for row in done.results) == [1, 2, 3], done.stderr[-2000:]
    expected = "succeeded" if kind.startswith("ok") else "failed"
    assert {row["status"] for row in done.results} == {expected}
    if expected == "failed":
        assert all("cut" in row["error"]["message"] for row in done.results)
    assert _line_lengths((tmp_path / "results.jsonl").read_text()) < MAX_LINE_BYTES
    assert _line_lengths(done.stderr) < MAX_LINE_BYTES
    assert done.peak_rss_mb < MAX_RSS_MB


async def test_a_batch_answer_over_the_cap_is_retried_then_failed(hostile: Listening, tmp_path: Path) -> None:
    env = {"PATCH_WORKER_RETRY__MAX_ATTEMPTS": "2", "PATCH_WORKER_RETRY__BACKOFF_MAX_S": "0.1"}
    done = await run_measured(tmp_path, f"{hostile.url}/big/ok-bomb", 4, "--batch-size", "4", env=env, timeout=90)
    assert sorted(row["line"] for row in done.results) == [1, 2, 3, 4], done.stderr[-2000:]
    for row in done.results:
        assert row["status"] == "failed"
        assert row["error"]["kind"] == "malformed_response"
        assert "over 524288 bytes" in row["error"]["message"]
    assert done.peak_rss_mb < MAX_RSS_MB


async def test_a_dripping_body_times_out_within_read_timeout(hostile: Listening, tmp_path: Path) -> None:
    env = {
        "PATCH_WORKER_GRAPH__READ_TIMEOUT_S": "2",
        "PATCH_WORKER_RETRY__MAX_ATTEMPTS": "2",
        "PATCH_WORKER_RETRY__BACKOFF_MAX_S": "0.1",
    }
    done = await run_measured(tmp_path, f"{hostile.url}/drip", 2, env=env, timeout=60)
    assert sorted(row["line"] for row in done.results) == [1, 2], done.stderr[-2000:]
    for row in done.results:
        assert row["status"] == "failed"
        assert row["error"]["kind"] == "transport_error"
        assert row["attempts"] == 2
    assert done.elapsed_s < 20  # two attempts of 2 s each, not 100 s of dripping


@pytest.mark.parametrize("batch_size", ["1", "2"])
async def test_dripping_headers_time_out_too(header_drip: str, tmp_path: Path, batch_size: str) -> None:
    env = {
        "PATCH_WORKER_GRAPH__CONNECT_TIMEOUT_S": "0.5",
        "PATCH_WORKER_GRAPH__READ_TIMEOUT_S": "1",  # five times the drip's 0.2 s between bytes
        "PATCH_WORKER_RETRY__MAX_ATTEMPTS": "2",
        "PATCH_WORKER_RETRY__BACKOFF_MAX_S": "0.1",
    }
    done = await run_measured(tmp_path, header_drip + "/beta", 2, "--batch-size", batch_size, env=env, timeout=60)
    assert sorted(row["line"] for row in done.results) == [1, 2], done.stderr[-2000:]
    assert {row["error"]["kind"] for row in done.results} == {"transport_error"}
    assert done.elapsed_s < 20  # two attempts of 1.5 s each, not for ever
