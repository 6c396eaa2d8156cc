"""An Azure queue producer in its own process: `python -m tests.consume.azure_producer QUEUE COUNT [base64]`.

Reads the connection string from AZURE_STORAGE_CONNECTION_STRING and sends COUNT jobs (the lines of
`tests.consume.producer`, job N with jobId `job-N`), 32 at a time (an Azure queue takes one message per
request), so the consumers run while it produces. With `base64`, every other message is base64 of its line,
as Azure Functions writes them.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys

from azure.storage.queue.aio import QueueClient

from tests.consume.producer import line, template

SENDERS = 32


async def produce(connection_string: str, queue: str, count: int, *, encode: bool) -> None:
    """Send `count` jobs from SENDERS concurrent senders."""
    seed = template()
    numbers = iter(range(count))

    async def sender(client: QueueClient) -> None:
        for index in numbers:
            text = line(index, seed)
            await client.send_message((base64.b64encode(text) if encode and index % 2 else text).decode())

    async with QueueClient.from_connection_string(connection_string, queue) as client:
        await asyncio.gather(*(sender(client) for _ in range(SENDERS)))


if __name__ == "__main__":
    asyncio.run(
        produce(
            os.environ["AZURE_STORAGE_CONNECTION_STRING"],
            sys.argv[1],
            int(sys.argv[2]),
            encode=sys.argv[3:] == ["base64"],
        )
    )
