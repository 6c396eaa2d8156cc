"""Resume state: `--state DIR` keeps the input's fingerprint and, as the ledger, the results file.

Every job ends in exactly one final result line, so the results file already says which lines are finished.
A `not_sent` result (a systemic failure stopped the run before the line was sent) is not final: a later run
sends the line and appends its final result.
In state mode each result line is written with its own write(2), so a SIGKILL loses nothing that was
recorded; a crash can only cost the jobs in flight (sent, answer not yet recorded), which are sent again
on resume. Finished line numbers are kept in a bitmap: 1M lines cost 125 KB, not a set of a million ints.

    DIR/state.json     {"version", "input": {"path", "size", "sha256"}, "results"}
    DIR/results.jsonl  the results (unless --results names another file), appended on resume
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from worker.errors import ConfigError, OutputError

STATE_FILE = "state.json"
RESULTS_FILE = "results.jsonl"
VERSION = 1
NOT_SENT = "not_sent"  # the error kind of a line left unsent by a systemic stop (worker.send.systemic)


class LineBitmap:
    """A growable set of positive line numbers, one bit each."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, line: int) -> None:
        """Mark a line finished."""
        index, bit = divmod(line, 8)
        if index >= len(self._bits):
            self._bits.extend(bytes(index - len(self._bits) + 1024))
        self._bits[index] |= 1 << bit

    def __contains__(self, line: int) -> bool:
        index, bit = divmod(line, 8)
        return index < len(self._bits) and bool(self._bits[index] >> bit & 1)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What identifies an input: its size and the SHA-256 of its bytes."""

    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        """Hash a file in 1 MiB blocks (about a second per GB; memory stays flat)."""
        digest = hashlib.sha256()
        size = 0
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
                size += len(block)
        return cls(size, digest.hexdigest())


class Ledger:
    """What earlier runs with this state directory finished."""

    def __init__(self, state_dir: Path, results: Path) -> None:
        self.state_dir = state_dir
        self.results = results
        self.done = LineBitmap()
        self.previous: Counter[str] = Counter()

    @classmethod
    def open(cls, state_dir: Path, input_path: str, results: str | None) -> Ledger:
        """Create or reopen a state directory for `input_path`; refuse one made for another input."""
        if input_path == "-":
            raise ConfigError("--state needs an input file: stdin cannot be read again to resume")
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            fingerprint = Fingerprint.of(Path(input_path))
        except OSError as exc:
            raise OutputError(f"cannot use state directory {state_dir}: {exc.strerror or exc}") from None
        state_file = state_dir / STATE_FILE
        if state_file.exists():
            ledger = cls._reopen(state_dir, state_file, fingerprint, results)
            ledger._load()
            return ledger
        ledger = cls(state_dir, Path(results) if results else state_dir / RESULTS_FILE)
        ledger._write_state(state_file, input_path, fingerprint)
        return ledger

    @classmethod
    def _reopen(cls, state_dir: Path, state_file: Path, fingerprint: Fingerprint, results: str | None) -> Ledger:
        try:
            state: dict[str, Any] = orjson.loads(state_file.read_bytes())
            recorded = Fingerprint(int(state["input"]["size"]), str(state["input"]["sha256"]))
            recorded_results = Path(state["results"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{state_file} is not a patch-worker state file ({exc}); use another --state") from None
        if recorded != fingerprint:
            raise ConfigError(
                f"state directory {state_dir} belongs to another input ({state['input'].get('path')}, "
                f"{recorded.size} bytes); this input differs ({fingerprint.size} bytes). "
                "Use a new --state directory for a new input."
            )
        if results is not None and Path(results).resolve() != recorded_results.resolve():
            raise ConfigError(f"this state directory writes results to {recorded_results}, not {results}")
        return cls(state_dir, recorded_results)

    def _write_state(self, state_file: Path, input_path: str, fingerprint: Fingerprint) -> None:
        state = {
            "version": VERSION,
            "input": {"path": str(Path(input_path).resolve()), "size": fingerprint.size, "sha256": fingerprint.sha256},
            "results": str(self.results.resolve()),
        }
        temporary = state_file.with_suffix(".tmp")
        try:
            with temporary.open("wb") as out:
                out.write(orjson.dumps(state, option=orjson.OPT_INDENT_2))
                out.flush()
                os.fsync(out.fileno())
            temporary.replace(state_file)
        except OSError as exc:
            raise OutputError(f"cannot write {state_file}: {exc.strerror or exc}") from None

    def _load(self) -> None:
        """Read finished lines from the results; cut a partial last line left by a crash."""
        if not self.results.exists():
            return
        try:
            with self.results.open("r+b") as stream:
                good_end = 0
                for raw in stream:
                    if not raw.endswith(b"\n"):
                        break  # written halfway when the process died
                    self._count(raw)
                    good_end += len(raw)
                stream.truncate(good_end)
        except OSError as exc:
            raise OutputError(f"cannot read results {self.results}: {exc.strerror or exc}") from None

    def _count(self, raw: bytes) -> None:
        try:
            row = orjson.loads(raw)
            line, status = int(row["line"]), str(row["status"])
            error = row.get("error")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise ConfigError(f"{self.results} has a line that is not a result: {raw[:200]!r}") from None
        if isinstance(error, dict) and error.get("kind") == NOT_SENT:
            return  # not final: this run sends the line
        if line not in self.done:
            self.done.add(line)
            self.previous[status] += 1
