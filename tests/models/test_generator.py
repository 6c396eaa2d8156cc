"""tools/generate_models.py is re-runnable: run on the pinned msgraph-sdk, it writes the checked-in v1.0 module.

(The beta module needs msgraph-beta-sdk, which is not a dependency: `uv run --with msgraph-beta-sdk==...`.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_v1_module_is_what_the_generator_writes(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "tools/generate_models.py", "v1.0", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert " models, " in done.stdout
    fresh = (tmp_path / "v1_0.py").read_text()
    assert fresh == (REPO / "worker/models/generated/v1_0.py").read_text(), "regenerate: see README"


def test_an_unknown_version_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "tools/generate_models.py", "v2.0"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "unknown version(s) ['v2.0']" in done.stderr
    assert "Traceback" not in done.stderr
