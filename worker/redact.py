"""Secrets this process holds, and how they are kept out of everything it writes.

Every bearer token a credential provider hands out and every client secret is registered here
(`register_secret`); `scrub` replaces them, in any form a server might echo them back (raw, with or
without "Bearer ", URL-encoded, JSON-escaped), before a text becomes a result, a log line or a service
answer. Any JWT (Entra ID's tokens are JWTs) is replaced by its shape, held or not, so a service with
thousands of tenants does not need thousands of patterns. `cap_text` and `safe_detail` also cut what a
server sent to a few KB: an error body is not ours to copy whole into every result line.

This module sits below every other one (no imports from the package), so errors, logging and the service
can all use it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, quote_plus

import orjson

REDACTED = "[redacted]"
#: A bearer token written out, whatever the token (also ones this process never held).
BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=%-]+")
#: A JWT (every Entra ID access token is one): caught by its shape, in every form (its characters are URL-safe
#: and need no JSON escape), so the registry need not hold one per tenant.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
#: Shorter values would redact ordinary words; real tokens and secrets are far longer.
MIN_SECRET_CHARS = 8
#: Opaque tokens are renewed every hour or so; a long-lived process keeps only the most recent ones.
MAX_HELD = 512
#: Secrets per compiled pattern: a new secret recompiles only its own group's pattern, never all of them.
GROUP = 64
MAX_MESSAGE_CHARS = 4096
MAX_DETAIL_CHARS = 8192
DETAIL_NOT_KEPT = "[detail not kept: nested too deep or not JSON]"


class SecretRegistry:
    """The secrets of one process, in groups of GROUP, each group one compiled pattern of every form."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._groups: list[list[str]] = []
        self._patterns: list[re.Pattern[str] | None] = []

    def add(self, value: str) -> None:
        """Remember a secret (a token, a client secret, an API key); JWTs are caught by their shape already."""
        if len(value) < MIN_SECRET_CHARS or value in self._known or JWT.fullmatch(value):
            return
        if not self._groups or len(self._groups[-1]) == GROUP:
            self._groups.append([])
            self._patterns.append(None)
        self._groups[-1].append(value)
        self._patterns[-1] = None
        self._known.add(value)
        if len(self._known) > MAX_HELD:  # forget the oldest group
            self._known.difference_update(self._groups.pop(0))
            self._patterns.pop(0)

    def scrub(self, text: str) -> str:
        """`text` with every known secret, every JWT and every bearer token replaced by REDACTED."""
        for index in range(len(self._groups)):
            text = self._pattern(index).sub(REDACTED, text)
        if "eyJ" in text:
            text = JWT.sub(REDACTED, text)
        if "earer" in text or "EARER" in text:
            text = BEARER.sub("Bearer " + REDACTED, text)
        return text

    def _pattern(self, index: int) -> re.Pattern[str]:
        pattern = self._patterns[index]
        if pattern is None:
            forms = {form for value in self._groups[index] for form in _forms(value)}
            alternatives = sorted(forms, key=len, reverse=True)  # the longest form first: no half-replaced text
            pattern = self._patterns[index] = re.compile("|".join(re.escape(form) for form in alternatives))
        return pattern


def _forms(value: str) -> set[str]:
    escaped = orjson.dumps(value).decode()[1:-1]
    return {value, quote(value, safe=""), quote_plus(value), escaped, escaped.replace("/", "\\/")}


SECRETS = SecretRegistry()


def register_secret(value: str | None) -> None:
    """Remember a secret of this process, so that nothing written ever holds it."""
    if value:
        SECRETS.add(value)


def scrub(text: str) -> str:
    """`text` without any secret of this process or any bearer token."""
    return SECRETS.scrub(text)


def cap_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` cut to `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[cut {len(text) - limit} characters]"


def safe_message(text: str) -> str:
    """A message fit to write: scrubbed and cut to MAX_MESSAGE_CHARS."""
    return cap_text(scrub(text))


def safe_detail(detail: Any) -> Any:
    """A JSON detail fit to write: scrubbed, and replaced by a cut string when its JSON is over MAX_DETAIL_CHARS."""
    if detail is None:
        return None
    try:
        text = orjson.dumps(detail, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):  # nested too deep (repr would be too), or not JSON
        return DETAIL_NOT_KEPT
    clean = scrub(text)
    if len(clean) > MAX_DETAIL_CHARS:
        return cap_text(clean, MAX_DETAIL_CHARS)
    if clean == text:
        return detail
    try:
        return orjson.loads(clean)
    except orjson.JSONDecodeError:  # a secret with JSON syntax in it: keep the scrubbed text
        return clean


def safe_url(url: str) -> str:
    """A connection URL fit for a message: any user and password replaced by `***`."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest
