"""Settings precedence: defaults < config file < environment < flags; config.yaml documents the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from worker.errors import ConfigError
from worker.settings import Settings, load_settings


def test_config_yaml_lists_every_default() -> None:
    assert load_settings(REPO / "config.yaml").model_dump() == Settings().model_dump()


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("run:\n  concurrency: 3\nretry:\n  max_attempts: 4\ngraph:\n  read_timeout_s: 5\n")
    monkeypatch.setenv("PATCH_WORKER_RETRY__MAX_ATTEMPTS", "5")
    monkeypatch.setenv("PATCH_WORKER_GRAPH__READ_TIMEOUT_S", "6")
    settings = load_settings(config, {"graph": {"read_timeout_s": 7}})
    assert settings.run.concurrency == 3  # file
    assert settings.retry.max_attempts == 5  # env beats file
    assert settings.graph.read_timeout_s == 7  # flag beats env


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("run:\n  concurrancy: 3\n")
    with pytest.raises(ConfigError, match=r"run\.concurrancy"):
        load_settings(config)


def test_token_is_secret() -> None:
    settings = load_settings(None, {"auth": {"token": "s3cret-value"}})
    assert "s3cret-value" not in repr(settings)
    assert "s3cret-value" not in str(settings.model_dump())
