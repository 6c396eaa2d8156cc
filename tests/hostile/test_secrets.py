"""A server that echoes the request's headers and token back: the token reaches no result and no log line."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.hostile.conftest import Listening
from tests.hostile.helpers import run_measured

# base64url-ish, with the characters URL-encoding and JSON escaping change
SECRET_TOKEN = "eyJ0eXAiOiJKV1Qi.s3cr+t/t0ken=4f1c9a"


def forms(token: str) -> list[str]:
    """Every way the token may be written out."""
    return [token, quote(token, safe=""), quote_plus(token), token.replace("/", "\\/"), "s3cr+t/t0ken"]


@pytest.mark.parametrize("status", [400, 401])
@pytest.mark.parametrize("batch_size", ["1", "3"])
async def test_an_echoed_token_is_written_nowhere(
    hostile: Listening, tmp_path: Path, status: int, batch_size: str
) -> None:
    done = await run_measured(
        tmp_path,
        f"{hostile.url}/echo/{status}",
        3,
        "--batch-size",
        batch_size,
        "--log-level",
        "debug",
        env={"GRAPH_TOKEN": SECRET_TOKEN},
    )
    assert done.code == (2 if status == 401 else 1), done.stderr[-2000:]  # a refused token stops the run
    assert sorted(row["line"] for row in done.results) == [1, 2, 3]
    assert all(seen.authorization == f"Bearer {SECRET_TOKEN}" for seen in hostile.server.seen)  # it was echoed
    written = (tmp_path / "results.jsonl").read_text() + done.stderr
    assert "[redacted]" in written
    for form in forms(SECRET_TOKEN):
        assert form not in written, form
