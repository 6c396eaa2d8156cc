"""The JSONL source: line numbers, chunk boundaries, gzip, oversized lines, a missing final newline."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

from worker.errors import InputError
from worker.sources import jsonl
from worker.sources.jsonl import OVERSIZED, JsonlSource


async def collect(source: JsonlSource) -> list[tuple[int, bytes]]:
    try:
        return [item async for item in source.lines()]
    finally:
        source.close()


async def test_lines_are_numbered_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "CHUNK_BYTES", 7)  # every line crosses a chunk boundary
    lines = [b'{"a": %d}' % i for i in range(50)] + [b"", b'{"last": true}']
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    got = await collect(JsonlSource(str(path)))
    assert got == [(n, line) for n, line in enumerate(lines, start=1) if line]  # blank lines are left out


async def test_final_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": 2}')
    assert await collect(JsonlSource(str(path))) == [(1, b'{"a": 1}'), (2, b'{"a": 2}')]


@pytest.mark.parametrize("chunk", [5, 64, 1 << 20])
async def test_oversized_lines_are_reported_once_and_numbering_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(jsonl, "CHUNK_BYTES", chunk)
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\n' + b"x" * 500 + b"\n" + b'{"a": 3}\n' + b"y" * 300)
    got = await collect(JsonlSource(str(path), max_line_bytes=100))
    assert got == [(1, b'{"a": 1}'), (2, OVERSIZED), (3, b'{"a": 3}'), (4, OVERSIZED)]


async def test_gzip_by_suffix(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    source = JsonlSource(str(path))
    size = path.stat().st_size
    lines = [item async for item in source.lines()]
    assert source.bytes_read == size
    source.close()
    assert lines == [(1, b'{"a": 1}'), (2, b'{"a": 2}')]


async def test_corrupt_gzip_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="cannot read"):
        await collect(JsonlSource(str(path)))


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open input"):
        JsonlSource(str(tmp_path / "missing.jsonl"))


async def test_blank_lines_are_counted_not_yielded(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'\n \t\n{"a": 1}\n\r\n\n{"a": 2}\n   ')
    assert await collect(JsonlSource(str(path))) == [(3, b'{"a": 1}'), (6, b'{"a": 2}')]


@pytest.mark.parametrize("chunk", [5, 1 << 20])
async def test_an_oversized_whitespace_line_is_still_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(jsonl, "CHUNK_BYTES", chunk)
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\n' + b" " * 500 + b"\n\n" + b'{"a": 4}\n')
    got = await collect(JsonlSource(str(path), max_line_bytes=100))
    assert got == [(1, b'{"a": 1}'), (2, OVERSIZED), (4, b'{"a": 4}')]


def newline_bomb(path: Path, mib: int) -> Path:
    """`mib` MiB of newlines, gzipped (about 1000x smaller), written without holding it all."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(mib):
            out.write(b"\n" * (1 << 20))
    return path


async def test_a_gzip_bomb_is_refused_early(tmp_path: Path) -> None:
    path = newline_bomb(tmp_path / "bomb.jsonl.gz", 64)
    assert path.stat().st_size < 200_000
    source = JsonlSource(str(path))
    started = time.process_time()
    with pytest.raises(InputError, match=r"inflates more than 500 times .*run\.max_decompressed_ratio"):
        await collect(source)
    assert time.process_time() - started < 5  # stopped after ~16 MiB, not after 64
    assert source.bytes_read < 100_000


async def test_without_the_ratio_cap_blank_lines_are_cheap(tmp_path: Path) -> None:
    path = newline_bomb(tmp_path / "bomb.jsonl.gz", 64)
    started = time.process_time()
    got = await collect(JsonlSource(str(path), max_decompressed_ratio=0))
    assert got == []
    assert time.process_time() - started < 15  # was 63 s of CPU: one pipeline trip per empty line


@pytest.mark.parametrize("chunk", [1, 4, 1 << 20])
async def test_runs_of_empty_lines_keep_the_numbering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(jsonl, "CHUNK_BYTES", chunk)
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n" * 8 + b'{"a": 9}\n' + b"\n" * 5 + b'{"a"' + b": 15}\n\n")
    assert await collect(JsonlSource(str(path))) == [(9, b'{"a": 9}'), (15, b'{"a": 15}')]
