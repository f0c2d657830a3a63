"""A shared ELEx link in Chromium (issue 26): copied after changing task, reference, a boundary and
the pinned entry, it opens the same view in a new browser session (a malformed one:
tests/elex/test_grid_browser.py)."""
from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.common.keys import Keys

from mlel.elex.app import create_app
from tests.a11y.axe import axe_available, axe_violations, describe
from tests.elex.test_browser import _options, pytestmark, points, screenshot, text, wait_for  # noqa: F401

SCATTER_JS = """
const g = document.querySelector('#elex-scatter .js-plotly-plot');
if (!g || !g.data) return null;
return g.data.filter(t => t.customdata).map(t => [t.name, t.x.map(Number), t.y.map(Number)]);
"""
TITLE_JS = "const g = document.querySelector('#elex-scatter .js-plotly-plot'); " \
           "return g && g.layout ? g.layout.title.text : null;"
FIRST_ROW = "#elex-table .ag-center-cols-container .ag-row[row-index='3'] .ag-cell[col-id='model']"


def _view(driver) -> dict:
    """What a person sees of the view: the plot, the boundaries, the pinned model, the reference."""
    return {"title": driver.execute_script(TITLE_JS), "points": driver.execute_script(SCATTER_JS),
            "x bounds": text(driver, "#elex-x-bounds-text"), "y bounds": text(driver, "#elex-y-bounds-text"),
            "pinned": text(driver, "#elex-pinned"), "reference": text(driver, "#elex-reference"),
            "detail": text(driver, "#elex-summary .elex-summary-title"),
            "task": driver.find_element("css selector", "#elex-task input:checked").get_attribute("value")}


def test_a_copied_link_opens_the_same_view_in_a_new_browser_session(dash_duo, elex_data):
    dash_duo.start_server(create_app(elex_data))
    driver = dash_duo.driver
    wait_for(driver, lambda d: points(d) == 176, 30, "176 inference points")
    dash_duo.find_element("#elex-task input[value='training']").click()
    wait_for(driver, lambda d: " training result" in (d.execute_script(TITLE_JS) or ""), what="training")
    dash_duo.select_dcc_dropdown("#elex-reference", value="VGG16")
    wait_for(driver, lambda d: "VGG16" in (d.execute_script(TITLE_JS) or ""), what="reference VGG16")
    before = text(driver, "#elex-y-bounds-text")
    bound = dash_duo.find_element("#elex-y-b1")
    bound.send_keys(Keys.CONTROL, "a")
    bound.send_keys("0.97" + Keys.ENTER)
    wait_for(driver, lambda d: text(d, "#elex-y-bounds-text") != before and "0.97" in text(d, "#elex-y-bounds-text"),
             what="boundary b1 = 0.97")
    row = wait_for(driver, lambda d: d.find_element("css selector", FIRST_ROW), what="grid rows")
    model = row.text
    row.click()
    wait_for(driver, lambda d: text(d, "#elex-pinned").startswith(f"Pinned: {model} "), what="pinned from the grid")
    wait_for(driver, lambda d: "pm=" in d.find_element("css selector", "#elex-link-text").get_attribute("value"),
             what="the link names the pinned entry")
    shown = wait_for(driver, lambda d: (v := _view(d))["points"] and v["detail"].startswith(model) and v,
                     what="the view")

    origin = dash_duo.server_url.rstrip("/")
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": origin,
                                                        "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    dash_duo.find_element("#elex-copy-link button").click()
    wait_for(driver, lambda d: "copied" in text(d, "#elex-copy-link"), what="copied")
    copied = driver.execute_async_script("navigator.clipboard.readText().then(arguments[0], e => arguments[0](''))")
    assert copied == driver.find_element("css selector", "#elex-link-text").get_attribute("value")
    assert copied == driver.current_url and copied.startswith(origin + "/?")  # the address bar carries it too
    screenshot(driver, "elex_link_before.png")

    fresh = webdriver.Chrome(options=_options())  # a new browser session: nothing shared but the link
    try:
        fresh.get(copied)
        opened = wait_for(fresh, lambda d: (v := _view(d))["points"] == shown["points"] and
                          v["detail"] == shown["detail"] and v, 30, "the same view")
        assert opened == shown
        assert text(fresh, "#elex-link-note") == ""
        assert fresh.find_element("css selector", "#elex-link-text").get_attribute("value") == copied
        screenshot(fresh, "elex_link_opened.png")
        if axe_available():  # the view with a pinned model (its detail, its label) for everyone too
            found = axe_violations(fresh)
            assert not found, describe(found)
    finally:
        fresh.quit()
