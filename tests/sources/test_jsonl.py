"""The JSONL source: line numbers, chunk boundaries, gzip, oversized lines, a missing final newline."""

from __future__ import annotations

import gzip
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
    assert got == list(enumerate(lines, start=1))


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
