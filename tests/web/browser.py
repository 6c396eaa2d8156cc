"""A real headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium, for the page's tests.

Without chromium the tests skip with the command that installs it, and fail under CI (`missing_dependency`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import missing_dependency

INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER = "/usr/bin/chromedriver"


def _binary() -> str | None:
    found = next((path for path in CHROMIUM if Path(path).is_file()), None) or shutil.which("chromium")
    return found if found and (Path(DRIVER).is_file() or shutil.which("chromedriver")) else None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium (a WebDriver), downloading into tmp_path/downloads; quit after the test."""
    binary = _binary()
    if binary is None:
        missing_dependency("chromium and chromium-driver (the web page's browser tests)", INSTALL)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing_dependency("selenium (the web page's browser tests)", "uv sync")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or DRIVER), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]  # where the test finds the downloads
    try:
        yield driver
    finally:
        driver.quit()


def until(check: Callable[[], Any], timeout: float = 30, what: str = "the page") -> Any:
    """Poll `check` until it returns something truthy (browser calls block: run them in a thread)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except Exception:  # an element replaced between two renders: try again
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)  # the polling interval (browser calls block: a thread, not the loop)
