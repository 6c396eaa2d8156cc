"""Lines that repeat the last valid body: only the part that differs is parsed.

Bulk updates send one body to many objects, so a file is often the same body over and over, in envelopes
that differ only in jobId or path. Parsing a line is a pure function of its bytes: a bare line equal to the
last valid bare line is valid again, as it was. An envelope that ends with the last valid envelope body
(`,"body":BODY}`, compact, body last, as tools write them) is parsed without it: the rest of the line with
`null` in the body's place. That works because BODY is orjson's own dump of a parsed object (no duplicate
keys, valid UTF-8, dumped again to the same bytes), so the whole line is valid JSON, and has a duplicate key,
exactly when the rest is and has, and its body is the one already found valid for that model. Any doubt (a
different ending, an error anywhere) goes back to the full parse, which gives the line its own errors.
"""

from __future__ import annotations

from typing import Any

import orjson

BODY_KEY = b'"body":'
_NULL_END = b"null}"


class Repeats:
    """The last valid envelope body and the last valid bare line (each None until there is one)."""

    __slots__ = ("bare", "body")

    def __init__(self) -> None:
        self.bare: bytes | None = None
        self.body: bytes | None = None

    def envelope_rest(self, text: bytes) -> tuple[bytes, dict[str, Any], bytes] | None:
        """When `text` ends with `"body":BODY}` for the remembered BODY: the line with `null` in the body's
        place, that parsed (its last key "body"), and BODY; None otherwise."""
        body = self.body
        end = len(text) - 1
        if body is None or text[end:] != b"}" or not text.endswith(body, 0, end):
            return None
        head = text[: end - len(body)]
        if not head.endswith(BODY_KEY):
            return None
        rest = head + _NULL_END
        try:
            data = orjson.loads(rest)
        except (ValueError, RecursionError):  # orjson's JSONDecodeError is a ValueError
            return None
        # "body" the last key, and null: the value put in the body's place (an earlier "body" would keep its place)
        if not isinstance(data, dict) or next(reversed(data)) != "body" or data["body"] is not None:
            return None
        return rest, data, body
