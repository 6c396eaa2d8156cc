"""What a queue message's text means (JSON, base64 of it, anything else) and what fits back into a queue."""

from __future__ import annotations

import base64

import orjson
import pytest

from worker.sources.azure_text import MAX_MESSAGE_BYTES, line_of, poison_text, result_text
from worker.sources.jsonl import OVERSIZED

LINE = b'{"jobId": "j", "body": {"id": "x"}}'


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (LINE.decode(), LINE),
        ("  " + LINE.decode(), b"  " + LINE),  # leading blanks: still JSON, passed on unchanged
        (base64.b64encode(LINE).decode(), LINE),  # Azure Functions' encoding
        (base64.b64encode(b"\n" + LINE).decode(), b"\n" + LINE),
        ("bm90IGpzb24=", b"bm90IGpzb24="),  # base64 of "not json": the text as it came, for the rejection
        ("eyJhIjo", b"eyJhIjo"),  # not complete base64 (padding missing): as it came
        ("e yJhIjogMX0=", b"e yJhIjogMX0="),  # not strict base64 (a blank inside)
        ("[1, 2]", b"[1, 2]"),
        ("", b""),
        ("caf\u00e9", "caf\u00e9".encode()),
    ],
)
def test_a_text_is_json_or_strict_base64_of_json_or_left_as_it_came(text: str, line: bytes) -> None:
    assert line_of(text) == line


def test_a_text_beyond_azures_limit_is_never_decoded() -> None:
    assert line_of("{" + "a" * MAX_MESSAGE_BYTES) is OVERSIZED
    assert line_of("{" + "\u00e9" * (MAX_MESSAGE_BYTES // 2)) is OVERSIZED  # short in characters, long in bytes
    assert line_of("{" + "a" * (MAX_MESSAGE_BYTES - 1)) is not OVERSIZED


def test_a_result_too_long_for_a_message_loses_its_detail_not_its_status() -> None:
    small = orjson.dumps({"jobId": "j", "status": "rejected", "error": {"kind": "validation", "message": "m"}})
    assert result_text(small) == small.decode()
    detail = [{"loc": f"f{i}", "message": "x" * 100} for i in range(1000)]
    big = orjson.dumps(
        {"jobId": "j", "status": "rejected", "error": {"kind": "validation", "message": "m", "detail": detail}}
    )
    cut = orjson.loads(result_text(big))
    assert cut["status"] == "rejected"
    assert cut["error"]["kind"] == "validation"
    assert cut["error"]["detail"] is None
    assert "detail cut" in cut["error"]["message"]
    assert len(result_text(big).encode()) <= MAX_MESSAGE_BYTES


def test_a_poison_message_carries_the_line_and_why_or_the_line_alone_when_that_is_too_long() -> None:
    assert orjson.loads(poison_text("m1", 5, "boom", LINE.decode())) == {
        "messageId": "m1",
        "dequeueCount": 5,
        "lastError": "boom",
        "message": LINE.decode(),
    }
    long_line = '{"a": "' + '\\"' * (MAX_MESSAGE_BYTES // 3) + '"}'  # escapes double its length in an envelope
    assert poison_text("m1", 5, "boom", long_line) == long_line
