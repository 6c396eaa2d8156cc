"""The resource registry: which paths the worker may PATCH, and the model that checks each body.

Adding a Graph resource is one model (in `worker.models`) plus one `Route` here. A path that matches
no route is rejected, so a line can never send the bearer token anywhere but a known resource.

The directory resources' models are generated per Graph version (`worker.models.generated`): a run
checks bodies with the models of the version its base URL names (`graph_version`), imported on first use.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from typing import Literal

from worker.models.base import GraphModel
from worker.models.provisioning import ProvisioningObjectSummary

SEGMENT = r"(?!\.\.?(?:/|\Z))[A-Za-z0-9._~-]+"
"""One path segment taken from the input (an id): unreserved characters only, never "." or ".."."""

GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
"""A directory object's id."""

USER_ID = rf"(?:{GUID}|[A-Za-z0-9._~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
"""A user's id or userPrincipalName: `@` is allowed here only, and the other characters stay unreserved
(a guest's `#EXT#` name would need percent-encoding, which paths may not carry: use the object id)."""

GraphVersion = Literal["v1.0", "beta"]
DEFAULT_VERSION: GraphVersion = "beta"
"""The version of the default base URL (https://graph.microsoft.com/beta)."""


@dataclass(frozen=True, slots=True)
class Route:
    """A PATCH-able resource path (matched in full), the model its body must satisfy, and its throttling scope.

    `scope` names the group of Graph limits the route counts against (Graph throttles per app and tenant
    *within* a scope): each (tenant, scope) is its own lane, paced on its own (`worker.schedule.lane`).
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

#: The directory resources: (route name, collection, id pattern, generated model class).
DIRECTORY = (
    ("user", "users", USER_ID, "User"),
    ("group", "groups", GUID, "Group"),
    ("device", "devices", GUID, "Device"),
    ("application", "applications", GUID, "Application"),
    ("service_principal", "servicePrincipals", GUID, "ServicePrincipal"),
)
_GENERATED = {"v1.0": "worker.models.generated.v1_0", "beta": "worker.models.generated.beta"}


def graph_version(base_url: str) -> GraphVersion:
    """The Graph version a base URL names in its last path segment: v1.0, else beta (the default URL's)."""
    return "v1.0" if base_url.rstrip("/").endswith("/v1.0") else "beta"


def routes(version: GraphVersion = DEFAULT_VERSION) -> tuple[Route, ...]:
    """Every route of a Graph version: the seed's, then the directory resources with that version's models."""
    return ROUTES + _directory_routes(version)


@functools.cache
def _directory_routes(version: GraphVersion) -> tuple[Route, ...]:
    """The directory routes, importing the version's generated models (about 50 ms) on first use."""
    generated = importlib.import_module(_GENERATED[version])
    return tuple(
        _directory_route(name, collection, id_pattern, getattr(generated, cls))
        for name, collection, id_pattern, cls in DIRECTORY
    )


def _directory_route(name: str, collection: str, id_pattern: str, model: object) -> Route:
    """`/collection/{id}` in Graph's "directory" throttling scope (resource units and a write quota)."""
    if not (isinstance(model, type) and issubclass(model, GraphModel)):
        raise TypeError(f"generated model for {collection} is not a GraphModel: {model!r}")
    pattern = re.compile(re.escape(f"/{collection}/") + id_pattern)
    return Route(name=name, pattern=pattern, model=model, scope="directory")


def template(route: Route) -> str:
    """A route's path with "{id}" where its pattern takes an id, e.g. /users/{id} (for messages)."""
    return route.pattern.pattern.replace(USER_ID, "{id}").replace(GUID, "{id}").replace(SEGMENT, "{id}")


def match_route(path: str, version: GraphVersion = DEFAULT_VERSION) -> Route | None:
    """The route whose pattern matches the whole path, or None (a seed path imports no generated model)."""
    for route in ROUTES:
        if route.pattern.fullmatch(path):
            return route
    for route in _directory_routes(version):
        if route.pattern.fullmatch(path):
            return route
    return None
