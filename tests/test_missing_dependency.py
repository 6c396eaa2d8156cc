"""A test that cannot get its tool skips with the install command, and fails under CI (CI must run everything)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, cli_env

NEEDS_A_TOOL = """
from tests.conftest import missing_dependency

def test_needs_a_tool():
    missing_dependency("frobnicator", "apt-get install frobnicator")
"""


def _pytest(test_file: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in cli_env().items() if key != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-rs", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=env,
    )


def test_skip_names_the_install_command_and_fails_under_ci(tmp_path: Path) -> None:
    test_file = tmp_path / "test_tool.py"
    test_file.write_text(NEEDS_A_TOOL)
    here = _pytest(test_file, None)
    assert here.returncode == 0, here.stdout
    assert "1 skipped" in here.stdout
    assert "install it with: apt-get install frobnicator" in here.stdout
    under_ci = _pytest(test_file, "true")
    assert under_ci.returncode == 1, under_ci.stdout
    assert "1 failed" in under_ci.stdout
    assert "CI, which must run every test" in under_ci.stdout
