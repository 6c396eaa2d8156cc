"""The web page in a real headless Chromium against a real service (embedded mode) and the emulator.

Selenium's calls block, so each browser scenario runs in a thread while the event loop serves the service
and the emulator; the scenario checks the page against the API with plain HTTP (requests).
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import EXAMPLES, TOKEN
from tests.service.conftest import redis_url
from tests.service.helpers import API_KEY, AUTH, numbered, service_settings, started, upload, wait_for_state
from tests.web.browser import browser, until
from worker.emulator.config import EmulatorConfig
from worker.emulator.running import start_emulator

__all__ = ["browser", "redis_url"]  # fixtures, used by name

#: where the README's screenshots are written when set (PATCH_WORKER_SCREENSHOTS=docs)
SHOTS = os.environ.get("PATCH_WORKER_SCREENSHOTS")


def shot(driver: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / name))


def by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def sign_in(driver: Any, url: str, key: str = API_KEY) -> None:
    driver.get(url + "/")
    field = until(lambda: by_id(driver, "key").is_displayed() and by_id(driver, "key"), what="the sign-in form")
    field.send_keys(key)
    field.submit()


def batch_id_of(driver: Any) -> str:
    found = until(lambda: re.search(r"#/batch/([0-9a-f]{32})$", driver.current_url), what="the batch page")
    return str(found.group(1))


def upload_and_watch(driver: Any, url: str) -> None:
    """Sign in (a wrong key first), upload the examples, watch them finish, read a rejected line, download."""
    assert requests.get(f"{url}/v1/lanes", timeout=10).status_code == 401  # no key: no data
    page = requests.get(f"{url}/", timeout=10)
    assert page.status_code == 200
    assert API_KEY not in page.text
    sign_in(driver, url, "not-the-key")
    until(lambda: "refused" in by_id(driver, "signin-error").text, what="the refusal")
    by_id(driver, "key").clear()
    sign_in(driver, url)
    until(lambda: by_id(driver, "list").is_displayed(), what="the batch list")
    by_id(driver, "file").send_keys(str(EXAMPLES))
    batch_id = batch_id_of(driver)
    final = ("succeeded", "failed")
    state = until(lambda: (text := by_id(driver, "batch-state").text) in final and text, what="the final state")
    expected = requests.get(f"{url}/v1/batches/{batch_id}", headers=AUTH, timeout=10).json()
    assert state == expected["state"]
    assert f"{expected['done']} of {expected['total']} lines" in by_id(driver, "batch-figures").text
    rejected = requests.get(f"{url}/v1/batches/{batch_id}/lines?status=rejected", headers=AUTH, timeout=10).json()
    field = next(row["error"]["detail"][0]["loc"] for row in rejected["lines"] if row["error"]["detail"])
    until(lambda: field in by_id(driver, "lines").text, what=f"the rejected field {field!r}")
    by_id(driver, "download").click()
    target = driver.downloads / f"{batch_id}.results.jsonl"
    until(target.is_file, what="the downloaded results")
    api = requests.get(f"{url}/v1/batches/{batch_id}/results", headers=AUTH, timeout=10)
    until(lambda: target.read_bytes() == api.content, what="the whole download")
    driver.get(url + "/#/")
    until(lambda: batch_id in by_id(driver, "batches").get_attribute("innerHTML"), what="the batch in the list")
    shot(driver, "web-batches.png")
    assert API_KEY not in driver.page_source


@pytest.mark.parametrize("mode", ["embedded", "redis"])
async def test_sign_in_upload_watch_and_download(
    browser: Any, tmp_path: Path, mode: str, request: pytest.FixtureRequest, capfd: pytest.CaptureFixture[str]
) -> None:
    queue = {"queue": request.getfixturevalue("redis_url")} if mode == "redis" else {}
    config = EmulatorConfig(accepted_tokens=frozenset({TOKEN}), seed=1)
    async with (
        await start_emulator(config) as emulator,
        started(service_settings(emulator.base_url, tmp_path / "state", **queue)) as (service, _client),
    ):
        await asyncio.to_thread(upload_and_watch, browser, service.url)
    logged = capfd.readouterr()
    assert "service.draining" in logged.out + logged.err  # the service's log was captured (a warning)
    assert API_KEY not in logged.out + logged.err


def history_points(driver: Any) -> list[str]:
    """The points of the first lane's rate line (the last polyline of its chart)."""
    lines = by_id(driver, "lanes").find_elements("css selector", "polyline")
    return str(lines[-1].get_attribute("points")).split() if lines else []


def cancel_in_page(driver: Any, url: str, batch_id: str) -> None:
    """Open a throttled, running batch; see its lane's 429s; cancel it from the page."""
    sign_in(driver, url)
    driver.get(f"{url}/#/batch/{batch_id}")
    until(lambda: by_id(driver, "batch-state").text == "running", what="the running batch")
    until(lambda: by_id(driver, "lanes").find_elements("css selector", "line.throttled"), what="a 429 on the chart")
    until(lambda: len(history_points(driver)) >= 3, what="three seconds of rate history")
    shot(driver, "web-batch-throttled.png")
    by_id(driver, "cancel").click()
    until(lambda: by_id(driver, "batch-state").text in ("cancelling", "cancelled"), what="the cancellation")
    until(lambda: by_id(driver, "cancel").get_attribute("disabled"), what="a disabled cancel button")


@pytest.mark.timeout(180)
async def test_cancel_a_throttled_batch(browser: Any, tmp_path: Path) -> None:
    config = EmulatorConfig(accepted_tokens=frozenset({TOKEN}), seed=1, quota_per_s=4, quota_burst=2)
    async with (
        await start_emulator(config) as emulator,
        started(service_settings(emulator.base_url, tmp_path / "state")) as (service, client),
    ):
        created = await upload(client, numbered(400), name="throttled")
        await wait_for_state(client, created["id"], ("running",))
        await asyncio.to_thread(cancel_in_page, browser, service.url, created["id"])
        final = await wait_for_state(client, created["id"], ("cancelled",), timeout=60)
        assert final["done"] == 400
        assert final["counts"]["succeeded"] < 400
