"""The service's web page and the JSON routes only it needs.

    GET /                               the page (HTML; its JS and CSS under /ui/): no key needed, no data in it
    GET /v1/lanes                       every lane's figures and its last two minutes of rate    200 {"lanes"}
    GET /v1/batches/{id}/lines?status=failed,rejected&limit=&cursor=
                                        result lines with those statuses, paged from the server  200 {"lines", "next"}
    GET /v1/batches?state=running,...   the batch list filtered by state (see `listing.py`)

Sign-in: the page asks for the API key once and keeps it in the tab's sessionStorage; every fetch sends it
as `Authorization: Bearer`. No cookie is ever set, so no request is made on the user's behalf by another
site (no CSRF), and the key is never in a URL, the page's source or a log.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from aiohttp import web

from worker.schedule.lane_set import LaneSet
from worker.service.api import BATCHES, MAX_PAGE, ApiError, batch_of, json_response
from worker.service.web.lane_history import LaneHistory, sampling
from worker.service.web.lines import lines_page, parse_statuses

LANES = web.AppKey("lane_history", LaneHistory)
STATIC = files(__package__) / "static"
ASSETS: Final = {
    "app.js": "text/javascript",
    "app.css": "text/css",
}
#: the page loads only its own files and talks only to its own origin; no framing, no referrer
PAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def add_web(app: web.Application, lanes: LaneSet | None) -> None:
    """Register the page, its files and its JSON routes; sample the lanes while the app runs."""
    app.router.add_get("/", page)
    app.router.add_get("/ui/{name}", asset)
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_get("/v1/lanes", lane_figures)
    app.router.add_get("/v1/batches/{id}/lines", result_lines)
    if lanes is not None:
        history = LaneHistory(lanes)
        app[LANES] = history
        app.cleanup_ctx.append(sampling(history))


async def page(_request: web.Request) -> web.Response:
    """The page: static HTML, the same for everyone."""
    body = (STATIC / "index.html").read_bytes()
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)


async def no_icon(_request: web.Request) -> web.Response:
    """No icon (a browser asks for one: an empty answer, not a 404 in its console)."""
    return web.Response(status=204)


async def asset(request: web.Request) -> web.Response:
    """The page's script and style sheet (only these names: nothing from the URL becomes a path)."""
    name = request.match_info["name"]
    kind = ASSETS.get(name)
    if kind is None:
        raise ApiError(404, "not_found", f"no file {name!r}")
    body = (STATIC / name).read_bytes()
    return web.Response(body=body, content_type=kind, charset="utf-8", headers=PAGE_HEADERS)


async def lane_figures(request: web.Request) -> web.Response:
    """The lanes of this replica: rates, 429s, pauses, in flight, and a short rate history."""
    history = request.app.get(LANES)
    return json_response({"lanes": [] if history is None else history.snapshot()})


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name, str(default))
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(400, "bad_request", f"{name} must be an integer from {low} to {high}")
    return int(text)


async def result_lines(request: web.Request) -> web.Response:
    """A page of result lines with the statuses asked for (failed and rejected by default)."""
    batch = await batch_of(request)
    statuses = parse_statuses(request.query.get("status"))
    if statuses is None:
        raise ApiError(400, "bad_request", "status must be a comma-separated list of succeeded, failed, rejected")
    limit = _int_param(request, "limit", 50, 1, MAX_PAGE)
    cursor = _int_param(request, "cursor", 0, 0, 2**53)
    found = await lines_page(request.app[BATCHES].results(batch.id), statuses, limit, cursor)
    following = None
    if found.next is not None:
        query = f"status={','.join(sorted(statuses))}&limit={limit}&cursor={found.next}"
        following = f"/v1/batches/{batch.id}/lines?{query}"
    return json_response({"lines": found.lines, "next": following, "cursor": found.next, "scanned": found.scanned})
