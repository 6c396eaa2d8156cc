"""Pydantic models of the Graph resources the worker can PATCH, and the registry of their routes."""

from worker.models.base import DateTimeOffset, GraphModel, Int32
from worker.models.registry import DEFAULT_PATH, DEFAULT_VERSION, ROUTES, GraphVersion, Route, match_route, routes

__all__ = [
    "DEFAULT_PATH",
    "DEFAULT_VERSION",
    "ROUTES",
    "DateTimeOffset",
    "GraphModel",
    "GraphVersion",
    "Int32",
    "Route",
    "match_route",
    "routes",
]
