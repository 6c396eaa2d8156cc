"""Duplicate keys in a line: orjson keeps the last one silently, so a cheap count decides when to look."""

from __future__ import annotations

import json
from typing import Any

import orjson

from worker.jobs import FieldError
from worker.validate.pydantic_errors import Loc


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as the list of its (key, value) pairs, duplicates kept."""


def duplicate_keys(text: bytes, data: dict[str, Any], body_json: bytes | None = None) -> list[FieldError]:
    """An error for each duplicated key (orjson keeps the last silently); cheap when there are none.

    `body_json`: an envelope's body already dumped (`parse._dumped`), so that it is not dumped twice.
    """
    # `in` for one byte is a memchr; most lines have no backslash, so the 6-byte search rarely runs
    if (b"\\" not in text or b"\\u003" not in text) and _colons_match(text, data, body_json):
        return []
    try:
        tree = json.loads(text, object_pairs_hook=_Pairs)
    except (RecursionError, ValueError):
        message = "the line may contain a duplicate key, which could not be checked (nesting too deep)"
        return [FieldError(loc="", message=message, type="duplicate_key")]
    return _find_duplicates(tree)


def _colons_match(text: bytes, data: dict[str, Any], body_json: bytes | None = None) -> bool:
    """True when the line has as many colons as the parsed tree re-serialised: then no key was dropped.

    Colons in JSON are key separators (one per key) or string content. Re-serialising keeps every string
    of the tree as is, and a duplicated key takes its separator (and any colons in its name and dropped
    value) with it, so a duplicate always means fewer colons. The one way a colon can appear only after
    parsing is an escape (\\u003a): the caller does the exact check when the line has one. orjson cannot
    dump more than 254 levels of nesting: then the exact check runs too.

    With an envelope's body already dumped, the rest of the envelope is dumped alone: orjson writes an
    object as its members in order, so the whole has the colons of both and the one after "body". When
    the line ends with the body as dumped (a compact line, body last), the body's colons are on both
    sides and only the rest of the line is counted; a compact bare line equal to its dump needs no count.
    """
    try:
        if body_json is None:
            dumped = orjson.dumps(data)
            if dumped == text:  # a compact line (as tools write them) is its own re-serialisation: no count
                return True
            colons = dumped.count(b":")
        else:
            rest = orjson.dumps({key: value for key, value in data.items() if key != "body"})
            end = len(text) - 1  # the line ends with the envelope's closing brace
            if text.endswith(body_json, 0, end):  # the body, written compactly, closes the line: its colons
                return text.count(b":", 0, end - len(body_json)) == rest.count(b":") + 1  # are the same
            colons = rest.count(b":") + 1 + body_json.count(b":")
    except orjson.JSONEncodeError:
        return False
    return text.count(b":") == colons


def _find_duplicates(tree: object) -> list[FieldError]:
    """The duplicated keys in a tree of `_Pairs`, each once, located from the top."""
    found: list[FieldError] = []
    stack: list[tuple[Loc, object]] = [((), tree)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, _Pairs):
            seen: set[str] = set()
            for key, value in node:
                if key in seen:
                    found.append(_duplicate_error((*loc, key)))
                seen.add(key)
                stack.append(((*loc, key), value))
        elif isinstance(node, list):
            stack.extend(((*loc, index), item) for index, item in enumerate(node))
    return sorted(set(found), key=lambda error: error.loc)


def _duplicate_error(loc: Loc) -> FieldError:
    """The error for one duplicated key."""
    return FieldError(
        loc=".".join(str(part) for part in loc),
        message=f"duplicate key '{loc[-1]}' (JSON objects must not repeat a key)",
        type="duplicate_key",
    )
