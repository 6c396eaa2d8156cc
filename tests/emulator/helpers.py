"""Shared helpers for the emulator tests: one PATCH through a real client, read in full."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDictProxy

#: The seed page's request example, byte for byte (worker/../shared/seed-update-provisioning.md).
SEED_REQUEST = Path(__file__).with_name("seed_request.json")
COLLECTION = "/auditLogs/provisioning"
TOKEN = "emu.contoso.secret"


@dataclass(frozen=True)
class Reply:
    """A response read in full: status, headers and the JSON body (None when empty)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: Any


async def patch(
    session: aiohttp.ClientSession,
    url: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    token: str | None = TOKEN,
    headers: dict[str, str] | None = None,
) -> Reply:
    """PATCH `body` (as JSON, or `raw` bytes as given) with a bearer token unless token is None."""
    sent = dict(headers or {})
    sent["Content-Type"] = "application/json"
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else orjson.dumps(body)
    async with session.patch(url, data=data, headers=sent) as response:
        content = await response.read()
        return Reply(response.status, response.headers, orjson.loads(content) if content else None)


def graph_error(reply: Reply) -> dict[str, Any]:
    """The `error` object of a Graph error reply, after checking the envelope every error shares."""
    assert reply.headers["Content-Type"].startswith("application/json")
    error = reply.body["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    inner = error["innerError"]
    assert inner["request-id"] == reply.headers["request-id"]
    assert inner["client-request-id"] == reply.headers["client-request-id"]
    assert isinstance(inner["date"], str)
    return dict(error)


async def post_batch(
    session: aiohttp.ClientSession,
    url: str,
    payload: Any = None,
    *,
    raw: bytes | None = None,
    token: str | None = TOKEN,
    headers: dict[str, str] | None = None,
) -> Reply:
    """POST a `$batch` envelope (`payload` as JSON, or `raw` bytes) to `url` (ending in /$batch)."""
    sent = dict(headers or {})
    sent["Content-Type"] = "application/json"
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else orjson.dumps(payload)
    async with session.post(url, data=data, headers=sent) as response:
        content = await response.read()
        return Reply(response.status, response.headers, orjson.loads(content) if content else None)


def batch_item(
    item_id: str,
    body: Any,
    *,
    url: str = COLLECTION,
    method: str = "PATCH",
    client_request_id: str | None = None,
    depends_on: list[str] | None = None,
) -> dict[str, Any]:
    """One request of a `$batch` envelope, shaped as Graph's JSON batching expects."""
    headers = {"Content-Type": "application/json"}
    if client_request_id is not None:
        headers["client-request-id"] = client_request_id
    item: dict[str, Any] = {"id": item_id, "method": method, "url": url, "headers": headers, "body": body}
    if depends_on is not None:
        item["dependsOn"] = depends_on
    return item
