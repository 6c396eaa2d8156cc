"""What an Azure Storage queue message's text means, and what we write back into queues: pure functions, no I/O.

A message's text is one input line: plain JSON, or base64 of it, as Azure Functions' output bindings and
`QueueClient(message_encode_policy=BinaryBase64EncodePolicy())` write it. Detection is safe for JSON: a text
that begins with `{` is the line itself (base64's alphabet has no `{`); anything else is the line only if it is
strict base64 and decodes to something beginning with `{`, else it is passed on as it came, so the validator
rejects it and the `rejected` result quotes what the producer wrote. The server is untrusted: a text longer
than Azure's own 64 KiB limit is never decoded (it becomes the JSONL source's `OVERSIZED` marker).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from worker.sources.jsonl import OVERSIZED

#: Azure's limit on one message; a longer text can only come from a broken or hostile server
MAX_MESSAGE_BYTES = 64 * 1024
_WHITESPACE = b" \t\r\n"


def line_of(text: str) -> bytes:
    """The input line a message's text carries: the JSON itself, decoded base64 JSON, or the text as it came."""
    if len(text) > MAX_MESSAGE_BYTES:  # a character is at least a byte: too long before encoding it
        return OVERSIZED
    data = text.encode("utf-8", "replace")
    if len(data) > MAX_MESSAGE_BYTES:
        return OVERSIZED
    stripped = data.strip(_WHITESPACE)
    if stripped.startswith(b"{"):
        return data
    try:
        decoded = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return data
    return decoded if decoded.lstrip(_WHITESPACE).startswith(b"{") else data


def result_text(result: bytes) -> str:
    """A result JSON as a results-queue message: as is, or without `error.detail` if that is what makes it too long."""
    if len(result) <= MAX_MESSAGE_BYTES:
        return result.decode()
    parsed: dict[str, Any] = orjson.loads(result)
    error = parsed.get("error")
    if isinstance(error, dict):
        parsed["error"] = {**error, "detail": None, "message": str(error.get("message", ""))[:4096]}
        parsed["error"]["message"] += " (detail cut: too long for one queue message)"
    return orjson.dumps(parsed).decode()


def poison_text(message_id: str, deliveries: int, last_error: str, original: str) -> str:
    """A poison-queue message: the original text (put it back into the queue to retry) with why it gave up.

    `{"messageId", "dequeueCount", "lastError", "message"}`; when that does not fit in one message (a text
    near the size limit), the original text alone, unchanged, as Azure Functions writes it.
    """
    envelope = orjson.dumps(
        {"messageId": message_id, "dequeueCount": deliveries, "lastError": last_error[:4096], "message": original}
    )
    return envelope.decode() if len(envelope) <= MAX_MESSAGE_BYTES else original
