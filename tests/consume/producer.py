"""A producer in its own process, as a real one would be: `python -m tests.consume.producer URL STREAM COUNT`.

Adds COUNT jobs (`XADD STREAM * job LINE`), 500 per round trip with a short pause between rounds, so the
consumers run while it produces. Job N is an envelope with jobId `job-N`, its own object path and a body
whose `changeId` is `change-N`: each one can be told apart at the emulator.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson
import redis

from tests.conftest import EXAMPLES

CHUNK = 500
PAUSE_S = 0.02


def body(index: int) -> dict[str, Any]:
    """Job `index`'s body: the seed body with its own changeId."""
    seed: dict[str, Any] = orjson.loads(EXAMPLES.read_bytes().splitlines()[0])
    return {**seed, "changeId": f"change-{index}"}


def line(index: int, template: bytes) -> bytes:
    """Job `index`'s input line: `template` (a body's JSON with changeId "@") filled in without parsing."""
    own = template.replace(b'"@"', b'"change-%d"' % index)
    return b'{"jobId":"job-%d","path":"/auditLogs/provisioning/obj-%d","body":%s}' % (index, index, own)


def template() -> bytes:
    """The seed body's JSON with changeId "@"."""
    return orjson.dumps({**body(0), "changeId": "@"})


def produce(url: str, stream: str, count: int) -> None:
    """XADD `count` jobs in rounds of CHUNK."""
    client = redis.Redis.from_url(url)
    seed = template()
    for start in range(0, count, CHUNK):
        pipe = client.pipeline(transaction=False)
        for index in range(start, min(count, start + CHUNK)):
            pipe.xadd(stream, {"job": line(index, seed)})
        pipe.execute()
        time.sleep(PAUSE_S)  # paced on purpose: the consumers run while it produces
    client.close()


if __name__ == "__main__":
    produce(sys.argv[1], sys.argv[2], int(sys.argv[3]))
