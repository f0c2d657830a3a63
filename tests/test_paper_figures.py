"""The paper's figures as the paper drew them (issue 14) with error bars (issue 13), for any task."""
from __future__ import annotations

import shutil

import pytest
from matplotlib.text import Text

from mlel.paper.figures import index_interval, index_scatter, nice_log_ticks, parameters_vs_runtime, tick_text
from mlel.paper.placement import Box, place_labels
from mlel.tasks import default_boundaries

X, Y = "inference_power_draw", "top1_val"


def _summary(name: str, x: float, y: float, compound: str = "C", **x_extra) -> dict:
    return {"model": name, "environment": "Env", "task": "inference", "compound": compound,
            "metrics": {X: {"index": x, "value": 1.0 / x, **x_extra}, Y: {"index": y, "value": 0.7 * y},
                        "parameters": {"value": 10 * x}, "inference_time": {"value": 3 * y}}}


def _crowd() -> list[dict]:
    """Twelve models close together: names placed naively (all right of their point) would overlap."""
    return [_summary(f"Model-{i:02d}-long-name", 0.8 * 1.05 ** i, 0.97 + 0.006 * (i % 4)) for i in range(12)]


def _name_boxes(fig, names: set[str]):
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in fig.axes[0].texts if t.get_text() in names]


def test_place_labels_never_overlap_and_stay_inside():
    frame = Box(0, 0, 200, 100)
    points = [(100 + i, 50) for i in range(6)]  # six points within 6 px
    boxes = place_labels(points, [(40, 8)] * 6, frame)
    placed = [p.box for p in boxes if p is not None]
    assert len(placed) >= 4  # room around them for most
    for i, a in enumerate(placed):
        assert a.inside(frame)
        assert not any(a.overlaps(b) for b in placed[i + 1:])
        assert not any(a.overlaps(Box(x - 4, y - 4, x + 4, y + 4)) for x, y in points)
    assert place_labels([(5, 5)], [(500, 8)], frame) == [None]  # fits nowhere: left out


def test_index_scatter_names_do_not_overlap_and_reference_lines_are_dashed():
    summaries = _crowd()
    fig = index_scatter(summaries, X, Y, default_boundaries())
    names = {s["model"] for s in summaries}
    boxes = _name_boxes(fig, names)
    assert len(boxes) >= 8  # most names are written
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two names overlap"
    ax = fig.axes[0]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in dashed)  # vertical at index 1
    assert any(list(line.get_ydata()) == [1.0, 1.0] for line in dashed)  # horizontal at index 1


def test_ticks_are_plain_numbers_that_do_not_collide():
    assert nice_log_ticks(0.15, 2.4) == [0.2, 0.5, 1.0, 2.0]
    assert len(nice_log_ticks(1e-3, 1e5)) <= 8
    assert tick_text(0.3) == "0.3" and tick_text(1.0) == "1" and tick_text(20.0) == "20"
    fig = index_scatter([_summary("A", 0.3, 0.95), _summary("B", 2.5, 1.02)], X, Y, default_boundaries())
    fig.canvas.draw()
    ax = fig.axes[0]
    major = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    minor = [t.get_text() for t in ax.xaxis.get_minorticklabels() if t.get_text()]
    assert minor == [] and major and all("10^" not in t and "times" not in t for t in major)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    assert all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_error_bars_where_runs_allow():
    # lower is better: index = r / v, so the value's interval [0.9 v, 1.1 v] maps to [i / 1.1, i / 0.9]
    assert index_interval({"index": 2.0, "value": 0.5, "ci95": [0.45, 0.55]}, False) == \
        pytest.approx((2.0 * 0.5 / 0.55, 2.0 * 0.5 / 0.45))
    assert index_interval({"index": 2.0, "value": 0.5, "ci95": [0.45, 0.55]}, True) == \
        pytest.approx((1.8, 2.2))
    assert index_interval({"index": 2.0, "value": 0.5, "ci95": None}, False) is None
    with_runs = [_summary("Runs", 1.2, 1.0, ci95=[0.75, 0.9]), _summary("Single", 0.8, 0.97)]
    fig = index_scatter(with_runs, X, Y, default_boundaries())
    bars = [c for c in fig.axes[0].collections if type(c).__name__ == "LineCollection"]
    assert len(bars) == 1  # one entry has an interval, the single run none
    segment = bars[0].get_segments()[0]
    assert sorted(p[0] for p in segment) == pytest.approx([1 / 0.9, 1 / 0.75])  # r / v at v = hi, lo


def test_parameters_vs_runtime_has_names_and_the_background():
    summaries = _crowd()
    for s in summaries[:1]:
        s["model"] = "ResNet101"
    fig = parameters_vs_runtime(summaries, default_boundaries(), "ResNet101",
                                {"parameters": "M", "inference_time": "ms / sample"})
    ax = fig.axes[0]
    assert len(ax.patches) >= 4  # rating rectangles behind the points
    names = {s["model"] for s in summaries}
    boxes = _name_boxes(fig, names)
    assert len(boxes) >= 6 and all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert ax.get_xscale() == "log" and [t for t in ax.texts if isinstance(t, Text)]


@pytest.fixture(scope="module")
def imported_paper(reference_dir, tmp_path_factory):
    """create_paper_results on imported LLM records of one environment: figures per task."""
    from mlel.importers.common import write_records
    from mlel.importers.mlenergy import import_mlenergy
    from mlel.paper.outputs import create_paper_results

    source = tmp_path_factory.mktemp("leaderboard")
    (source / "tasks").mkdir()
    origin = reference_dir.parent.parent / "ml-energy-leaderboard"
    shutil.copy(origin / "index.json", source / "index.json")
    shutil.copy(origin / "tasks" / "lm-arena-chat.json", source / "tasks" / "lm-arena-chat.json")
    records = [r for r in import_mlenergy(source).records if r.environment.name == "1 x B200 - vLLM"]
    results = tmp_path_factory.mktemp("records")
    write_records(records, results)
    out = tmp_path_factory.mktemp("paper")
    written, messages = create_paper_results(results, out)
    return out, written, messages, len(records)


def test_imported_task_gets_its_table_and_scatter(imported_paper):
    out, written, messages, count = imported_paper
    assert (out / "scatter_lm_arena_chat_1_x_B200___vLLM.png").stat().st_size > 1000
    assert (out / "ratings_lm_arena_chat.png").is_file()
    table = (out / "indexing-results-lm_arena_chat.tex").read_text()
    assert "Energy per token [J/token]" in table and "Median inter-token latency [ms]" in table
    assert table.count(r"\\") == 2 + count  # two header rows and one per configuration
    assert any("best model per environment" in m for m in messages)
    assert not (out / "exec-envs.tex").exists()  # no merged logs: no platforms to list


def test_a_name_with_no_room_beside_its_point_goes_away_on_a_leader_line():
    from mlel.paper.placement import leader_points

    frame = Box(0, 0, 400, 300)
    # a point walled in by four obstacles right around it: no room beside it, room further out
    walls = [Box(170, 120, 230, 146), Box(170, 154, 230, 180), Box(170, 146, 196, 154), Box(204, 146, 230, 154)]
    [placed] = place_labels([(200, 150)], [(40, 8)], frame, walls)
    assert placed is not None and placed.leader is not None
    assert placed.box.inside(frame) and not any(placed.box.overlaps(w) for w in walls)
    start, end = placed.leader
    assert abs(end[0] - min(max(200, placed.box.left), placed.box.right)) < 1e-9  # the line ends at the name
    # a second point's leader never crosses the first name
    crowd = place_labels([(200, 150), (100, 150)], [(40, 8), (40, 8)], frame, walls)
    first = crowd[0].box
    for placement in crowd[1:]:
        if placement is not None and placement.leader is not None:
            assert not any(first.left <= x <= first.right and first.bottom <= y <= first.top
                           for x, y in leader_points(placement.leader))


def test_an_axis_widens_to_a_bar_end_within_reach_only():
    from mlel.paper.bars import reach

    # a log axis from 0.5 to 2 (0.6 decades): ends up to 0.3 decades beyond it are taken in
    assert reach([0.3, 0.2, 3.5, 10.0], 0.5, 2.0, True) == [0.3, 3.5]
    assert reach([0.0, -1.0], 0.5, 2.0, True) == []  # nothing to take in on a log axis
    assert reach([0.55, 0.8, 1.6], 0.6, 1.4, False) == [0.55, 0.8, 1.6]  # linear: 0.4 beyond at most
    assert reach([0.1, 1.9], 0.6, 1.4, False) == []


def test_the_caption_keys_numbers_and_lists_the_rest():
    from mlel.paper.names import caption_text

    text = caption_text([("", [("1", "ResNet152"), ("2", "ResNet50"), ("", "VGG19")])])
    assert text == "Numbered for lack of room: 1\u00a0ResNet152, 2\u00a0ResNet50. Not named for lack of room: VGG19."
    panels = caption_text([("GPU", [("1", "A")]), ("CPU", [])])
    assert panels == "Numbered for lack of room: GPU: 1\u00a0A."
    assert caption_text([("", [])]) == ""
