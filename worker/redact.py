"""Secrets this process holds, and how they are kept out of everything it writes.

Every bearer token a credential provider hands out and every client secret is registered here
(`register_secret`); `scrub` replaces them, in any form a server might echo them back (raw, with or
without "Bearer ", URL-encoded, JSON-escaped), before a text becomes a result, a log line or a service
answer. `cap_text` and `safe_detail` also cut what a server sent to a few KB: an error body is not ours to
copy whole into every result line.

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
#: Shorter values would redact ordinary words; real tokens and secrets are far longer.
MIN_SECRET_CHARS = 8
#: Tokens are renewed every hour or so; a long-lived process keeps only the most recent ones.
MAX_HELD = 512
MAX_MESSAGE_CHARS = 4096
MAX_DETAIL_CHARS = 8192
DETAIL_NOT_KEPT = "[detail not kept: nested too deep or not JSON]"


class SecretRegistry:
    """The secrets of one process, as one compiled pattern of every form they may be written in."""

    def __init__(self) -> None:
        self._values: dict[str, None] = {}  # insertion-ordered: the oldest is dropped first
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        """Remember a secret (a token, a client secret, an API key)."""
        if len(value) < MIN_SECRET_CHARS or value in self._values:
            return
        self._values[value] = None
        while len(self._values) > MAX_HELD:
            del self._values[next(iter(self._values))]
        self._pattern = None

    def scrub(self, text: str) -> str:
        """`text` with every known secret and every bearer token replaced by REDACTED."""
        if self._values:
            text = self._compiled().sub(REDACTED, text)
        if "earer" in text or "EARER" in text:
            text = BEARER.sub("Bearer " + REDACTED, text)
        return text

    def _compiled(self) -> re.Pattern[str]:
        if self._pattern is None:
            forms = {form for value in self._values for form in _forms(value)}
            alternatives = sorted(forms, key=len, reverse=True)  # the longest form first: no half-replaced text
            self._pattern = re.compile("|".join(re.escape(form) for form in alternatives))
        return self._pattern


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
