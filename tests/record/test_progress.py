"""The progress bar counts jobs: its total comes from the input's lines, estimated until read through."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_lines
from worker.jobs import FieldError, Outcome, Rejected
from worker.record.progress import expected_lines, frame_fields
from worker.record.summary import LaneStatus, RunSummary
from worker.sources import jsonl
from worker.sources.jsonl import JsonlSource


def _rejected(line: int) -> Outcome:
    error = FieldError(loc="", message="bad", type="bad")
    return Outcome.rejected(Rejected(job_id=str(line), line=line, kind="validation", message="bad", errors=(error,)))


async def test_total_is_estimated_from_the_bytes_read_then_exact(tmp_path: Path) -> None:
    count = 3 * jsonl.CHUNK_BYTES // 40  # about three chunks of reading
    path = write_lines(tmp_path / "in.jsonl", [{"action": "Update", "n": n} for n in range(count)])
    source = JsonlSource(str(path))
    try:
        assert expected_lines(source) is None  # nothing read yet: unknown, not 0 and not 100 %
        lines = source.lines()
        await anext(lines)  # the first chunk is read: part of the file
        estimate = expected_lines(source)
        assert estimate is not None
        assert source.lines_read < count
        assert abs(estimate - count) < count / 10
        async for _ in lines:
            pass
        assert expected_lines(source) == count
    finally:
        source.close()


async def test_frame_counts_jobs_rate_429s_and_paused_lanes(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", ["[]"] * 3)
    source = JsonlSource(str(path))
    async for _ in source.lines():
        pass
    summary = RunSummary()
    for line in (1, 2):
        summary.add(_rejected(line))
    frame = frame_fields(summary, source, LaneStatus(throttled=7, paused=("contoso",)))
    assert (frame.done, frame.total) == (2, 3)
    assert frame.text.startswith("2/3 jobs")
    assert "rejected 2" in frame.text
    assert "429s 7" in frame.text
    assert "paused: contoso" in frame.text
    source.close()


def test_stdin_has_no_total() -> None:
    assert jsonl.JsonlSource("-").total_bytes is None
