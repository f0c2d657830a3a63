"""Issue 26: a paper figure's names overlap no point marker, no error bar and stay inside the plot;
an error bar is drawn to its end or marked as continuing. Checked by bounding boxes in display
coordinates, at the resolution the PNG is saved at, on the real inputs: the 2022 study, our own
results/ and the imported ML.ENERGY LLM and diffusion scatters."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from mlel.paper.figures import PNG_DPI, index_interval, index_scatter, parameters_vs_runtime
from mlel.paper.outputs import _shown_environment, rate_for_paper, scatter_axes
from mlel.tasks.properties import load_property_set

REPO = Path(__file__).resolve().parents[1]
EDGE_PX = 0.5  # a bar end this close to the axes' edge ends there


def _scatter(rated: list[dict], task: str, env: str):
    """The scatter of one task and environment as create_paper_results builds it."""
    prop_set = load_property_set(task)
    x, y = scatter_axes(prop_set)
    subset = [s for s in rated if s["task"] == task and s["environment"] == env]
    assert subset, (task, env)
    title = f"{task}: {_shown_environment(env, subset)} (reference {subset[0].get('reference')})"
    fig = index_scatter(subset, x, y, subset[0].get("boundaries") or prop_set.default_boundaries(), title=title,
                        labels={p.key: p.name for p in prop_set.properties},
                        higher_is_better={p.key: p.higher_is_better for p in prop_set.properties})
    return fig, subset, x, y


def _drawn(fig):
    """The figure drawn at the PNG's resolution: its renderer measures what the PNG shows."""
    fig.set_dpi(PNG_DPI)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _marker_boxes(ax, renderer) -> list[tuple[float, float, float, float]]:
    """Every point marker (scatter) and every marker of a line (error bar caps, continuation
    marks) as a display box."""
    boxes = []
    px_per_pt = ax.figure.dpi / 72
    for collection in ax.collections:
        if type(collection).__name__ != "PathCollection":
            continue
        centres = collection.get_offset_transform().transform(collection.get_offsets())
        radius = np.sqrt(collection.get_sizes()[0]) / 2 * px_per_pt + max(collection.get_linewidths()) / 2 * px_per_pt
        boxes += [(cx - radius, cy - radius, cx + radius, cy + radius) for cx, cy in centres]
    for line in ax.get_lines():
        if line.get_marker() in (None, "None", "none", ""):
            continue
        half = (line.get_markersize() / 2 + line.get_markeredgewidth()) * px_per_pt
        for cx, cy in line.get_transform().transform(line.get_xydata()):
            boxes.append((cx - half, cy - half, cx + half, cy + half))
    return boxes


def _bar_segments(ax) -> list[np.ndarray]:
    """Each error bar as a 2 x 2 array of display points (its two ends)."""
    segments = []
    for collection in ax.collections:
        if type(collection).__name__ == "LineCollection":
            transform = collection.get_transform()
            segments += [transform.transform(np.asarray(s)) for s in collection.get_segments() if len(s) == 2]
    return segments


def _segment_box(segment: np.ndarray, width_px: float) -> tuple[float, float, float, float]:
    (x0, y0), (x1, y1) = segment
    return min(x0, x1) - width_px, min(y0, y1) - width_px, max(x0, x1) + width_px, max(y0, y1) + width_px


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _named_and_listed(fig) -> str:
    """Everything the figure writes outside its axes' names: its caption(s)."""
    return " ".join(" ".join(t.get_text() for t in fig.texts).split())  # a long list wraps


def assert_names_clear(fig, shown: list[list[str]]) -> None:
    """No name overlaps a marker, an error bar, another name or the axes' edge; every point of
    ``shown`` (per axes) is named on the plot or listed in the caption."""
    renderer = _drawn(fig)
    caption = _named_and_listed(fig)
    for ax, names in zip([a for a in fig.axes if a.get_visible()], shown):
        frame = ax.get_window_extent(renderer)
        obstacles = _marker_boxes(ax, renderer) + [_segment_box(s, 0.5) for s in _bar_segments(ax)]
        texts = [t for t in ax.texts if t.get_text()]
        boxes = [t.get_window_extent(renderer) for t in texts]
        for text, box in zip(texts, boxes):
            where = f"{text.get_text()!r} in {ax.get_title()!r}"
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, \
                f"{where} runs off the plot: {box} outside {frame}"
            extent = (box.x0, box.y0, box.x1, box.y1)
            hit = [o for o in obstacles if _overlap(extent, o)]
            assert not hit, f"{where} is drawn over a point or an error bar at {hit[0]}"
        for i, a in enumerate(boxes):
            assert not any(a.overlaps(b) for b in boxes[i + 1:]), "two names overlap"
        for key in (t.get_text() for t in texts if t.get_text().isdigit()):  # a number stands for a name
            assert re.search(rf"(: |, |; ){key} \S", caption), f"number {key} has no key in the caption"
        written = {t.get_text() for t in texts}
        missing = [n for n in names if n not in written and " ".join(n.split()) not in caption]
        assert not missing, f"named nowhere (neither on the plot nor in a caption): {missing}"


def assert_bars_reach_their_ends(fig, intervals: list[tuple[float, float, tuple | None, tuple | None]]) -> None:
    """Every error bar ends at its interval's end, or at the axes' edge with a continuation mark."""
    renderer = _drawn(fig)
    ax = fig.axes[0]
    frame = ax.get_window_extent(renderer)
    marks = [line.get_transform().transform(line.get_xydata()) for line in ax.get_lines()
             if line.get_gid() == "continues"]
    marks = np.vstack(marks) if marks else np.empty((0, 2))
    segments = _bar_segments(ax)
    expected = sum((x_ci is not None) + (y_ci is not None) for _, _, x_ci, y_ci in intervals)
    assert len(segments) == expected, "one bar per interval"
    for segment in segments:
        for end in segment:
            inside = frame.x0 - EDGE_PX <= end[0] <= frame.x1 + EDGE_PX and frame.y0 - EDGE_PX <= end[1] <= frame.y1 + EDGE_PX
            assert inside, f"an error bar is cut at the axes: it ends at {end}, outside {frame}"
            at_edge = min(abs(end[0] - frame.x0), abs(end[0] - frame.x1), abs(end[1] - frame.y0),
                          abs(end[1] - frame.y1)) <= EDGE_PX
            marked = len(marks) and np.min(np.hypot(*(marks - end).T)) <= 1.0
            assert not at_edge or marked, f"an error bar ends at the axes' edge ({end}) without a continuation mark"
    to_pixels = ax.transData.transform
    for xi, yi, x_ci, y_ci in intervals:  # each end drawn where the interval ends, or at the edge
        for ci, horizontal in ((x_ci, True), (y_ci, False)):
            if ci is None:
                continue
            ends = [to_pixels((v, yi) if horizontal else (xi, v)) for v in ci]
            for end in ends:
                clipped = np.clip(end, [frame.x0, frame.y0], [frame.x1, frame.y1])
                assert any(np.allclose(clipped, s_end, atol=1.0) for s in segments for s_end in s), \
                    f"no bar ends at {clipped} (interval {ci} of the point at {xi, yi})"


def _intervals(subset, x, y):
    from mlel.base.formatting import drawable
    from mlel.paper.figures import directions

    higher = directions()
    points = []
    for s in subset:
        xi, yi = (s["metrics"].get(k, {}).get("index") for k in (x, y))
        if not (drawable(xi) and drawable(yi)):
            continue
        x_ci, y_ci = (index_interval(s["metrics"][k], higher.get(k, False)) for k in (x, y))
        points.append((xi, yi, x_ci, y_ci))
    return points


def _names(subset, x, y, field="index"):
    from mlel.base.formatting import drawable

    return [s.get("entry") or s["model"] for s in subset
            if drawable(s["metrics"].get(x, {}).get(field)) and drawable(s["metrics"].get(y, {}).get(field))]


@pytest.fixture(scope="module")
def rated_2022(reference_dir):
    return rate_for_paper(reference_dir)[0]


@pytest.fixture(scope="module")
def rated_own():
    return rate_for_paper(REPO / "results")[0]


@pytest.fixture(scope="module")
def rated_llm(reference_dir, tmp_path_factory):
    """ML.ENERGY's LLM chat and text-to-image tasks, imported as `python -m mlel.importers mlenergy` does."""
    from mlel.importers.common import write_records
    from mlel.importers.mlenergy import import_mlenergy

    origin = reference_dir.parent.parent / "ml-energy-leaderboard"
    source = tmp_path_factory.mktemp("leaderboard")
    (source / "tasks").mkdir()
    shutil.copy(origin / "index.json", source / "index.json")
    for task in ("lm-arena-chat", "text-to-image"):
        shutil.copy(origin / "tasks" / f"{task}.json", source / "tasks" / f"{task}.json")
    keep = {"1 x B200 - vLLM", "2 x H100 - diffusers"}
    records = [r for r in import_mlenergy(source).records if r.environment.name in keep]
    results = tmp_path_factory.mktemp("records")
    write_records(records, results)
    return rate_for_paper(results)[0]


@pytest.mark.parametrize("task, env", [("inference", "A100 x8 - TensorFlow 2.8.0"),
                                       ("training", "A100 x8 - TensorFlow 2.8.0"),
                                       ("inference", "RTX 5000 - TensorFlow 2.4.1")])
def test_names_clear_of_points_on_the_2022_scatters(rated_2022, task, env):
    fig, subset, x, y = _scatter(rated_2022, task, env)
    assert_names_clear(fig, [_names(subset, x, y)])


def test_names_clear_of_points_on_parameters_vs_runtime(rated_2022):
    inference = [s for s in rated_2022 if s["task"] == "inference"]
    envs = sorted({s["environment"] for s in inference})[:2]
    shown = [s for s in inference if s["environment"] in envs]
    fig = parameters_vs_runtime(shown, shown[0]["boundaries"], shown[0]["reference"],
                                {"parameters": "M", "inference_time": "ms"})
    assert_names_clear(fig, [_names([s for s in shown if s["environment"] == env], "parameters",
                                    "inference_time", "value") for env in envs])


OWN_ENVS = ["EPYC - PyTorch 2.14.1", "EPYC - TensorFlow 2.21.0"]


@pytest.mark.parametrize("env", OWN_ENVS)
def test_names_clear_of_error_bars_on_our_results(rated_own, env):
    fig, subset, x, y = _scatter(rated_own, "inference", env)
    assert_names_clear(fig, [_names(subset, x, y)])


@pytest.mark.parametrize("env", OWN_ENVS)
def test_error_bars_reach_their_ends_or_continue_on_our_results(rated_own, env):
    fig, subset, x, y = _scatter(rated_own, "inference", env)
    intervals = _intervals(subset, x, y)
    assert any(x_ci or y_ci for _, _, x_ci, y_ci in intervals), "our results pool three seeds: intervals"
    assert_bars_reach_their_ends(fig, intervals)


@pytest.mark.parametrize("task, env", [("lm-arena-chat", "1 x B200 - vLLM"),
                                       ("text-to-image", "2 x H100 - diffusers")])
def test_names_stay_on_the_imported_scatters(rated_llm, task, env):
    fig, subset, x, y = _scatter(rated_llm, task, env)
    assert_names_clear(fig, [_names(subset, x, y)])
