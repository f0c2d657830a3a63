"""Issue 26's ELEx points, without a browser: reachable slider handles, inputs in the slider's order,
boundary errors a person reads, points and error bars inside the axes, axes fitted to the data, a
legend the hover box cannot cover, and the hint naming where the demo writes."""
from __future__ import annotations

import dataclasses
import math
import re

import pytest

from mlel.apps import demo
from mlel.elex import __main__ as elex_cli
from mlel.elex import actions, figures, layout, link, session, sliders, state
from mlel.ratings.settings import SettingsError

X, Y = "inference_power_draw", "top1_val"
# the scatter's plot area is about 700 × 330 px (1400 px window); a marker of size 11 (and the
# pinned model's ring, radius 13 px) must fit inside it: 4 % of the shorter side each way
EDGE = 0.04
# a slider handle is 20 px wide and travels 233 px (a 253 px slider): neighbours must be 8.5 % apart
HANDLE = 20 / 233 - 1e-6


def _points(figure):
    return [t for t in figure["data"] if "customdata" in t]


def _fraction(value: float, axis_range) -> float:
    """Where ``value`` sits on a log axis of ``axis_range`` (log10 ends): 0 left/bottom, 1 right/top."""
    low, high = axis_range
    return (math.log10(value) - low) / (high - low)


def _views(elex_data, settings):
    """(name, rating, x, y, environments, scale) of the views a person opens first."""
    inference, training = state.rate(elex_data, "inference", settings), state.rate(elex_data, "training", settings)
    best = state.rate(elex_data, "inference", session.set_scale(settings, elex_data, "best"))
    one = [inference.table.environments[0]]
    return [("inference index", inference, X, Y, list(inference.table.environments), "index"),
            ("training index", training, "train_power_draw", Y, list(training.table.environments), "index"),
            ("inference best", best, X, Y, list(best.table.environments), "index"),
            ("inference real, one environment", inference, X, Y, one, "real"),
            ("parameters against runtime", inference, "parameters", "inference_time",
             list(inference.table.environments), "real")]


# --- 2: the Y slider's handles sit apart, each one reachable -------------------------------------


def _gaps(spec) -> list[float]:
    return [(b - a) / (spec.max - spec.min) for a, b in zip(spec.value, spec.value[1:])]


def test_slider_handles_sit_apart_so_each_can_be_dragged(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    for metric in (X, Y, "top5_val", "parameters"):  # accuracy boundaries lie within ±7 % of 1
        spec = sliders.slider_spec(rating, metric)
        assert spec.max - spec.min > 0
        assert min(_gaps(spec)) >= HANDLE, (metric, spec)
        assert all(spec.min <= v <= spec.max for v in spec.value)
        # every handle where the boundary is (within one step): the slider shows the rating's
        exact = [math.log10(b) for b in reversed(rating.boundaries[metric])]
        assert spec.value == pytest.approx(exact, abs=spec.step)


@pytest.mark.parametrize("bounds", [[1.0, 1.0, 1.0, 1.0], [1.2, 1.0, 1.0, 0.5], [1.0, 0.999, 0.998, 0.997]])
def test_coinciding_boundaries_still_give_four_reachable_handles(elex_data, settings, bounds):
    moved = session.set_boundaries(settings, "inference", Y, bounds)
    rating = state.rate(elex_data, "inference", moved)
    spec = sliders.slider_spec(rating, Y)
    assert spec.max - spec.min > 0 and min(_gaps(spec)) >= HANDLE
    # handles drawn apart never move a boundary: unmoved handles keep their exact values …
    assert sliders.bounds_from_slider(spec.value, bounds, spec) == bounds
    # … and dragging the top handle (b0) up moves b0 alone
    dragged = list(spec.value)
    dragged[3] = spec.max
    after = sliders.bounds_from_slider(dragged, bounds, spec)
    assert after[1:] == bounds[1:] and after[0] == pytest.approx(10 ** spec.max) and after[0] > bounds[0]


# --- 3: the numeric inputs read in the slider's order ---------------------------------------------


def _walk(component):
    """``component`` and everything under it, in page order."""
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _walk(child)


def test_boundary_inputs_read_in_the_slider_order(elex_data, settings):
    page = layout.build_page(elex_data, link.restore(elex_data, None))  # the page a plain visit opens
    (box,) = [c for part in page for c in _walk(part) if getattr(c, "id", None) == f"{layout.Y}-box"]
    inputs = [c.id for c in _walk(box) if re.fullmatch(r"elex-y-b[0-3]", str(getattr(c, "id", "")))]
    names = [str(c.children) for c in _walk(box) if getattr(c, "className", None) == "elex-bound-name"]
    spec = sliders.slider_spec(state.rate(elex_data, "inference", settings), Y)
    # handle k (left to right) is boundary b(3 - k): the inputs must come in that order
    assert spec.value == sorted(spec.value)
    assert inputs == [f"elex-y-b{3 - k}" for k in range(4)]
    assert names == ["E|D", "D|C", "C|B", "B|A"] == [sliders.boundary_name(3 - k) for k in range(4)]


def test_boundary_names_follow_the_scheme_levels():
    assert [sliders.boundary_name(i) for i in range(4)] == ["B|A", "C|B", "D|C", "E|D"]
    assert sliders.boundary_name(0, ("5", "4", "3", "2", "1")) == "4|5"


# --- 4: a refused boundary is said with the property's name and the letters ----------------------


def test_a_refused_boundary_names_the_property_and_the_letters(elex_data, settings):
    values = {"x": X, "y": Y, "bound_inputs": {"elex-y-b3": 5.0}}
    unchanged, message = actions.apply_event(elex_data, settings, "elex-y-b3", "inference", values)
    assert unchanged == settings
    assert message.startswith("Error: The E|D boundary (b3) of Top-1 accuracy cannot be 5: ")
    assert "must lie between 0 and 0.9535 (D|C, b2); move that boundary first" in message
    assert "nothing was changed" in message
    assert "top1_val" not in message and "inference_power_draw" not in message
    values = {"x": X, "y": Y, "bound_inputs": {"elex-x-b1": 50.0}}
    _, message = actions.apply_event(elex_data, settings, "elex-x-b1", "inference", values)
    assert "The C|B boundary (b1) of Energy per sample cannot be 50: it must lie between 0.8662 (D|C, b2) " \
           "and 1.805 (B|A, b0)" in message
    for typed, said in ((-1.0, "cannot be negative"), (float("inf"), "type a number"), (None, "type a number")):
        with pytest.raises(SettingsError, match=f"The E|D boundary \\(b3\\) of Top-1 accuracy.*{said}"):
            actions.typed_bound(settings, "inference", Y, 3, typed, name="Top-1 accuracy")
    with pytest.raises(SettingsError, match="The B|A boundary \\(b0\\) of Top-1 accuracy cannot be 0.5: "
                                            "it must be at least 1 \\(C\\|B, b1\\)"):
        actions.typed_bound(settings, "inference", Y, 0, 0.5, name="Top-1 accuracy")


def test_boundary_numbers_read_as_numbers():
    assert [actions.readable(v) for v in (0.86621234, 1.0, 1805.4, 1.5e-7, 0.0, 12345678.0)] == \
        ["0.8662", "1", "1805", "1.5e-07", "0", "1.235e+07"]


# --- 5, 6, 7: points and error bars inside the axes; axes fitted to the data ----------------------


def test_every_point_lies_inside_the_axes_with_room_for_its_marker(elex_data, settings):
    for name, rating, x, y, environments, scale in _views(elex_data, settings):
        figure = figures.scatter_figure(rating, x, y, environments, scale)
        x_range, y_range = figure["layout"]["xaxis"]["range"], figure["layout"]["yaxis"]["range"]
        for trace in _points(figure):
            for px, py in zip(trace["x"], trace["y"]):
                assert EDGE <= _fraction(px, x_range) <= 1 - EDGE, (name, "x", px, x_range)
                assert EDGE <= _fraction(py, y_range) <= 1 - EDGE, (name, "y", py, y_range)


def test_the_axes_are_fitted_to_the_data_not_to_far_boundaries(elex_data, settings):
    """Item 7: accuracy indices against the best (0.5 … 1) on an axis stretched to the boundary
    0.2 left the points and their bands in a strip; the data fill the axis now."""
    for name, rating, x, y, environments, scale in _views(elex_data, settings):
        figure = figures.scatter_figure(rating, x, y, environments, scale)
        for axis, key in (("xaxis", "x"), ("yaxis", "y")):
            values = [v for t in _points(figure) for v in t[key]]
            low, high = figure["layout"][axis]["range"]
            used = (math.log10(max(values)) - math.log10(min(values))) / (high - low)
            assert used >= 0.8, (name, axis, used)


def test_each_rating_band_on_the_fitted_axis_is_tall_enough_to_see(elex_data, settings):
    """Where the data lie across the accuracy bands, each band inside the plot is at least 3 % of
    its height (the 2022 view against the best: 0.2 … 1 used to squash A into 6 %)."""
    name, rating, x, y, environments, scale = _views(elex_data, settings)[2]
    figure = figures.scatter_figure(rating, x, y, environments, scale)
    low, high = figure["layout"]["yaxis"]["range"]
    rects = [s for s in figure["layout"]["shapes"] if s["type"] == "rect"]
    heights = {(r["y0"], r["y1"]) for r in rects}
    assert len(heights) >= 2
    for y0, y1 in heights:
        assert (math.log10(y1) - math.log10(y0)) / (high - low) >= 0.03, (y0, y1)
        assert 10 ** low <= y0 * (1 + 1e-9) and y1 <= 10 ** high * (1 + 1e-9)  # bands stop at the axis


def _repeated(entry, factors):
    runs = tuple({k: (None if v is None else v * f) for k, v in entry.values.items()} for f in factors)
    return dataclasses.replace(entry, run_values=runs, logs=[f"{entry.logs[0]}#{i}" for i in range(len(factors))])


@pytest.mark.parametrize("scale, factors", [("real", (0.2, 1.0, 5.0)), ("index", (0.01, 1.0, 100.0))])
def test_long_error_bars_stop_at_the_axis_and_say_they_go_on(elex_data, settings, scale, factors):
    """Runs ×/÷ 5 (one environment's real values) and ×/÷ 100 (all indices, which span 2.7
    decades) give 95 % intervals far wider than the points: the bars crossed the whole chart."""
    results = list(elex_data.table("inference").results)
    target = next(i for i, r in enumerate(results) if r.model == "ResNet50")
    results[target] = _repeated(results[target], factors)
    data = state.ElexData.from_results(results)
    rating = state.rate(data, "inference", settings)
    row = rating.table.row(results[target].environment, "ResNet50")
    environments = [results[target].environment] if scale == "real" else list(rating.table.environments)
    figure = figures.scatter_figure(rating, X, Y, environments, scale)
    x_range = figure["layout"]["xaxis"]["range"]
    trace = next(t for t in _points(figure) if "error_x" in t)
    position = [c[0] for c in trace["customdata"]].index(row)
    value = trace["x"][position]
    low = value - trace["error_x"]["arrayminus"][position]
    high = value + trace["error_x"]["array"][position]
    for end in (low, high):  # drawn to the axis's edge, never through the legend or past the frame
        assert low > 0 and 0 <= _fraction(end, x_range) <= 1, (end, x_range)
    # the points stay where they were: the axis did not grow to hold the whole interval
    values = [v for t in _points(figure) for v in t["x"]]
    assert (math.log10(max(values)) - math.log10(min(values))) / (x_range[1] - x_range[0]) >= 0.6
    # an arrow at each edge the interval runs past, on the point's row, naming the interval's end
    arrows = [t for t in figure["data"] if t.get("name") == figures.CONTINUES]
    assert arrows, "no mark that the interval goes on"
    marks = [(m, px, py, text) for t in arrows for m, px, py, text in
             zip(t["marker"]["symbol"], t["x"], t["y"], t["text"])]
    mine = sorted((px, m) for m, px, py, _ in marks if py == pytest.approx(trace["y"][position], rel=1e-4))
    assert [m for _, m in mine] == ["triangle-left", "triangle-right"]
    assert [px for px, _ in mine] == pytest.approx([low, high], rel=1e-4)  # at the bar's ends
    assert all("95 % interval" in text for *_, text in marks)


def test_short_error_bars_are_drawn_whole(elex_data, settings):
    results = list(elex_data.table("inference").results)
    target = next(i for i, r in enumerate(results) if r.model == "ResNet50")
    results[target] = _repeated(results[target], (0.95, 1.0, 1.05))
    data = state.ElexData.from_results(results)
    rating = state.rate(data, "inference", settings)
    figure = figures.scatter_figure(rating, X, Y, list(rating.table.environments), "real")
    assert not [t for t in figure["data"] if t.get("name") == figures.CONTINUES]
    trace = next(t for t in _points(figure) if "error_x" in t)
    assert max(trace["error_x"]["array"]) > 0


# --- 8: the hover box and the legend never meet ---------------------------------------------------


def test_the_legend_sits_below_the_plot_where_no_hover_box_reaches(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    figure = figures.scatter_figure(rating, X, Y, list(rating.table.environments), "index")
    legend = figure["layout"]["legend"]
    # plotly puts a hover box beside its point and flips it only at the figure's edge: a legend at
    # the right of the plot gets covered. Below the x axis title it is out of the boxes' way.
    assert legend["orientation"] == "h" and legend["yanchor"] == "top" and legend["y"] < -0.1
    assert figure["layout"]["margin"]["r"] <= 20  # the plot uses the width the legend left


# --- 9: the hint names where the demo writes ------------------------------------------------------


def test_the_hint_names_the_folder_the_demo_writes(capsys, tmp_path):
    written = f"{demo.build_parser().get_default('output_dir')}/results"  # run_demo: out / "results"
    assert f"writes {written}/" in elex_cli.HOW_TO_GET_RESULTS
    assert f"python elex.py -d {written}" in elex_cli.HOW_TO_GET_RESULTS
    assert "(writes results/)" not in elex_cli.HOW_TO_GET_RESULTS
    with pytest.raises(SystemExit):
        elex_cli.main(["--help"], prog="python -m mlel.elex")
    helped = capsys.readouterr().out
    assert f"writes {written}/" in helped and "make demo" in helped  # --help teaches it too
    assert elex_cli.main(["-d", str(tmp_path / "none")]) == 1
    assert f"writes {written}/" in capsys.readouterr().err
