"""The resource registry: which paths the worker may PATCH, and the model that checks each body.

Adding a Graph resource is one model (in `worker.models`) plus one `Route` here. A path that matches
no route is rejected, so a line can never send the bearer token anywhere but a known resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.models.base import GraphModel
from worker.models.provisioning import ProvisioningObjectSummary

SEGMENT = r"(?!\.\.?(?:/|\Z))[A-Za-z0-9._~-]+"
"""One path segment taken from the input (an id): unreserved characters only, never "." or ".."."""


@dataclass(frozen=True, slots=True)
class Route:
    """A PATCH-able resource path (matched in full), the model its body must satisfy, and its throttling scope.

    `scope` names the group of Graph limits the route counts against (Graph throttles per app and tenant
    *within* a scope): each (tenant, scope) is its own lane, paced on its own (`worker.schedule.lanes`).
    """

    name: str
    pattern: re.Pattern[str]
    model: type[GraphModel]
    scope: str


def _route(name: str, template: str, model: type[GraphModel], scope: str) -> Route:
    """Build a Route from a template where "{id}" stands for one safe segment."""
    regex = re.escape(template).replace(re.escape("{id}"), SEGMENT)
    return Route(name=name, pattern=re.compile(regex), model=model, scope=scope)


# "reports": Graph's identity-and-access-reports group (about 5 requests per 10 s per app and tenant)
ROUTES: tuple[Route, ...] = (
    _route("provisioning", "/auditLogs/provisioning", ProvisioningObjectSummary, "reports"),
    _route("provisioning_item", "/auditLogs/provisioning/{id}", ProvisioningObjectSummary, "reports"),
)

DEFAULT_PATH = "/auditLogs/provisioning"


def match_route(path: str) -> Route | None:
    """The route whose pattern matches the whole path, or None."""
    for route in ROUTES:
        if route.pattern.fullmatch(path):
            return route
    return None
