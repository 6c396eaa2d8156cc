"""The resume ledger: fingerprint, finished lines from the results file, crash leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.errors import ConfigError
from worker.record.ledger import Ledger, LineBitmap


def test_bitmap_holds_line_numbers() -> None:
    done = LineBitmap()
    for line in (1, 8, 9, 1_000_000):
        done.add(line)
    assert all(line in done for line in (1, 8, 9, 1_000_000))
    assert not any(line in done for line in (0, 2, 7, 10, 999_999, 5_000_000))


def test_new_state_then_resume_reads_finished_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"action": "a"}\n{"action": "b"}\n{"action": "c"}\n')
    ledger = Ledger.open(tmp_path / "state", str(source), None)
    assert ledger.results == tmp_path / "state" / "results.jsonl"
    ledger.results.write_text(
        '{"jobId":"1","line":1,"status":"succeeded"}\n{"jobId":"3","line":3,"status":"failed"}\n{"jobId":"2","li'
    )
    again = Ledger.open(tmp_path / "state", str(source), None)
    assert 1 in again.done
    assert 3 in again.done
    assert 2 not in again.done  # its line was cut halfway by the crash
    assert again.previous == {"succeeded": 1, "failed": 1}
    assert again.results.read_text().endswith('"failed"}\n')  # the partial line is gone


def test_another_input_is_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text('{"action": "a"}\n')
    second.write_text('{"action": "b"}\n')
    Ledger.open(tmp_path / "state", str(first), None)
    with pytest.raises(ConfigError, match="belongs to another input"):
        Ledger.open(tmp_path / "state", str(second), None)


def test_stdin_cannot_be_resumed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="stdin"):
        Ledger.open(tmp_path / "state", "-", None)


def test_results_elsewhere_are_remembered(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"action": "a"}\n')
    Ledger.open(tmp_path / "state", str(source), str(tmp_path / "out.jsonl"))
    assert Ledger.open(tmp_path / "state", str(source), None).results == tmp_path / "out.jsonl"
    with pytest.raises(ConfigError, match="writes results to"):
        Ledger.open(tmp_path / "state", str(source), str(tmp_path / "other.jsonl"))
