"""ELEx's table as an AG Grid in Chromium (issue 26): it sorts and filters on the server, text reads
left-aligned and numbers right-aligned, a rating cell keeps its letter on its colour, a click on a
row pins the model, and the detail table keeps each value on one line. The page is opened through
a malformed link: the defaults and a note, never an error page."""
from __future__ import annotations

from selenium.webdriver.common.keys import Keys

from mlel.elex.app import create_app
from tests.elex.test_browser import pytestmark, points, screenshot, text, wait_for  # noqa: F401

ROWS = "#elex-table .ag-center-cols-container .ag-row"
CELLS_JS = """
return [...document.querySelectorAll(arguments[0])]
  .sort((a, b) => Number(a.getAttribute('row-index')) - Number(b.getAttribute('row-index')))
  .map(r => { const c = r.querySelector(`[col-id="${arguments[1]}"]`); return c ? c.textContent : null; });
"""
STYLE_JS = "const e = document.querySelector(arguments[0]); if (!e) return null; " \
           "const s = getComputedStyle(e); return [s.textAlign, s.backgroundColor, s.color, s.whiteSpace];"


def _column(driver, column):
    return [c for c in driver.execute_script(CELLS_JS, ROWS, column) if c]


def _percent(cell: str) -> float:
    return float(cell.rstrip(" %"))


def test_a_malformed_link_opens_the_defaults_and_the_grid_sorts_filters_aligns_and_pins(dash_duo, elex_data):
    dash_duo.start_server(create_app(elex_data))
    driver = dash_duo.driver
    driver.get(dash_duo.server_url + "/?t=inference&b=top1_val:1,2,nan&r=%3Cb%3Ex%3C/b%3E&pe=x&pm=y%00")
    wait_for(driver, lambda d: points(d) == 176, 30, "the default inference view")
    note = wait_for(driver, lambda d: text(d, "#elex-link-note"), what="a note on the link")
    assert "could not be opened in full" in note and "<b>x</b>" in note and "nothing pinned" in note
    assert not driver.find_elements("css selector", "#elex-link-note b")  # shown as text, never markup
    assert text(driver, "#elex-pinned").startswith("Nothing pinned")
    wait_for(driver, lambda d: len(_column(d, "model")) >= 10, what="grid rows")

    model = driver.execute_script(STYLE_JS, f"{ROWS}[row-index='0'] [col-id='model']")
    value = driver.execute_script(STYLE_JS, f"{ROWS}[row-index='0'] [col-id='inference_power_draw']")
    rating = driver.execute_script(STYLE_JS, f"{ROWS}[row-index='0'] [col-id='compound']")
    assert model[0] in ("left", "start") and value[0] == "right", (model, value)
    assert rating[2] == "rgb(0, 0, 0)" and rating[1] not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    assert all(letter in "ABCDE–" for letter in _column(driver, "compound"))  # the letter is always there

    header = dash_duo.find_element("#elex-table .ag-header-cell[col-id='top1_val'] .ag-header-cell-label")
    header.click()  # ascending, on the raw numbers (sorted on the server)
    wait_for(driver, lambda d: (v := [_percent(c) for c in _column(d, "top1_val") if c != "n.a."])
             and v == sorted(v) and v[0] < 70, what="ascending top-1 accuracy")
    header.click()
    wait_for(driver, lambda d: (v := [_percent(c) for c in _column(d, "top1_val") if c != "n.a."])
             and v == sorted(v, reverse=True) and v[0] > 80, what="descending top-1 accuracy")

    model_filter = dash_duo.find_element("#elex-table .ag-floating-filter[aria-colindex='1'] input")
    model_filter.send_keys("ResNet15")  # filtered on the server: ResNet152 only, all 8 environments
    wait_for(driver, lambda d: set(_column(d, "model")) == {"ResNet152"} and len(_column(d, "model")) == 8,
             what="the grid's filter")
    screenshot(driver, "elex_grid_filtered.png")
    assert set(_column(driver, "top1_val__rating")) == {"B"}
    dash_duo.find_element("#elex-calibrate").click()  # new boundaries: the grid asks for its rows again
    wait_for(driver, lambda d: set(_column(d, "top1_val__rating")) == {"C"}, what="the grid re-rated")

    dash_duo.find_element(f"{ROWS}[row-index='2'] [col-id='environment']").click()
    pinned = wait_for(driver, lambda d: text(d, "#elex-pinned").startswith("Pinned: ResNet152 ·") and
                      text(d, "#elex-pinned"), what="pinned from the grid")
    wait_for(driver, lambda d: d.find_elements("css selector", "#elex-summary td.elex-value"), what="detail")
    for cell in driver.find_elements("css selector", "#elex-summary td.elex-value"):
        # the text's own height (a Range over the cell's content), not the row's: a long name beside it
        # may make the row taller, while the value must stay on one line
        lines = driver.execute_script("const s = getComputedStyle(arguments[0]); const r = document.createRange(); "
                                      "r.selectNodeContents(arguments[0]); "
                                      "return [s.whiteSpace, r.getBoundingClientRect().height, "
                                      "parseFloat(s.lineHeight) || 1.2 * parseFloat(s.fontSize)]", cell)
        assert lines[0] == "nowrap" and lines[1] < 2 * lines[2] - 2, (cell.text, lines)  # one line each

    model_filter.send_keys(Keys.CONTROL, "a")
    model_filter.send_keys(Keys.BACKSPACE)
    wait_for(driver, lambda d: len(set(_column(d, "model"))) > 3, what="the filter cleared")
    assert text(driver, "#elex-pinned") == pinned  # filtering never re-pins
