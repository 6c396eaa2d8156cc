"""Pydantic models of the Graph resources the worker can PATCH, and the registry of their routes."""

from worker.models.base import DateTimeOffset, GraphModel, Int32
from worker.models.registry import DEFAULT_PATH, ROUTES, Route, match_route

__all__ = ["DEFAULT_PATH", "ROUTES", "DateTimeOffset", "GraphModel", "Int32", "Route", "match_route"]
