"""Redirects are never followed: a 3xx is a final failure naming the Location's host; nothing goes elsewhere."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.hostile.conftest import Listening
from tests.hostile.helpers import run_measured

CODES = (301, 302, 303, 307, 308)


@pytest.mark.parametrize("batch_size", [1, 2])
async def test_redirect_to_another_host_is_a_final_failure(
    hostile: Listening, other: Listening, tmp_path: Path, batch_size: int
) -> None:
    # one run: each request (a PATCH, or a $batch of 2) is answered the next of the five codes in turn
    lines = len(CODES) * batch_size
    url = f"{hostile.url}/redirect/{','.join(map(str, CODES))}/other"
    done = await run_measured(tmp_path, url, lines, "--batch-size", str(batch_size))
    assert done.code == 1, done.stderr[-2000:]
    assert sorted(row["line"] for row in done.results) == list(range(1, lines + 1))
    assert Counter(row["httpStatus"] for row in done.results) == dict.fromkeys(CODES, batch_size)  # each code
    other_host = other.url.removeprefix("http://")
    for row in done.results:
        assert row["status"] == "failed"
        assert row["error"]["kind"] == "redirect"
        assert f"to host {other_host}:" in row["error"]["message"] + ":"
        assert row["attempts"] == 1
    assert other.server.seen == []  # nothing reached the other host
    assert "s3cr3t" not in (tmp_path / "results.jsonl").read_text() + done.stderr


async def test_redirect_to_an_unapproved_path_on_the_same_host_is_not_followed(
    hostile: Listening, tmp_path: Path
) -> None:
    codes = (302, 307, 308)  # one run, each request answered the next of them
    done = await run_measured(tmp_path, f"{hostile.url}/redirect/{','.join(map(str, codes))}/same", len(codes))
    assert sorted(row["line"] for row in done.results) == [1, 2, 3], done.stderr[-2000:]
    assert sorted(row["httpStatus"] for row in done.results) == list(codes)
    assert {row["error"]["kind"] for row in done.results} == {"redirect"}
    assert all("another path on the same host" in row["error"]["message"] for row in done.results)
    assert not [seen for seen in hostile.server.seen if seen.path.startswith("/sink")]
