"""ELEx's main view for everyone (issue 26): axe-core finds no serious or critical violation (here;
with a pinned model, in tests/elex/test_link_browser.py), and the keyboard alone reaches the
controls, the link and the table, and pins a model from the table."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from mlel.base.colours import contrast_ratio
from mlel.elex import state, table
from mlel.elex.app import create_app
from mlel.ratings import RATING_COLORS, RATINGS
from tests.a11y.axe import axe_available, axe_violations, describe
from tests.elex.test_browser import pytestmark as browser_marks, points, text, wait_for

pytestmark = [*browser_marks] + ([] if axe_available() else [pytest.mark.skip(reason="needs axe-core: make axe")])
FOCUSED_JS = """
const e = document.activeElement;
if (!e || e === document.body) return null;
const grid = e.closest('#elex-table');
return [e.id || '', e.tagName, e.getAttribute('aria-label') || e.textContent.trim().slice(0, 40),
        grid ? 'grid' : '', e.closest('[data-elex-label]') ? e.closest('[data-elex-label]').dataset.elexLabel : ''];
"""


@pytest.mark.parametrize("letter", sorted(RATING_COLORS))
def test_a_rating_cell_letter_reads_on_its_colour(elex_data, settings, letter):
    """The grid writes every letter on its level's colour in the colour that reads on it: WCAG AA
    (4.5:1) for small text."""
    style = table.rating_cell_styles(state.rate(elex_data, "inference", settings))
    cell = style["styleConditions"][RATINGS.index(letter)]["style"]
    assert cell["backgroundColor"] == RATING_COLORS[letter]
    assert contrast_ratio(cell["backgroundColor"], cell["color"]) >= 4.5


def test_the_main_view_passes_axe_and_the_keyboard_reaches_everything(dash_duo, elex_data):
    dash_duo.start_server(create_app(elex_data))
    driver = dash_duo.driver
    wait_for(driver, lambda d: points(d) == 176, 30, "176 inference points")
    wait_for(driver, lambda d: d.find_elements("css selector", "#elex-table .ag-row[row-index='0'] .ag-cell"),
             what="grid rows")
    found = axe_violations(driver)
    assert not found, describe(found)

    seen = []
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    for _ in range(90):  # Tab only, from the top of the page
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused = driver.execute_script(FOCUSED_JS)
        if focused:
            seen.append(focused)
        if focused and focused[3] == "grid":
            break
    labels = {f[4] for f in seen}
    assert {"Task", "Environments", "Rating scheme", "Reference model", "X axis metric"} <= labels, seen
    assert any(f[0] == "elex-x-weight" for f in seen) and any(f[2] == "Copy link" for f in seen), seen
    assert seen and seen[-1][3] == "grid", f"Tab never reached the table: {seen[-5:]}"

    # in the table: arrow down to a row, space selects it, and the model is pinned
    active = driver.switch_to.active_element
    for key in (Keys.DOWN, Keys.DOWN, Keys.DOWN):
        active.send_keys(key)
        active = driver.switch_to.active_element
    row = active.find_element("xpath", "./ancestor-or-self::*[@role='row']")
    model = row.find_element("css selector", "[col-id='model']").text
    active.send_keys(Keys.SPACE)
    wait_for(driver, lambda d: text(d, "#elex-pinned").startswith(f"Pinned: {model} "), what="pinned by keyboard")
