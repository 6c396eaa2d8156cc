"""The command line: every command's flags, with help that teaches (parsed only, nothing run here)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from worker.cli.help_text import DESCRIPTION, EPILOG


class _Parser(argparse.ArgumentParser):
    """Every subcommand's parser: no abbreviated flags (`--result` must not quietly mean `--results`).

    `add_later` adds a subcommand's arguments only when that subcommand is parsed: `emulate`'s many flags
    would otherwise import the emulator into every `run`'s start-up.
    """

    def __init__(self, *, add_later: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(**kwargs)
        self._add_later = add_later

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        """Parse, once any arguments left for later are added."""
        if self._add_later is not None:
            add, self._add_later = self._add_later, None
            add(self)
        return super().parse_known_args(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, with help that teaches."""
    parser = argparse.ArgumentParser(
        prog="patch-worker",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    _add_run(commands)
    _add_validate(commands)
    _add_demo(commands)
    _add_serve(commands)
    _add_submit(commands)
    _add_consume(commands)
    commands.add_parser(
        "emulate",
        help="serve the local Graph emulator (for tests, demos and benchmarks)",
        description="Serve a local Microsoft Graph emulator that answers PATCH and $batch like Graph, with knobs for "
        "latency, quotas and faults. Inspect what it received at /_emulator/requests and /_emulator/stats.",
        add_later=_emulator_arguments,
    )
    return parser


def _emulator_arguments(emulate: argparse.ArgumentParser) -> None:
    from worker.emulator.flags import add_emulator_arguments  # only when `emulate` is the command

    add_emulator_arguments(emulate)


def _add_common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--config", type=Path, metavar="FILE", help="YAML settings file (see config.yaml)")
    sub.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="default: info")
    sub.add_argument(
        "--log-format",
        choices=["auto", "json", "console"],
        help="auto: console on a terminal, JSON lines otherwise",
    )


def _add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="send every update in a JSONL file",
        description="Validate and send every line of FILE (or stdin, '-'; .gz is decompressed). Bad lines "
        "become 'rejected' results and the run goes on. Each line gets exactly one result line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("input", metavar="FILE", help="JSONL input, '-' for stdin")
    _add_common(run)
    run.add_argument("--base-url", help="Graph base URL (default https://graph.microsoft.com/beta)")
    run.add_argument(
        "--results",
        metavar="PATH",
        help="results JSONL, '-' for stdout (default results.jsonl, or DIR/results.jsonl with --state; "
        "none for --dry-run)",
    )
    run.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help="keep resume state in DIR: after a crash or Ctrl-C, run the same command again to send only "
        "the jobs without a final result (a different input with the same DIR is refused); what each lane "
        "learned of its quota is kept there too (DIR/lanes.json), and the next run starts from it",
    )
    _add_sending(run)
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing results file (without it, an existing file is refused: use --state to resume)",
    )
    run.add_argument("--dry-run", action="store_true", help="validate and plan, send nothing")
    run.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")


def _add_sending(sub: argparse.ArgumentParser) -> None:
    """How hard to push: the flags `run` and `consume` share."""
    sub.add_argument(
        "--concurrency", type=int, metavar="N", help="requests in flight per lane (tenant) at most (default 32)"
    )
    sub.add_argument(
        "--rate",
        type=float,
        metavar="R",
        help="requests/s per lane (tenant) at most; default 0 = learn it from Graph's 429s and throttle hints",
    )
    sub.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="1 = one PATCH per job (default); 2..20 = up to N PATCHes per POST /$batch",
    )


def _add_consume(commands: Any) -> None:
    consume = commands.add_parser(
        "consume",
        help="send the jobs producers push into a queue, for as long as it runs",
        description="Take input lines from a queue and send them like `run`; each message gets one result in the\n"
        "results destination, then leaves the queue. Redis Streams: producers run XADD NAME * job '<line>';\n"
        "results go to NAME:results, jobs given up after queue.max_deliveries to NAME:dead.\n"
        "Azure Storage queues (AZURE_STORAGE_CONNECTION_STRING): a message's text is the line, or base64 of it;\n"
        "results go to QUEUE-results, jobs given up to QUEUE-poison.\n"
        "SIGTERM drains (jobs in flight get run.grace_s); messages without a result stay in the queue.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    consume.add_argument("source", metavar="URL", help="redis://HOST:6379/0 (or rediss://), azure-queue://QUEUE")
    _add_common(consume)
    consume.add_argument("--stream", metavar="NAME", help="Redis: the stream producers XADD jobs to (required)")
    consume.add_argument("--group", default="patch-worker", help="Redis: the consumer group (default: %(default)s)")
    consume.add_argument(
        "--until-empty",
        action="store_true",
        help="exit once the queue has been empty, with nothing in flight, for --idle-s (exit codes as `run`)",
    )
    consume.add_argument("--idle-s", type=float, default=5.0, metavar="S", help="default: %(default)s")
    consume.add_argument("--base-url", help="Graph base URL (default https://graph.microsoft.com/beta)")
    _add_sending(consume)
    consume.add_argument(
        "--listen", metavar="HOST:PORT", help="serve /healthz, /readyz and /metrics there (default: none)"
    )


def _add_validate(commands: Any) -> None:
    validate = commands.add_parser(
        "validate",
        help="check every line of a JSONL file, send nothing",
        description="Check every line of FILE; print a result line for each rejected line and a summary. "
        "Exit 0 when every line is valid, 1 otherwise.",
    )
    validate.add_argument("input", metavar="FILE", help="JSONL input, '-' for stdin")
    _add_common(validate)
    validate.add_argument("--results", metavar="PATH", default="-", help="where rejections go (default: stdout)")


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the shipped examples against the built-in Graph emulator",
        description="Start the Graph emulator in this process (with a little latency and a few injected "
        "503s so retries show), run examples/updates.jsonl through it and show every result.",
    )
    demo.add_argument("--input", default=None, metavar="FILE", help="default: the shipped examples/updates.jsonl")
    demo.add_argument("--results", default="demo-results.jsonl", metavar="PATH", help="default: %(default)s")


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the long-lived service: an HTTP API that takes JSONL batches",
        description="Serve POST /v1/batches (a JSONL body), GET /v1/batches/{id}, .../results, DELETE (cancel), "
        "/healthz, /readyz and /metrics. Every /v1 request needs 'Authorization: Bearer KEY' with the key from "
        "PATCH_WORKER_SERVICE__API_KEY or service.api_key_file. Batches are kept under service.state_dir and "
        "resumed after a restart; with service.queue = redis://... replicas share the work. SIGTERM drains: "
        "jobs in flight get run.grace_s to finish, running batches are resumed at the next start.",
    )
    _add_common(serve)
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    serve.add_argument("--port", type=int, help="port to listen on, 0 picks a free one (default 8080)")
    serve.add_argument("--state-dir", type=Path, metavar="DIR", help="where batches are kept (default ./state)")
    serve.add_argument("--base-url", help="Graph base URL (default https://graph.microsoft.com/beta)")
    serve.add_argument("--queue", metavar="URL", help="redis://HOST:6379/0: distributed mode (default: embedded)")


def _add_submit(commands: Any) -> None:
    submit = commands.add_parser(
        "submit",
        help="hand a JSONL file to a running service",
        description="Stream FILE to a running `patch-worker serve` and print the batch id. With --wait, follow "
        "the batch to its end and print a summary. Exit codes: 0 all succeeded (or submitted, without --wait), "
        "1 some failed or were rejected, or the batch was cancelled; 2 usage, connection or API-key error.",
    )
    submit.add_argument("input", metavar="FILE", help="JSONL file")
    submit.add_argument("--server", required=True, metavar="URL", help="the service, e.g. http://127.0.0.1:8080")
    submit.add_argument(
        "--api-key-env",
        default="PATCH_WORKER_SERVICE__API_KEY",
        metavar="NAME",
        help="environment variable holding the API key (default: %(default)s)",
    )
    submit.add_argument("--name", help="a label kept with the batch (metadata only)")
    submit.add_argument("--wait", action="store_true", help="wait for the batch to finish and print a summary")
    submit.add_argument(
        "--poll", type=float, default=1.0, metavar="S", help="seconds between status checks (default: %(default)s)"
    )
    submit.add_argument("--results", type=Path, metavar="PATH", help="with --wait: save the results JSONL here")
    submit.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
