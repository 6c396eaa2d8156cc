"""Redirects are never followed: a 3xx is a final failure naming the Location's host; nothing goes elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import Listening
from tests.hostile.helpers import run_measured


@pytest.mark.parametrize("batch_size", ["1", "2"])
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_redirect_to_another_host_is_a_final_failure(
    hostile: Listening, other: Listening, tmp_path: Path, code: int, batch_size: str
) -> None:
    done = await run_measured(tmp_path, f"{hostile.url}/redirect/{code}/other", 4, "--batch-size", batch_size)
    assert done.code == 1, done.stderr[-2000:]
    assert sorted(row["line"] for row in done.results) == [1, 2, 3, 4]
    other_host = other.url.removeprefix("http://")
    for row in done.results:
        assert row["status"] == "failed"
        assert row["httpStatus"] == code
        assert row["error"]["kind"] == "redirect"
        assert f"to host {other_host}:" in row["error"]["message"] + ":"
        assert row["attempts"] == 1
    assert other.server.seen == []  # nothing reached the other host
    assert "s3cr3t" not in (tmp_path / "results.jsonl").read_text() + done.stderr


@pytest.mark.parametrize("code", [302, 307, 308])
async def test_redirect_to_an_unapproved_path_on_the_same_host_is_not_followed(
    hostile: Listening, tmp_path: Path, code: int
) -> None:
    done = await run_measured(tmp_path, f"{hostile.url}/redirect/{code}/same", 3)
    assert sorted(row["line"] for row in done.results) == [1, 2, 3], done.stderr[-2000:]
    assert {row["error"]["kind"] for row in done.results} == {"redirect"}
    assert "another path on the same host" in done.results[0]["error"]["message"]
    assert not [seen for seen in hostile.server.seen if seen.path.startswith("/sink")]
