"""A Graph whose TLS certificate is not trusted is a systemic failure: the run stops at once, naming the host.

Here and not in tests/e2e because the throwaway CA (`tls`) is an auth fixture.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.auth.conftest import Tls
from tests.conftest import TOKEN, read_results, run_args, run_cli, write_lines
from worker.emulator.config import EmulatorConfig
from worker.emulator.running import start_emulator


async def test_an_untrusted_certificate_stops_the_run_naming_the_host(tls: Tls, tmp_path: Path) -> None:
    lines = [{"jobId": f"j{i}", "action": "Update"} for i in range(500)]
    source = write_lines(tmp_path / "in.jsonl", lines)
    results = tmp_path / "results.jsonl"
    config = EmulatorConfig(accepted_tokens=frozenset({TOKEN}))
    async with await start_emulator(config, ssl_context=tls.server_context) as graph:
        started = time.monotonic()
        done = await run_cli(  # no graph.ca_bundle: the system store does not know the test CA
            *run_args(source, graph.base_url, results),
            "--no-progress",
            env={"GRAPH_TOKEN": TOKEN},
        )
        elapsed = time.monotonic() - started
        received = graph.requests()

    assert done.code == 2, done.stderr
    assert elapsed < 10
    (stopped,) = [line for line in done.stderr.splitlines() if line.startswith("patch-worker: stopped:")]
    assert graph.base_url.split("//")[1].split("/")[0] in stopped  # 127.0.0.1:PORT
    assert "Certificate" in stopped
    assert received == []
    rows = read_results(results)
    assert len(rows) == 500
    assert {row["error"]["kind"] for row in rows} == {"not_sent"}
    assert TOKEN not in done.stdout + done.stderr + results.read_text()
