"""The peer: msgraph-sdk-python (`msgraph-sdk`) PATCHing the same jobs, as a user would write it.

Each line of the jobs file is read, its body turned into the SDK's `ProvisioningObjectSummary` through
the SDK's own JSON parse node, and sent with
`client.audit_logs.provisioning.by_provisioning_object_summary_id(id).patch(model)`: the SDK's default
middleware (its RetryHandler honours Retry-After on 429/503/504), its default httpx client, a static
bearer token through an `AccessTokenProvider`, and the request adapter's `base_url` pointed at the
emulator. The same number of long-lived workers as patch-worker's pool share one iterator over the lines.

If the SDK cannot be imported, `--client httpx` (also the fallback) does the same with a plain
`httpx.AsyncClient`, the HTTP client the SDK is built on.

    python -m bench.peer --base-url http://127.0.0.1:PORT/v1.0 --jobs FILE [--concurrency 64] [--client sdk]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from bench.common import TOKEN

Send = Callable[[str, Any], Awaitable[int]]
Prepare = Callable[[dict[str, Any]], Any]


def sdk_sender(base_url: str) -> tuple[Prepare, Send, Callable[[], Awaitable[None]]]:
    """How the SDK turns a line's body into its model, sends one job, and closes its client."""
    from kiota_abstractions.api_error import APIError
    from kiota_abstractions.authentication import (
        AccessTokenProvider,
        AllowedHostsValidator,
        BaseBearerTokenAuthenticationProvider,
    )
    from kiota_serialization_json.json_parse_node import JsonParseNode
    from msgraph.generated.models.provisioning_object_summary import ProvisioningObjectSummary
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient

    class StaticTokenProvider(AccessTokenProvider):
        """A fixed bearer token (the emulator's)."""

        async def get_authorization_token(
            self,
            uri: str,
            additional_authentication_context: dict[str, Any] | None = None,
        ) -> str:
            return TOKEN

        def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
            return AllowedHostsValidator([])

    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticTokenProvider()))
    adapter.base_url = base_url
    client = GraphServiceClient(request_adapter=adapter)
    provisioning = client.audit_logs.provisioning

    def prepare(body: dict[str, Any]) -> Any:
        return JsonParseNode(body).get_object_value(ProvisioningObjectSummary)

    async def send(object_id: str, model: Any) -> int:
        try:
            await provisioning.by_provisioning_object_summary_id(object_id).patch(model)
        except APIError as error:
            return int(error.response_status_code or 0)
        return 200

    async def close() -> None:
        await adapter._http_client.aclose()

    return prepare, send, close


def httpx_sender(base_url: str) -> tuple[Prepare, Send, Callable[[], Awaitable[None]]]:
    """The fallback: plain httpx.AsyncClient with its defaults, no retries."""
    import httpx

    client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=100.0)
    authorization = f"Bearer {TOKEN}"

    async def send(object_id: str, body: Any) -> int:
        headers = {
            "Authorization": authorization,
            "Content-Type": "application/json",
            "client-request-id": str(uuid.uuid4()),
        }
        response = await client.patch(f"/auditLogs/provisioning/{object_id}", content=body, headers=headers)
        return response.status_code

    return orjson.dumps, send, client.aclose


async def peer_run(
    base_url: str, lines: list[bytes], concurrency: int, client: str, *, prebuilt: bool = False
) -> dict[str, Any]:
    """Send every job line; the figures of the sending phase.

    Before the clock starts: the file is read, one warm-up PATCH pays the SDK's lazy imports, and with
    `prebuilt` every body is already turned into the SDK's model (then only sending is timed).
    """
    note = None
    if client == "sdk":
        try:
            prepare, send, close = sdk_sender(base_url)
        except ImportError as exc:
            note = f"msgraph-sdk not importable ({exc}); fell back to httpx.AsyncClient"
            client = "httpx"
    if client == "httpx":
        prepare, send, close = httpx_sender(base_url)
    jobs: list[tuple[str, Any]] = []
    for line in lines:
        envelope = orjson.loads(line)
        object_id = envelope["path"].rsplit("/", 1)[1]
        jobs.append((object_id, prepare(envelope["body"]) if prebuilt else line))
    statuses: Counter[int] = Counter()
    warm_up = await send("warm-up", prepare(orjson.loads(lines[0])["body"]))
    pending = iter(jobs)

    async def worker() -> None:
        for object_id, item in pending:
            model = item if prebuilt else prepare(orjson.loads(item)["body"])
            statuses[await send(object_id, model)] += 1

    cpu_started = time.process_time()
    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        await close()
    count = sum(statuses.values())
    return {
        "client": client,
        "prebuilt": prebuilt,
        "note": note,
        "warmUpStatus": warm_up,
        "jobs": count,
        "elapsedS": round(elapsed, 3),
        "cpuS": round(cpu, 3),
        "jobsPerSecond": round(count / elapsed, 1),
        "httpStatus": {str(code): n for code, n in sorted(statuses.items())},
    }


def main() -> None:
    """Command-line entry: prints one JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--jobs", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--client", choices=["sdk", "httpx"], default="sdk")
    parser.add_argument("--prebuilt", action="store_true", help="build every SDK model before the clock starts")
    ns = parser.parse_args()
    lines = ns.jobs.read_bytes().splitlines()
    figures = asyncio.run(peer_run(ns.base_url, lines, ns.concurrency, ns.client, prebuilt=ns.prebuilt))
    sys.stdout.write(orjson.dumps(figures).decode() + "\n")


if __name__ == "__main__":
    main()
