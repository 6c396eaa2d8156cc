"""Pieces of the service on their own: the upload line counter, the API key, the store's state rules."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from pydantic import SecretStr

from worker.errors import ConfigError
from worker.service.auth import bearer_matches, load_api_key
from worker.service.batches import Batch, now
from worker.service.store import BatchStore
from worker.service.upload import LineCounter
from worker.settings import ServiceSettings
from worker.sources.jsonl import JsonlSource

MAX_LINE = 30


async def reference_count(body: bytes, path: Path) -> int:
    """The lines the JSONL source yields (each gets a result): non-blank ones, and every oversized one."""
    await asyncio.to_thread(path.write_bytes, body)
    source = JsonlSource(str(path), max_line_bytes=MAX_LINE)
    try:
        return sum([1 async for _ in source.lines()])
    finally:
        source.close()


@pytest.mark.parametrize("seed", range(20))
async def test_line_counter_matches_the_source_whatever_the_chunking(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    pieces = [b"{}", b"", b"  ", b"\t", b'{"a": 1}', b"x" * 50, b" " * 40, b"\t" * 31]
    body = b"\n".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
    if rng.random() < 0.5:
        body += b"\n"
    counter = LineCounter(MAX_LINE)
    position = 0
    while position < len(body):
        step = rng.randint(1, 7)
        counter.feed(body[position : position + step])
        position += step
    assert counter.finish() == await reference_count(body, tmp_path / "in.jsonl")


def test_api_key_from_settings_file_or_refusal(tmp_path: Path) -> None:
    assert load_api_key(ServiceSettings(api_key=SecretStr("  k3y  "))) == b"k3y"
    secret = tmp_path / "key"
    secret.write_text("from-file\n")
    assert load_api_key(ServiceSettings(api_key_file=secret)) == b"from-file"
    with pytest.raises(ConfigError, match="no API key"):
        load_api_key(ServiceSettings())
    with pytest.raises(ConfigError, match="cannot read"):
        load_api_key(ServiceSettings(api_key_file=tmp_path / "missing"))
    secret.write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        load_api_key(ServiceSettings(api_key_file=secret))


def test_bearer_check() -> None:
    assert bearer_matches("Bearer k3y", b"k3y")
    assert bearer_matches("bearer k3y", b"k3y")
    assert not bearer_matches("Bearer k3", b"k3y")
    assert not bearer_matches("Bearer k3yy", b"k3y")
    assert not bearer_matches("Basic k3y", b"k3y")
    assert not bearer_matches(None, b"k3y")
    assert not bearer_matches("Bearer ünïcode", b"k3y")


async def test_a_cancelled_batch_stays_cancelled(tmp_path: Path) -> None:
    store = BatchStore(tmp_path)
    await store.open()
    try:
        moment = now()
        await store.insert(Batch(id="a" * 32, state="queued", created=moment, updated=moment, total=3))
        assert await store.cancel_if_unfinished("a" * 32)
        assert not await store.set_state("a" * 32, "running")
        assert not await store.set_state("a" * 32, "succeeded")
        assert not await store.cancel_if_unfinished("a" * 32)
        found = await store.get("a" * 32)
        assert found is not None
        assert found.state == "cancelled"
        assert found.finished is not None
        assert await store.count_by_state() == {"cancelled": 1}
    finally:
        await store.close()


async def test_store_reopens_with_its_batches_and_drops_torn_uploads(tmp_path: Path) -> None:
    store = BatchStore(tmp_path)
    await store.open()
    moment = now()
    await store.insert(Batch(id="b" * 32, state="queued", created=moment, updated=moment))
    await store.close()
    (tmp_path / "uploads" / "torn.part").write_bytes(b"{}\n")
    again = BatchStore(tmp_path)
    await again.open()
    try:
        assert [batch.id for batch in await again.with_state("queued")] == ["b" * 32]
        assert list((tmp_path / "uploads").iterdir()) == []
    finally:
        await again.close()
