"""ELEx in headless Chromium for issues 12 and 14: pinned selection (item 5), editable boundaries
(6), readable ticks (7), a readable page at 1024×768 (9), and switching to an imported task (12)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from mlel.elex.app import create_app
from tests.elex.test_browser import ARTIFACTS, pytestmark, points, screenshot, text, wait_for  # noqa: F401

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference"
TICKS_JS = """
const g = document.querySelector('#elex-scatter .js-plotly-plot');
if (!g || !g._fullLayout || !g._fullLayout[arguments[0]]._vals) return null;
return g._fullLayout[arguments[0]]._vals.map(v => [v.x, String(v.text)]);
"""
RECT_JS = "const e = document.querySelector(arguments[0]); if (!e) return null; " \
          "const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];"


@pytest.fixture
def elex(dash_duo, elex_data):
    dash_duo.start_server(create_app(elex_data))  # loaded once per run
    wait_for(dash_duo.driver, lambda d: points(d) == 176, 30, "176 inference points")
    return dash_duo


def _point(elex, index):
    return elex.find_elements("#elex-scatter .scatterlayer .trace .point")[index]


def _pinned(driver):
    return text(driver, "#elex-pinned")


def test_a_click_pins_the_model_and_hover_only_previews(elex, tmp_path):
    """Item 5: click A, pass over B on the way to "Label PDF": A's label downloads."""
    driver = elex.driver
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    first, other = _point(elex, 0), _point(elex, -1)
    ActionChains(driver).move_to_element(first).click().perform()
    pinned = wait_for(driver, lambda d: _pinned(d).startswith("Pinned:") and _pinned(d), what="pinned")
    model = pinned.split("Pinned: ")[1].split(" · ")[0]
    ActionChains(driver).move_to_element(other).perform()
    preview = wait_for(driver, lambda d: "preview" in text(d, "#elex-summary .elex-summary-title")
                       and text(d, "#elex-summary .elex-summary-title"), what="preview of another model")
    assert not preview.startswith(model + " ")
    assert _pinned(driver) == pinned  # hovering never re-pins
    ActionChains(driver).move_to_element(other).move_to_element(elex.find_element("#elex-get-label")).click().perform()
    pdf = wait_for(driver, lambda d: [p for p in tmp_path.glob("*.pdf")], what="label PDF downloaded")[0]
    assert pdf.name.startswith(f"{model}_inference_"), (pdf.name, model)
    assert pdf.read_bytes().startswith(b"%PDF")
    # the pointer left the points: the pinned model is shown again
    wait_for(driver, lambda d: text(d, "#elex-summary .elex-summary-title").startswith(model + " "), what="pinned shown")


def test_each_boundary_is_editable_and_never_pushes_its_neighbours(elex):
    """Item 6: numbers beside the slider; a value past a neighbour is refused with a message."""
    driver = elex.driver
    before = text(driver, "#elex-x-bounds-text").split()
    b1 = elex.find_element("#elex-x-b1")
    b1.send_keys(Keys.CONTROL, "a")
    b1.send_keys("5" + Keys.ENTER)  # above b0 = 1.805: would have to push b0
    message = wait_for(driver, lambda d: "must lie between" in text(d, "#elex-message") and text(d, "#elex-message"),
                       what="refusal")
    assert "b0" in message and "nothing was changed" in message
    assert text(driver, "#elex-x-bounds-text").split() == before
    b1 = elex.find_element("#elex-x-b1")
    b1.send_keys(Keys.CONTROL, "a")
    b1.send_keys("1.5" + Keys.ENTER)
    wait_for(driver, lambda d: text(d, "#elex-x-bounds-text").split()[3] == "1.5", what="b1 = 1.5")
    after = text(driver, "#elex-x-bounds-text").split()
    assert after[:2] == before[:2] and after[4:] == before[4:]  # b0, b2, b3 untouched
    # the slider's tooltip opens above it: the read-out below stays visible
    elex.find_element("#elex-x-bounds .dash-slider-thumb-2").send_keys(Keys.ARROW_LEFT)
    time.sleep(0.5)
    readout = driver.execute_script(RECT_JS, "#elex-x-bounds-text")
    for tip in driver.find_elements("css selector", "[class*='tooltip'], [role='tooltip']"):
        rect = tip.rect
        if rect["width"] and rect["height"] and tip.is_displayed():
            overlaps = not (rect["x"] + rect["width"] <= readout[0] or rect["x"] >= readout[2]
                            or rect["y"] + rect["height"] <= readout[1] or rect["y"] >= readout[3])
            assert not overlaps, "the slider tooltip covers the boundary read-out"


def test_log_ticks_read_as_the_numbers_they_mark(elex):
    """Item 7: on an axis from ~0.7 to ~1.1 no tick reads a bare "2 3 … 9"."""
    driver = elex.driver
    for axis in ("xaxis", "yaxis"):
        ticks = wait_for(driver, lambda d: d.execute_script(TICKS_JS, axis), what=f"{axis} ticks")
        assert len(ticks) >= 2
        for position, label in ticks:
            assert float(label.replace("−", "-")) == pytest.approx(10 ** position, rel=1e-3), (axis, ticks)


def test_the_page_reads_well_at_1024_by_768(elex):
    """Item 9: no sideways scroll, title clear of the toolbar, axis names not cut, label zoom,
    a hint when no environment is chosen."""
    driver = elex.driver
    driver.set_window_size(1024, 768)
    time.sleep(1.0)
    widths = driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    ActionChains(driver).move_to_element(elex.find_element("#elex-scatter .plot-container")).perform()
    title = driver.execute_script(RECT_JS, "#elex-scatter .gtitle")
    modebar = driver.execute_script(RECT_JS, "#elex-scatter .modebar")
    assert title and modebar and (title[2] <= modebar[0] or title[1] >= modebar[3]), (title, modebar)
    cut = driver.execute_script("""
        const box = document.querySelector('#elex-x');
        return [...box.querySelectorAll('*')].filter(e => e.children.length === 0 && e.textContent.includes('['))
            .map(e => [e.scrollWidth, e.clientWidth, e.textContent]);""")
    assert cut and all(scroll <= client + 1 for scroll, client, _ in cut), cut
    screenshot(driver, "elex_1024x768.png")

    ActionChains(driver).move_to_element(_point(elex, 0)).click().perform()
    wait_for(driver, lambda d: d.find_element("css selector", "#elex-label").get_attribute("src"), what="label")
    driver.execute_script("document.querySelector('#elex-label').scrollIntoView()")
    small = elex.find_element("#elex-label").size["height"]
    elex.find_element("#elex-label").click()
    wait_for(driver, lambda d: "zoomed" in d.find_element("css selector", "#elex-label").get_attribute("class"),
             what="zoom")
    time.sleep(0.3)
    zoomed, viewport = elex.find_element("#elex-label").size["height"], driver.execute_script("return innerHeight")
    assert zoomed > small and zoomed >= 0.9 * viewport, (small, zoomed, viewport)  # fills the window
    elex.find_element("#elex-label").click()
    wait_for(driver, lambda d: "zoomed" not in d.find_element("css selector", "#elex-label").get_attribute("class"),
             what="zoom closed")

    for box in elex.find_elements("#elex-environments input"):
        if box.is_selected():
            driver.execute_script("arguments[0].click()", box)
    wait_for(driver, lambda d: "No environment chosen" in text(d, "#elex-scatter")
             and "No environment chosen" in text(d, "#elex-bars"), what="empty-selection hint")


@pytest.fixture(scope="module")
def mixed_results(tmp_path_factory, reference_dir):
    """The 2022 logs beside imported ML.ENERGY leaderboard records (LLM and diffusion tasks)."""
    from mlel.importers.common import write_records
    from mlel.importers.mlenergy import import_mlenergy

    folder = tmp_path_factory.mktemp("mixed")
    for log in reference_dir.glob("*.json"):
        (folder / log.name).symlink_to(log)
    write_records(import_mlenergy(SHARED / "ml-energy-leaderboard").records, folder)
    return folder


@pytest.fixture(scope="module")
def mixed_data(mixed_results):
    """The mixed folder read once for this module's tests."""
    from mlel.elex.state import ElexData

    return ElexData.load(mixed_results)


def test_switching_to_an_imported_task_shows_its_own_axes(dash_duo, mixed_data):
    """Issue 12: the task chooser lists every task present; an imported one has its own axes."""
    dash_duo.start_server(create_app(mixed_data))
    driver = dash_duo.driver
    wait_for(driver, lambda d: points(d) == 176, 30, "176 inference points")
    tasks = {e.get_attribute("value") for e in dash_duo.find_elements("#elex-task input")}
    assert {"inference", "training", "lm-arena-chat", "text-to-image"} <= tasks
    dash_duo.find_element("#elex-task input[value='lm-arena-chat']").click()
    title = wait_for(driver, lambda d: (t := d.execute_script(
        "const g = document.querySelector('#elex-scatter .js-plotly-plot'); "
        "return g && g.layout ? [g.layout.title.text, g.layout.xaxis.title.text] : null;")) and
        "lm-arena-chat" in t[0] and t, what="lm-arena-chat drawn")
    assert title[1].startswith("Energy per token")
    options = wait_for(driver, lambda d: text(d, "#elex-x"), what="x axis")
    assert "Energy per token" in options
    wait_for(driver, lambda d: points(d) > 0, what="lm-arena-chat configurations drawn against a reference of theirs")
    reference = text(driver, "#elex-reference")
    assert reference and "ResNet" not in reference  # a model of this task
    screenshot(driver, "elex_imported_task.png")


def test_an_imported_task_is_chosen_by_name_and_a_new_task_lets_the_pinned_model_go(dash_duo, mixed_data):
    """Issue 24: tasks by display name; an imported task opens against the best of each environment
    (no environment a solid E); the pinned model of the last task is let go; the scheme chooser
    re-rates what is shown."""
    dash_duo.start_server(create_app(mixed_data))
    driver = dash_duo.driver
    wait_for(driver, lambda d: points(d) == 176, 30, "176 inference points")
    assert "LLM chat (LM Arena prompts)" in text(driver, "#elex-task")
    ActionChains(driver).move_to_element(dash_duo.find_elements("#elex-scatter .scatterlayer .trace .point")[0]) \
        .click().perform()
    wait_for(driver, lambda d: text(d, "#elex-pinned").startswith("Pinned:"), what="pinned")
    dash_duo.find_element("#elex-task input[value='lm-arena-chat']").click()
    wait_for(driver, lambda d: "lm-arena-chat" in (d.execute_script(TITLE_JS) or [""])[0], what="lm-arena-chat drawn")
    wait_for(driver, lambda d: text(d, "#elex-pinned").startswith("Nothing pinned"), what="pinned model let go")
    assert not driver.find_element("css selector", "#elex-label").get_attribute("src")
    assert "best of each environment" in driver.execute_script(TITLE_JS)[0]
    bars = wait_for(driver, lambda d: d.execute_script(BARS_BY_ENVIRONMENT_JS), what="bars")
    assert all(counts[4] < sum(counts) for counts in bars.values()), bars  # E is never all there is
    dash_duo.select_dcc_dropdown("#elex-scheme", value="STREP")
    wait_for(driver, lambda d: "STREP" in (d.execute_script(TITLE_JS) or [""])[0], what="rated by STREP")
    screenshot(driver, "elex_scheme_strep.png")


TITLE_JS = "const g = document.querySelector('#elex-scatter .js-plotly-plot'); " \
           "return g && g.layout ? [g.layout.title.text, g.layout.xaxis.title.text] : null;"
BARS_BY_ENVIRONMENT_JS = """
const g = document.querySelector('#elex-bars .js-plotly-plot');
if (!g || !g.data || !g.data.length) return null;
const out = {};
g.data[0].y.forEach((env, i) => { out[env] = g.data.map(t => t.x[i]); });
return out;
"""
