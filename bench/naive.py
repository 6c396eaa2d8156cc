"""The baseline a user would write: aiohttp + tenacity retry per request, fixed concurrency.

Each request honours its own Retry-After (what tenacity alone gives), with no lane-wide pacing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterable, Sequence

import aiohttp
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from bench.common import BODY, TOKEN


class RetryableAnswerError(Exception):
    """A 429 or 5xx answer."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    return error.retry_after if isinstance(error, RetryableAnswerError) else 1.0


def tenant_token(tenant: str) -> str:
    """The bearer token the emulator reads as `tenant`'s (start it with `--token` for each)."""
    return f"emu.{tenant}.bench"


async def naive_run(
    base_url: str, count: int, concurrency: int, *, retry: bool = True, tenants: Sequence[str] | None = None
) -> float:
    """PATCH `count` seed bodies with `concurrency` workers; return the wall seconds.

    Job i goes to tenant `tenants[i % len(tenants)]` (its `tenant_token`), as `write_jobs` spreads lines;
    without `tenants` every job carries the bench's static token.
    """
    body = orjson.dumps(BODY)
    jobs: Iterable[int] = iter(range(count))
    tokens = [TOKEN] if tenants is None else [tenant_token(tenant) for tenant in tenants]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def once(job: int) -> None:
            request_headers = {
                "Authorization": f"Bearer {tokens[job % len(tokens)]}",
                "Content-Type": "application/json",
                "client-request-id": str(uuid.uuid4()),
            }
            async with session.patch(base_url + "/auditLogs/provisioning", data=body, headers=request_headers) as r:
                await r.read()
                if r.status == 429 or r.status >= 500:
                    raise RetryableAnswerError(float(r.headers.get("Retry-After", "1")))

        async def worker() -> None:
            for job in jobs:
                if not retry:
                    await once(job)
                    continue
                # a job still refused after 50 attempts is given up (the emulator's counts show it), as a
                # script would log it and go on
                with contextlib.suppress(RetryableAnswerError):
                    async for attempt in AsyncRetrying(
                        retry=retry_if_exception_type(RetryableAnswerError),
                        wait=_wait,
                        stop=stop_after_attempt(50),
                        reraise=True,
                    ):
                        with attempt:
                            await once(job)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started
