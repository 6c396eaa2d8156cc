"""`python -m bench.directory_routes ARGS` is `patch-worker ARGS` with a `/users/{id}` route in the directory
scope, for the mixed-scope bench and its test while the generated directory models are not merged yet.

The route takes a permissive user body (`department`, `jobTitle`). Once the registry has its own
`/users/{id}` route (issue 19's generated models), that one is used and this adds nothing.
"""

from __future__ import annotations

import re
import sys
from typing import ClassVar, Literal

from pydantic import Field

from worker.models import registry
from worker.models.base import ABSENT, GraphModel

SAMPLE_PATH = "/users/00000000-0000-4000-8000-000000000000"


class BenchUser(GraphModel):
    """The two user properties the bench sets (the generated model checks all of them)."""

    odata_type_name: ClassVar[str] = "microsoft.graph.user"
    odata_type: Literal["#microsoft.graph.user", "microsoft.graph.user"] = Field(default=ABSENT, alias="@odata.type")
    department: str | None = None
    job_title: str | None = Field(default=None, alias="jobTitle")


def ensure() -> None:
    """Add the bench's `/users/{id}` route unless the registry already has one."""
    if registry.match_route(SAMPLE_PATH) is not None:
        return
    pattern = re.compile(re.escape("/users/") + registry.SEGMENT)
    route = registry.Route(name="bench_user", pattern=pattern, model=BenchUser, scope="directory")
    registry.ROUTES = (*registry.ROUTES, route)


if __name__ == "__main__":
    ensure()
    from worker.cli import main

    sys.exit(main())
