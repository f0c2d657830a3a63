"""Issue 26's ELEx points in headless Chromium, measured on the page: the slider caption clear of
the handles, four reachable Y handles, inputs in the slider's order, a refused boundary said in full
where it is seen, points inside the plot, and a hover box that never covers the legend."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from mlel.elex.app import create_app
from tests.elex.test_browser import pytestmark, points, screenshot, text, wait_for  # noqa: F401

RECTS_JS = """
const rect = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
return [...document.querySelectorAll(arguments[0])].map(rect);
"""
CAPTION_JS = """
const box = document.querySelector(arguments[0]);
const caption = [...box.querySelectorAll('div')].find(e => e.children.length === 0 &&
                                                      e.textContent.startsWith('boundaries ('));
const r = caption.getBoundingClientRect();
return [r.left, r.top, r.right, r.bottom];
"""
# the element a click at each handle's middle lands on: the handle itself, or one covering it
THUMB_HIT_JS = """
return [...document.querySelectorAll(arguments[0] + ' .dash-slider-thumb')].map(t => {
  const r = t.getBoundingClientRect();
  const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
  return hit === t || t.contains(hit);
});
"""
HOVER_JS = """
const box = document.querySelector('#elex-scatter .hoverlayer .hovertext');
if (!box) return null;
const r = box.getBoundingClientRect();
return [r.left, r.top, r.right, r.bottom];
"""
POINTS_XY_JS = """
const g = document.querySelector('#elex-scatter .js-plotly-plot');
const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis;
return g.data.filter(t => t.customdata).map(t => t.x.map((x, i) => [xa.l2p(Math.log10(x)), ya.l2p(Math.log10(t.y[i]))]))
  .flat().concat([[xa._length, ya._length]]);
"""


def _overlap(a, b) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


@pytest.fixture
def elex(dash_duo, reference_dir):
    dash_duo.start_server(create_app(reference_dir))
    wait_for(dash_duo.driver, lambda d: points(d) == 176, 30, "176 inference points")
    return dash_duo


def test_slider_handles_leave_the_caption_and_each_other_free_and_inputs_follow_them(elex):
    driver = elex.driver
    for box in ("#elex-x-box", "#elex-y-box"):
        driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'})", box)
        caption = driver.execute_script(CAPTION_JS, box)
        thumbs = driver.execute_script(RECTS_JS, f"{box} .dash-slider-thumb")
        assert len(thumbs) == 4
        assert not any(_overlap(caption, t) for t in thumbs), (box, caption, thumbs)
        # item 2: the accuracy boundaries (0.93 … 1.02) put four handles on one spot
        assert all(b[0] >= a[2] - 0.5 for a, b in zip(thumbs, thumbs[1:])), (box, thumbs)
        assert all(driver.execute_script(THUMB_HIT_JS, box)), f"a handle of {box} is covered"
    # item 3: the inputs read as the slider does, b3 (E|D) at the left … b0 (B|A) at the right
    for axis in ("x", "y"):
        lefts = [driver.execute_script(RECTS_JS, f"#elex-{axis}-b{i}")[0][0] for i in (3, 2, 1, 0)]
        assert lefts == sorted(lefts) and len(set(lefts)) == 4, (axis, lefts)
        names = [e.text for e in elex.find_elements(f"#elex-{axis}-box .elex-bound-name")]
        assert names == ["E|D", "D|C", "C|B", "B|A"], names
    screenshot(driver, "elex_sliders.png")


def _message_fits(driver) -> None:
    """The controls' message wraps inside its column: nothing runs past its box or the column."""
    sizes = driver.execute_script("const e = document.querySelector('#elex-message'); "
                                  "return [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight];")
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes
    shown = driver.execute_script(RECTS_JS, "#elex-message")[0]
    column = driver.execute_script(RECTS_JS, ".elex-controls")[0]
    assert column[0] <= shown[0] and shown[2] <= column[2], (shown, column)
    assert column[2] - column[0] <= 301, f"the message widened the controls column: {column}"  # 300 px


def test_a_refused_boundary_is_said_in_full_where_it_is_typed(elex, tmp_path):
    driver = elex.driver
    driver.set_window_size(1400, 800)  # a laptop
    field = elex.find_element("#elex-y-b3")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", field)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("5" + Keys.ENTER)
    message = wait_for(driver, lambda d: "cannot be 5" in text(d, "#elex-message") and text(d, "#elex-message"),
                       what="refusal")
    assert message.startswith("Error: The E|D boundary (b3) of Top-1 accuracy cannot be 5")
    assert message.endswith("nothing was changed."), message
    _message_fits(driver)
    shown, height = driver.execute_script(RECTS_JS, "#elex-message")[0], driver.execute_script("return innerHeight")
    assert 0 <= shown[1] and shown[3] <= height, f"the message is off screen: {shown}, window {height} px"
    screenshot(driver, "elex_boundary_message.png")
    # a word longer than the column (a file's name) wraps too: it used to run under the chart
    weights = tmp_path / f"{'my_weights_' * 12}final.json"
    weights.write_text('{"top1_val": 2}')
    elex.find_element("#elex-upload-weights input[type=file]").send_keys(str(weights))
    wait_for(driver, lambda d: "weights loaded from" in text(d, "#elex-message"), what="upload message")
    _message_fits(driver)


def test_points_lie_inside_the_plot_and_the_hover_box_clear_of_the_legend(elex):
    driver = elex.driver
    *where, (width, height) = driver.execute_script(POINTS_XY_JS)
    radius = 7  # size 11 and its outline
    assert all(radius <= x <= width - radius and radius <= y <= height - radius for x, y in where), \
        [p for p in where if not (radius <= p[0] <= width - radius and radius <= p[1] <= height - radius)]
    legend = driver.execute_script(RECTS_JS, "#elex-scatter .legend")[0]
    rightmost = max(elex.find_elements("#elex-scatter .scatterlayer .trace .point"), key=lambda e: e.rect["x"])
    for point in (rightmost, elex.find_elements("#elex-scatter .scatterlayer .trace .point")[0]):
        ActionChains(driver).move_to_element(point).perform()
        box = wait_for(driver, lambda d: d.execute_script(HOVER_JS), what="hover box")
        assert not _overlap(box, legend), (box, legend)
    screenshot(driver, "elex_hover_legend.png")
