"""ELEx in headless Chromium (dash_duo): what a person does, on the 232 logs of 2022.

Screenshots go to test-artifacts/ (git-ignored); look at them after a change of layout.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from mlel.elex.app import create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
if not (Path("/usr/bin/chromium").exists() or shutil.which("chromium")) or not shutil.which("chromedriver"):
    pytestmark.append(pytest.mark.skip(reason="needs Debian's chromium + chromium-driver (make browser)"))

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
POINTS_JS = """
const graph = document.querySelector('#elex-scatter .js-plotly-plot');
if (!graph || !graph.data) return null;
return graph.data.filter(t => t.customdata).reduce((n, t) => n + t.x.length, 0);
"""
TITLE_JS = "const g = document.querySelector('#elex-scatter .js-plotly-plot'); " \
           "return g && g.layout ? [g.layout.title.text, g.layout.xaxis.title.text] : null;"
BARS_JS = "const g = document.querySelector('#elex-bars .js-plotly-plot'); " \
          "return g && g.data ? g.data.map(t => t.x.reduce((a, b) => a + b, 0)) : null;"


def wait_for(driver, check, timeout=15.0, what="condition"):
    """Poll ``check(driver)`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check(driver)
        except Exception:  # element not there yet, stale after a re-render
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def points(driver):
    return driver.execute_script(POINTS_JS)


def text(driver, selector):
    return driver.find_element("css selector", selector).text


@pytest.fixture
def elex(dash_duo, elex_data):
    dash_duo.start_server(create_app(elex_data))  # loaded once per run
    wait_for(dash_duo.driver, lambda d: points(d) == 176, 30, "176 inference points")
    return dash_duo


def screenshot(driver, name):
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def test_page_loads_and_task_environment_axes_update_the_graph(elex):
    driver = elex.driver
    assert "232 logs" in text(driver, "#elex-info")
    assert wait_for(driver, BARS_JS and (lambda d: d.execute_script(BARS_JS)), what="bars") and \
        sum(driver.execute_script(BARS_JS)) == 176
    screenshot(driver, "elex_page.png")
    model_filter = elex.find_element("#elex-table .ag-floating-filter[aria-colindex='1'] input")
    model_filter.send_keys("ResNet15" + Keys.ENTER)  # filtered on the server: ResNet152 only
    wait_for(driver, lambda d: {c.text for c in d.find_elements(
        "css selector", "#elex-table .ag-center-cols-container .ag-cell[col-id='model']")} == {"ResNet152"},
             what="table filter")
    elex.find_elements("#elex-environments input")[0].click()  # A100 x8 - PyTorch: 22 models
    wait_for(driver, lambda d: points(d) == 154, what="one environment fewer")
    elex.select_dcc_dropdown("#elex-x", value="Parameters [M]")
    wait_for(driver, lambda d: d.execute_script(TITLE_JS)[1].startswith("Parameters"), what="x axis")
    elex.find_element("#elex-scale input[value='real']").click()
    wait_for(driver, lambda d: "[M]" in d.execute_script(TITLE_JS)[1], what="real scale")
    elex.find_element("#elex-task input[value='training']").click()
    wait_for(driver, lambda d: d.execute_script(TITLE_JS)[0].startswith("56 training"), what="training")
    assert points(driver) == 56  # a new task shows all its environments again
    screenshot(driver, "elex_training.png")


def test_moving_a_boundary_slider_changes_ratings(elex):
    driver = elex.driver
    before_text = text(driver, "#elex-x-bounds-text")
    before_bars = wait_for(driver, lambda d: d.execute_script(BARS_JS), what="bars")
    thumb = elex.find_element("#elex-x-bounds .dash-slider-thumb-4")  # b0, the A boundary
    thumb.send_keys(Keys.END)  # as far right as it goes: A gets much harder
    wait_for(driver, lambda d: text(d, "#elex-x-bounds-text") != before_text, what="new boundaries")
    after = wait_for(driver, lambda d: (b := d.execute_script(BARS_JS)) != before_bars and b, what="new ratings")
    assert sum(after) == sum(before_bars) == 176
    assert after[0] <= before_bars[0]  # no more compound A than before
    assert text(driver, "#elex-x-bounds-text").startswith("b0 ")


def test_hover_and_click_show_the_label_then_a_bad_upload_shows_an_error(elex, tmp_path):
    driver = elex.driver
    point = elex.find_element("#elex-scatter .scatterlayer .trace .point")
    ActionChains(driver).move_to_element(point).perform()
    wait_for(driver, lambda d: d.find_element("css selector", "#elex-label").get_attribute("src"), what="label")
    model = wait_for(driver, lambda d: text(d, "#elex-summary .elex-summary-title"), what="summary")
    assert model.split()[0] in driver.find_element("css selector", "#elex-label").get_attribute("src") or \
        driver.find_element("css selector", "#elex-label").get_attribute("src").startswith("data:image/")
    ActionChains(driver).move_to_element(point).click().perform()
    ActionChains(driver).move_to_element(elex.find_element("#elex-info")).perform()  # tooltip away
    driver.set_window_size(1400, 1500)  # the whole page, table included, for a person to look at
    time.sleep(0.8)
    screenshot(driver, "elex_label.png")
    driver.set_window_size(1400, 1000)

    before = text(driver, "#elex-x-bounds-text")
    bad = tmp_path / "boundaries.json"
    bad.write_text('{"inference_power_draw": [0.1, 0.2, 0.3, 0.4]}')  # ascending: invalid
    elex.find_element("#elex-upload-boundaries input[type=file]").send_keys(str(bad))
    message = wait_for(driver, lambda d: "Error" in text(d, "#elex-message") and text(d, "#elex-message"),
                       what="error message")
    assert "descend" in message and "nothing was changed" in message
    assert text(driver, "#elex-x-bounds-text") == before
    good = tmp_path / "good.json"
    good.write_text('{"inference_power_draw": [4, 3, 2, 1]}')
    elex.find_element("#elex-upload-boundaries input[type=file]").send_keys(str(good))
    wait_for(driver, lambda d: text(d, "#elex-x-bounds-text").split()[:4] == ["b0", "4", "b1", "3"], what="uploaded bounds")


def test_two_browser_sessions_keep_separate_state(elex, dash_duo):
    first = elex.driver
    second = webdriver.Chrome(options=_options())
    try:
        second.get(dash_duo.server_url)
        wait_for(second, lambda d: points(d) == 176, 30, "second session loaded")
        x_default, y_default = text(second, "#elex-x-bounds-text"), text(second, "#elex-y-bounds-text")
        # session 1 calibrates (top-1 accuracy boundaries change; the 2022 power boundaries were
        # calibrated on these very logs and stay), session 2 drags its lowest power boundary
        elex.find_element("#elex-calibrate").click()
        wait_for(first, lambda d: text(d, "#elex-y-bounds-text") != y_default, what="calibrated in session 1")
        second.find_element("css selector", "#elex-x-bounds .dash-slider-thumb-1").send_keys(Keys.HOME)
        wait_for(second, lambda d: text(d, "#elex-x-bounds-text") != x_default, what="moved in session 2")
        time.sleep(0.5)  # give any cross-talk the chance to show
        assert text(second, "#elex-y-bounds-text") == y_default  # not calibrated by session 1
        assert text(first, "#elex-x-bounds-text") == x_default  # not dragged by session 2
        calibrated = text(first, "#elex-y-bounds-text")
        moved = text(second, "#elex-x-bounds-text")
        second.refresh()  # a reload keeps the session's own view: its address carries it
        wait_for(second, lambda d: points(d) == 176 and text(d, "#elex-x-bounds-text") == moved, 30,
                 "second session reloaded with its own view")
        second.get(dash_duo.server_url)  # the bare address starts from the defaults, not from anyone's tuning
        wait_for(second, lambda d: points(d) == 176, 30, "second session opened afresh")
        wait_for(second, lambda d: text(d, "#elex-x-bounds-text") == x_default, what="defaults after reload")
        assert text(second, "#elex-y-bounds-text") == y_default
        assert text(first, "#elex-y-bounds-text") == calibrated
    finally:
        second.quit()


def _options():
    from tests.conftest import pytest_setup_options

    options = pytest_setup_options()
    options.add_argument("--remote-debugging-port=0")
    return options
