"""One function per command: build its request from the parsed flags, run it, print its summary, say its exit code.

Anything only one command needs (the emulator, the service, the queue clients, the demo) is imported inside
that command's function: `run`'s start-up stays lean.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from worker import loop as event_loop
from worker.app import RunRequest, run_file
from worker.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, exit_code
from worker.cli.flag_settings import overrides, settings_for
from worker.errors import ConfigError, listening
from worker.record.logging import configure_logging
from worker.record.results import refuse_to_overwrite
from worker.record.summary import RunSummary, print_summary
from worker.settings import load_settings

DEFAULT_RESULTS = "results.jsonl"


def _stopped_line(summary: RunSummary, *, resumable: bool) -> str:
    """The one line that says a systemic failure stopped the run, and what to do."""
    not_sent = summary.by_error["not_sent"]
    then = "run the same command again to send them" if resumable else "run again (--state DIR would send only them)"
    return f"patch-worker: stopped: {summary.stopped_by}. {not_sent} lines not sent: fix it and {then}."


def _summary_stream(results: str | None) -> Any:
    """Where the summary goes: stderr when the results take stdout."""
    return sys.stderr if results == "-" else sys.stdout


def cmd_run(ns: argparse.Namespace) -> int:
    """`patch-worker run`."""
    settings = settings_for(ns)
    results = settings.run.results
    if results is None and ns.state is None and not ns.dry_run:  # a dry run writes no file unless asked to
        results = DEFAULT_RESULTS
    state = None if ns.dry_run else ns.state
    if results is not None and state is None and not ns.overwrite:
        refuse_to_overwrite(results)
    progress = not ns.no_progress and not ns.dry_run  # a dry run sends nothing: there is no progress to count
    request = RunRequest(
        input=ns.input,
        results=results,
        dry_run=ns.dry_run,
        progress=progress,
        state=state,
        learned_from=ns.state if ns.dry_run else None,
    )
    try:
        summary = event_loop.run(run_file(settings, request), settings.run.event_loop)
    except asyncio.CancelledError:  # a second signal: stopped at once, results so far are intact
        print("patch-worker: stopped at once; run again with the same --state to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    print_summary(
        summary,
        _summary_stream(request.results),
        title="patch-worker dry run" if ns.dry_run else "patch-worker run",
    )
    if summary.stopped_by:
        print(_stopped_line(summary, resumable=state is not None), file=sys.stderr)
    return exit_code(summary)


def cmd_validate(ns: argparse.Namespace) -> int:
    """`patch-worker validate`."""
    settings = settings_for(ns)
    request = RunRequest(input=ns.input, results=ns.results, dry_run=True, progress=False, log_rejected=False)
    summary = event_loop.run(run_file(settings, request), settings.run.event_loop)
    summary.plan = None  # validate checks lines; the plan is `run --dry-run`'s
    print_summary(summary, _summary_stream(request.results), title="patch-worker validate")
    return exit_code(summary)


def cmd_demo(ns: argparse.Namespace) -> int:
    """`patch-worker demo`."""
    from worker.demo import run_demo  # the demo pulls in the emulator app; keep `run` start-up lean

    configure_logging("error", "auto")
    return run_demo(ns.input, ns.results)


def cmd_emulate(ns: argparse.Namespace) -> int:
    """`patch-worker emulate`."""
    from worker.emulator.flags import config_from_args, ssl_context_from_args
    from worker.emulator.running import run_forever  # the server side is not needed by `run`

    configure_logging("info", "auto")  # a client going away is a debug line: not shown
    with listening(ns.host, ns.port):
        run_forever(config_from_args(ns), ns.host, ns.port, ssl_context_from_args(ns))
    return EXIT_OK


def cmd_serve(ns: argparse.Namespace) -> int:
    """`patch-worker serve`."""
    from worker.service.server import serve  # the service side is not needed by `run`

    given = overrides(ns)
    service = {"host": ns.host, "port": ns.port, "state_dir": ns.state_dir, "queue": ns.queue}
    given.setdefault("service", {}).update({k: v for k, v in service.items() if v is not None})
    settings = load_settings(ns.config, given)
    configure_logging(settings.log.level, settings.log.format)
    try:
        with listening(settings.service.host, settings.service.port):
            event_loop.run(serve(settings), settings.run.event_loop)
    except asyncio.CancelledError:  # a second signal: stopped at once; batches resume at the next start
        print("patch-worker: stopped at once; running batches resume at the next start", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_submit(ns: argparse.Namespace) -> int:
    """`patch-worker submit`."""
    from worker.service.client import SubmitRequest, print_status, submit
    from worker.service.client import exit_code as status_exit_code

    api_key = os.environ.get(ns.api_key_env)
    if not api_key:
        print(f"patch-worker: error: set {ns.api_key_env} to the service's API key", file=sys.stderr)
        return EXIT_USAGE
    request = SubmitRequest(
        path=Path(ns.input),
        server=ns.server,
        api_key=api_key,
        name=ns.name,
        wait=ns.wait,
        poll_s=ns.poll,
        results=ns.results,
        progress=not ns.no_progress,
    )
    status = event_loop.run(submit(request, sys.stdout))
    if ns.wait:
        print_status(status, sys.stdout)
    return status_exit_code(status)


def cmd_consume(ns: argparse.Namespace) -> int:
    """`patch-worker consume`."""
    from worker.consume.command import ConsumeRequest, consume  # the queue clients are not needed by `run`
    from worker.consume.health import parse_listen

    if ns.idle_s <= 0:
        raise ConfigError("--idle-s must be above 0")
    settings = settings_for(ns)
    request = ConsumeRequest(
        url=ns.source,
        stream=ns.stream,
        group=ns.group,
        until_empty=ns.until_empty,
        idle_s=ns.idle_s,
        listen=None if ns.listen is None else parse_listen(ns.listen),
    )
    try:
        summary = event_loop.run(consume(settings, request), settings.run.event_loop)
    except asyncio.CancelledError:  # a second signal: stopped at once; messages without a result stay queued
        print("patch-worker: stopped at once; messages without a result stay in the queue", file=sys.stderr)
        return EXIT_INTERRUPTED
    print_summary(summary, sys.stdout, title="patch-worker consume")
    if summary.stopped_by:
        print(f"patch-worker: stopped: {summary.stopped_by}. Messages not sent stay in the queue.", file=sys.stderr)
    if not request.until_empty and not summary.stopped_by:  # a long-lived consumer drained: its results say the rest
        return EXIT_OK
    return exit_code(summary)
