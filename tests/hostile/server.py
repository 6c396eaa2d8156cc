"""A hostile Graph stand-in: one misbehaviour per route, none of it from the project's emulator.

Every request is recorded (method, path, whether it carried a token), so a test can tell what reached
this listener, and a second listener (`other`) shows whether anything went to another host. Base URLs:

    /throttle/{preset}      429 (or 503) with a far Retry-After (PRESETS: 99999999, 1e9, a date in 9999)
    /batch/{shape}          $batch items with hostile JSON status/headers (BATCH_SHAPES)
    /redirect/{codes}/{to}  a 3xx to another host (`other`) or to /sink/users/evil on this one (`same`);
                            `codes` like 301,302: each request gets the next of them in turn
    /echo/{status}          a 400/401 whose body echoes the request's headers and token in several forms
    /big/{kind}             bodies too large: 50 MB plain, or a 1 MB gzip that expands to 1 GiB
    /drip                   a 200 whose body drips one byte a second
    /sink/...               records what arrives (the redirect targets)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import web

PRESETS = {  # name: (status, Retry-After)
    "huge": (429, "99999999"),
    "exp": (429, "1e9"),
    "date9999": (429, "Fri, 31 Dec 9999 23:59:59 GMT"),
    "storm503": (503, "99999999"),
}
BATCH_SHAPES: dict[str, dict[str, Any]] = {
    "retry-after-number": {"status": 429, "headers": {"Retry-After": 5}},
    "headers-list": {"status": 204, "headers": ["Retry-After", "5"]},
    "headers-bool": {"status": 204, "headers": True},
    "headers-nested": {"status": 429, "headers": {"Retry-After": {"seconds": 5}}},
    "status-true": {"status": True},
    "status-string": {"status": "204"},
    "status-float": {"status": 204.0},
    "status-huge": {"status": 99999},
    "status-negative": {"status": -204},
}
FIFTY_MB = 50 * 1024 * 1024
GIB = 1024 * 1024 * 1024
CHUNK = 64 * 1024


@functools.cache
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GiB of zeros (built once per test session)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(GIB // len(zeros))]
    return b"".join([*parts, packer.flush()])


@dataclass(frozen=True)
class Seen:
    """One request as it arrived."""

    method: str
    path: str
    authorization: str | None
    body_bytes: int


@dataclass
class HostileServer:
    """The routes above; `seen` is every request that reached this listener."""

    other_url: str = ""
    seen: list[Seen] = field(default_factory=list)
    redirects: int = 0  # redirects answered so far: which of `codes` the next one gets

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self._record])
        routes: dict[str, Callable[[web.Request], Any]] = {
            "/throttle/{preset}/{tail:.*}": self._throttle,
            "/batch/{shape}/{tail:.*}": self._batch,
            "/redirect/{codes}/{to}/{tail:.*}": self._redirect,
            "/echo/{status}/{tail:.*}": self._echo,
            "/big/{kind}/{tail:.*}": self._big,
            "/drip/{tail:.*}": self._drip,
            "/sink/{tail:.*}": self._sink,
        }
        for path, handler in routes.items():
            app.router.add_route("*", path, handler)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, request.headers.get("Authorization"), len(body)))
        response: web.StreamResponse = await handler(request)
        return response

    async def _throttle(self, request: web.Request) -> web.Response:
        status, value = PRESETS[request.match_info["preset"]]
        return _graph_error(status, f"Throttled{status}", "slow down", headers={"Retry-After": value})

    async def _batch(self, request: web.Request) -> web.Response:
        shape = BATCH_SHAPES[request.match_info["shape"]]
        asked = orjson.loads(await request.read())["requests"]
        items = [{"id": item["id"], **shape} for item in asked]
        return web.Response(body=orjson.dumps({"responses": items}), content_type="application/json")

    async def _redirect(self, request: web.Request) -> web.Response:
        codes, to = request.match_info["codes"].split(","), request.match_info["to"]
        code = int(codes[self.redirects % len(codes)])
        self.redirects += 1
        where = f"{self.other_url}/sink/stolen?sig=s3cr3t" if to == "other" else "/sink/users/evil"
        return web.Response(status=code, headers={"Location": where})

    async def _echo(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        message = f"{auth} rejected; token {token}; as a query token={quote(token, safe='')}"
        echoed = {str(name): value for name, value in request.headers.items()}
        error = {"code": "InvalidAuthenticationToken", "message": message, "innerError": echoed}
        text = orjson.dumps({"error": error}).decode()
        escaped = token.replace("/", "\\/")  # JSON may write "/" as "\/"
        text = text[:-2] + ',"escaped":"' + escaped + '"}}'  # one more member of the error object
        return web.Response(status=int(request.match_info["status"]), text=text, content_type="application/json")

    async def _big(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        status = 400 if kind.startswith("error") else 200
        if kind.endswith("bomb"):
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            return web.Response(status=status, body=gzip_bomb(), headers=headers)
        response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
        response.content_length = FIFTY_MB
        await response.prepare(request)
        chunk = b"x" * CHUNK
        with contextlib.suppress(ConnectionError):  # the client hangs up at its cap: that is the point
            for _ in range(FIFTY_MB // CHUNK):
                await response.write(chunk)
        return response

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        response.content_length = 100
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(100):
                await response.write(b" ")
                await asyncio.sleep(1.0)  # the drip: a slow server is the behaviour under test
        return response

    async def _sink(self, request: web.Request) -> web.Response:
        return web.Response(status=204)


def _graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)
