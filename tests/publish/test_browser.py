"""The site in headless Chromium, opened from file:// with the network off: pages load without
console errors and without any request outside the site, the table sorts and filters, the
scatter's points open entry pages, Tab reaches the controls and links, axe-core finds no serious
or critical violation, and every level is written out (never told by colour alone)."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.a11y.axe import axe_available, axe_violations, describe

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = os.environ.get("MLEL_CHROMIUM", "/usr/bin/chromium")
if not (Path(CHROMIUM).exists() or shutil.which("chromium")) or not shutil.which("chromedriver"):
    pytestmark.append(pytest.mark.skip(reason="needs Debian's chromium + chromium-driver (make browser)"))

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOCAL = ("file://", "data:", "about:", "blob:", "chrome-error:")


@pytest.fixture(scope="module")
def driver():
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--window-size=1400,1000",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost"):  # no name resolves: no network
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=options)
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                 "downloadThroughput": -1, "uploadThroughput": -1})
    yield browser
    browser.quit()


def wait_for(driver, check, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check(driver)
        except Exception:  # noqa: BLE001 - not there yet
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def requests(driver) -> list[str]:
    """Every URL the page asked for since the last call (DevTools' Network.requestWillBeSent)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def open_page(driver, path: Path) -> list[str]:
    """Open a page; (its requests). Logs of earlier pages are drained first."""
    driver.get_log("performance"), driver.get_log("browser")
    driver.get(path.as_uri())
    wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete", what="load")
    return requests(driver)


def task_page(site: Path, prefix: str = "inference-a100") -> Path:
    return sorted((site / "tasks").glob(f"{prefix}*.html"))[0]


def entry_page(site: Path) -> Path:
    return sorted((site / "entries").glob("inference-a100*resnet50-*.html"))[0]


def test_pages_load_without_errors_or_outside_requests(driver, site):
    for path in (site / "index.html", task_page(site), task_page(site, "gpqa"), entry_page(site)):
        urls = open_page(driver, path)
        if "tasks" in path.parts:
            wait_for(driver, lambda d: d.execute_script("return document.querySelector('#scatter .main-svg') !== null"),
                     what="the scatter")
        time.sleep(0.2)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], f"{path.name}: {errors}"
        assert urls, "the performance log saw no request at all: the check would be blind"
        outside = [u for u in urls if not u.startswith(LOCAL)]
        assert outside == [], f"{path.name} asked outside the site: {outside}"
        inside = [u for u in urls if u.startswith("file://")]
        assert all(u.startswith(site.resolve().as_uri()) for u in inside), inside
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "publish_entry.png"))


def _column(driver, col: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#entries tbody tr')).filter(r => !r.hidden)"
        ".map(r => r.cells[arguments[0]].getAttribute('data-sort'))", col)


def test_the_table_sorts_and_filters(driver, site):
    open_page(driver, task_page(site))
    buttons = driver.find_elements("css selector", "#entries button.sort")
    buttons[0].click()
    names = _column(driver, 0)
    assert names == sorted(names)
    buttons[0].click()
    assert _column(driver, 0) == sorted(names, reverse=True)
    buttons[2].click()  # the energy column: numbers, not text
    energy = [float(v) for v in _column(driver, 2) if v]
    assert energy == sorted(energy) and len(energy) > 5
    header = driver.find_elements("css selector", "#entries thead th")[2]
    assert header.get_attribute("aria-sort") == "ascending"
    box = driver.find_element("css selector", "#filter")
    box.send_keys("resnet")
    shown = _column(driver, 0)
    assert shown and all("resnet" in name for name in shown) and len(shown) < len(names)
    assert "entries shown" in driver.find_element("css selector", "#filter-count").text
    box.clear()
    box.send_keys(Keys.SPACE, Keys.BACKSPACE)
    driver.execute_script("const s = document.getElementById('level-filter'); s.value = 'C';"
                          "s.dispatchEvent(new Event('change'));")
    levels = driver.execute_script("return Array.from(document.querySelectorAll('#entries tbody tr'))"
                                   ".filter(r => !r.hidden).map(r => r.cells[1].textContent.trim())")
    assert levels and all(level.startswith("C") for level in levels)


def test_scatter_points_open_entry_pages(driver, site):
    page = task_page(site)
    open_page(driver, page)
    wait_for(driver, lambda d: d.execute_script("return document.querySelector('#scatter .main-svg') !== null"),
             what="the scatter")
    links = driver.execute_script("return document.getElementById('scatter').data"
                                  ".flatMap(t => t.customdata || [])")
    rows = len(driver.find_elements("css selector", "#entries tbody tr"))
    assert len(links) >= rows - 3  # hostile copies aside, every entry has a point
    for link in links:
        assert (page.parent / link).resolve().is_file(), link
    point = driver.find_elements("css selector", "#scatter .scatterlayer .trace .point")[0]
    ActionChains(driver).move_to_element(point).pause(0.3).click().perform()
    wait_for(driver, lambda d: "/entries/" in d.current_url, what="the entry page after a click")
    assert driver.find_element("css selector", "h1").text


def _tab_through(driver, times: int, stop_at: str = "") -> list[dict]:
    """Press Tab up to ``times`` times from the top of a freshly opened page: what got the focus."""
    seen = []
    for _ in range(times):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        seen.append(driver.execute_script(
            "const e = document.activeElement; return {tag: e.tagName, id: e.id, href: e.getAttribute('href') || '',"
            " inTable: !!e.closest('#entries'), inResults: !!e.closest('#search-results')}"))
        if stop_at and seen[-1]["id"] == stop_at:
            break
    return seen


def test_keyboard_reaches_search_table_and_entry_links(driver, site):
    open_page(driver, site / "index.html")
    assert _tab_through(driver, 8, stop_at="search")[-1]["id"] == "search"
    ActionChains(driver).send_keys("resnet").perform()  # typed where the focus is
    wait_for(driver, lambda d: d.find_elements("css selector", "#search-results a"), what="search results")
    seen = _tab_through(driver, 2)
    assert any(s["inResults"] and "entries/" in s["href"] for s in seen), seen
    open_page(driver, task_page(site))
    seen = _tab_through(driver, 20)
    assert any(s["id"] == "filter" for s in seen) and any(s["id"] == "level-filter" for s in seen)
    assert any(s["inTable"] and s["tag"] == "BUTTON" for s in seen)
    assert any(s["inTable"] and "entries/" in s["href"] for s in seen), seen


@pytest.mark.skipif(not axe_available(), reason="axe-core not installed (make axe)")
def test_axe_finds_no_serious_violation(driver, site):
    for path in (site / "index.html", task_page(site), entry_page(site)):
        open_page(driver, path)
        time.sleep(0.3)
        violations = axe_violations(driver)
        assert violations == [], f"{path.name}:\n{describe(violations)}"


def test_a_level_is_never_told_by_colour_alone(driver, site):
    for path in (site / "index.html", task_page(site), entry_page(site)):
        open_page(driver, path)
        empty = driver.execute_script(
            "return Array.from(document.querySelectorAll('[class*=\"level-\"]')).filter(e => e.matches('.level'))"
            ".filter(e => !e.textContent.trim()).length")
        assert empty == 0
        coloured = driver.execute_script("return document.querySelectorAll('.level').length")
        assert coloured > 0
    legend = driver.execute_script("return document.querySelector('.grade').textContent")
    assert "Compound rating:" in legend
