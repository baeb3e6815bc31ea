"""The step-through page in a real browser: headless Chromium driven by selenium.

Run with ``make test-browser`` (it installs Debian's ``chromium`` and ``chromium-driver`` and
selenium when missing). Moving the slider must change the frame, the page must log no console
error, the graph's text must render at least 10 px tall at the default window size, and with
JavaScript off every frame must be shown. Without a browser the tests are skipped with what
to install, except under ``CI=true``, where they fail: CI must not pass without running them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.viz import find_renderer, save_stepper

pytestmark = pytest.mark.browser

INSTALL = (
    "the browser test needs headless Chromium, its driver and selenium: "
    "apt-get install chromium chromium-driver; pip install selenium "
    "(`make test-browser` installs them)"
)
# The network is closed: nothing may start a download, an update or a sync.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


def _missing(what: str) -> None:
    message = f"{what} is missing; {INSTALL}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _tools() -> tuple[str, str]:
    try:
        import selenium  # noqa: F401
    except ImportError:
        _missing("selenium")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None:
        _missing("chromium")
    if driver is None:
        _missing("chromedriver (Debian's chromium-driver)")
    return browser, driver


@pytest.fixture
def page(tmp_path: Path) -> Path:
    if find_renderer() is None:
        _missing("a Graphviz renderer (pip install 'tinygrad_edu[render]')")
    w = Tensor(np.array([0.5, -1.5]), requires_grad=True, name="w")
    x = Tensor(np.array([2.0, 1.0]), name="x")
    b = Tensor(np.array([0.1, 0.3]), requires_grad=True, name="b")
    loss = (w * x + b).tanh().sum()
    loss.name = "L"
    loss.backward()  # the micrograd order: backward first, then look at it
    return save_stepper(loss, tmp_path / "film", quiet=True)


def _start(tmp_path: Path, javascript: bool = True):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = _tools()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tmp_path / ("profile-js" if javascript else "profile-no-js")  # fresh each run
    options.add_argument(f"--user-data-dir={profile}")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def _shown_frames(driver) -> list[str]:
    return [s.get_attribute("id") for s in driver.find_elements("css selector", "section.frame")
            if s.is_displayed()]


def test_slider_changes_the_frame_without_console_errors_and_text_is_readable(page, tmp_path):
    from selenium.webdriver.common.keys import Keys

    driver = _start(tmp_path)
    try:
        driver.get(page.as_uri())
        assert _shown_frames(driver) == ["frame-1"]
        slider = driver.find_element("id", "slider")
        assert slider.get_attribute("max") == "4"
        slider.send_keys(Keys.ARROW_RIGHT)  # the user's own way of moving it
        assert _shown_frames(driver) == ["frame-2"]
        assert slider.get_attribute("value") == "2"
        assert driver.find_element("id", "counter").text == "step 2 of 4"
        slider.send_keys(Keys.END)
        assert _shown_frames(driver) == ["frame-4"]
        driver.find_element("id", "prev").click()
        assert _shown_frames(driver) == ["frame-3"]

        # The graph's text at the default window size: every label at least 10 px tall.
        heights = driver.execute_script(
            "return Array.from(document.querySelectorAll('section.current svg text'))"
            ".map(function (t) { return t.getBoundingClientRect().height; });")
        assert len(heights) > 10
        assert min(heights) >= 10, sorted(heights)[:5]
        # Zooming in makes it larger still; 1:1 brings back the natural size.
        driver.find_element("id", "zoom-in").click()
        larger = driver.execute_script(
            "return document.querySelector('section.current svg text')"
            ".getBoundingClientRect().height;")
        assert larger > heights[0] * 1.2
        driver.find_element("id", "zoom-reset").click()

        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()


def test_without_javascript_every_frame_is_shown(page, tmp_path):
    driver = _start(tmp_path, javascript=False)
    try:
        driver.get(page.as_uri())
        assert _shown_frames(driver) == [f"frame-{k}" for k in range(1, 5)]
        links = [a.get_attribute("href") for a in driver.find_elements("css selector", "a")]
        assert [Path(link).name for link in links] == [f"step_00{k}.svg" for k in range(1, 5)]
    finally:
        driver.quit()
