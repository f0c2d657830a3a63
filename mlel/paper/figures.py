"""The paper's figures, as the paper drew them: index-scale scatter plots over the gridded rating
background with dashed reference lines at 1.0, model names that cover no point, no error bar and
no other name and stay inside the plot (beside their point, else away with a leader line, else
listed in the caption: :mod:`mlel.paper.names`), error bars drawn to their end or marked as
continuing where an entry pools several runs (:mod:`mlel.paper.bars`); parameters vs runtime with
names over the real-unit background.

Figure builders take rated summaries (SPEC §7 dicts) and return matplotlib figures; no file I/O.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from mlel.base.formatting import drawable
from mlel.paper import bars
from mlel.paper.bars import index_interval  # noqa: F401 - re-exported
from mlel.paper.names import add_caption, name_texts, plain
from mlel.ratings import engine
from mlel.ratings import RATING_COLORS

PNG_DPI = 150  # figures are laid out at the dpi their PNG is saved at: names measured are names shown
NICE_STEPS = (1.0, 2.0, 5.0)  # major ticks of a log axis: 0.1 0.2 0.5 1 2 5 10 ...
MAX_TICKS = 8
BACKGROUND_ALPHA = 0.35


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def nice_log_ticks(low: float, high: float, max_ticks: int = MAX_TICKS) -> list[float]:
    """Major ticks of a log axis from ``low`` to ``high``: 1-2-5 steps, thinned to 1-per-decade
    (then every other decade) until at most ``max_ticks`` remain, so labels never collide."""
    if not (low > 0 and high > low):
        return []
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    for steps, every in ((NICE_STEPS, 1), ((1.0, 3.0), 1), ((1.0,), 1), ((1.0,), 2), ((1.0,), 3)):
        ticks = [step * 10.0 ** decade for decade in range(first, last + 1) if (decade - first) % every == 0
                 for step in steps]
        ticks = [t for t in ticks if low <= t * (1 + 1e-9) and t <= high * (1 + 1e-9)]
        if len(ticks) <= max_ticks:
            return ticks
    return ticks


def tick_text(value: float) -> str:
    """A tick label as a plain number: 0.02, 0.5, 1, 20, 5000; 1e+06 only when huge or tiny."""
    return f"{value:g}"


def readable_axis(axis, low: float, high: float, log: bool) -> None:
    """Set limits-independent ticks of one axis (``ax.xaxis``/``ax.yaxis``): plain numbers, no
    minor labels (the cause of colliding ``3×10⁻¹4×10⁻¹``)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    if log:
        ticks = nice_log_ticks(low, high)
        axis.set_major_locator(FixedLocator(ticks) if len(ticks) >= 2 else LogLocator(numticks=MAX_TICKS))
        axis.set_minor_locator(LogLocator(subs=tuple(range(2, 10)), numticks=100))
    else:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda v, _: tick_text(v)))
    axis.set_minor_formatter(NullFormatter())


def _entry(summary: Mapping) -> str:
    return f"{summary.get('entry') or summary.get('model')} ({summary.get('environment')})"


def undrawn(rated: Sequence[dict], x: str, y: str, field: str) -> list[str]:
    """What a figure of ``x`` against ``y`` (``field``: "index" or "value") leaves out, each entry
    and its value named: "MobileNetV2 (A100 …): inference_power_draw index = 1e+308". A missing
    value (None) is no point to draw and is not named."""
    skipped = []
    for summary in rated:
        for key in (x, y):
            value = (summary.get("metrics", {}).get(key) or {}).get(field)
            if value is not None and not drawable(value):
                skipped.append(f"{_entry(summary)}: {key} {field} = {value!r} cannot be drawn")
    return skipped


def _drawn(rated: Sequence[dict], x: str, y: str, field: str) -> list[tuple[float, float, dict]]:
    """(x, y, summary) of the entries whose two values can both be drawn."""
    points = []
    for summary in rated:
        xi, yi = ((summary["metrics"].get(key) or {}).get(field) for key in (x, y))
        if drawable(xi) and drawable(yi):
            points.append((float(xi), float(yi), summary))
    return points


def directions() -> dict[str, bool]:
    """higher_is_better of every property key of the built-in property sets."""
    from mlel.tasks.properties import builtin_tasks

    return {p.key: p.higher_is_better for prop_set in builtin_tasks().values() for p in prop_set.properties}


def _background(ax, cells: Sequence[engine.Cell]) -> None:
    plt = _pyplot()
    for cell in cells:
        ax.add_patch(plt.Rectangle((cell.x0, cell.y0), cell.x1 - cell.x0, cell.y1 - cell.y0,
                                   color=RATING_COLORS[cell.rating], alpha=BACKGROUND_ALPHA, lw=0))
    for cell in cells:  # the grid: band edges as thin white lines
        ax.axvline(cell.x0, color="white", lw=0.6, zorder=1)
        ax.axhline(cell.y0, color="white", lw=0.6, zorder=1)


def axis_extent(bounds: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """An index axis that shows every point, every positive boundary and 1.0, padded."""
    finite = [v for v in values if drawable(v)]
    positive = [b for b in bounds if drawable(b)]
    low = min(finite + positive + [1.0]) * 0.8
    high = max(finite + positive + [1.0]) * 1.25
    return low, high


def use_log(low: float, high: float) -> bool:
    return high / low > 3


def index_background(x_bounds: Sequence[float], y_bounds: Sequence[float], xs: Sequence[float],
                     ys: Sequence[float], mode: str = "optimistic median") -> list[engine.Cell]:
    """The rating background of an index scatter: the engine's bands of both axes (E at the low
    end, A at the high end), each cell coloured by the compound of its two ratings (equal weights)."""
    x_bands = engine.rating_bands(x_bounds, None, True, *axis_extent(x_bounds, xs))
    y_bands = engine.rating_bands(y_bounds, None, True, *axis_extent(y_bounds, ys))
    return engine.background_cells(x_bands, y_bands, 1.0, 1.0, mode)


def index_scatter(rated: Sequence[dict], x: str, y: str, boundaries: Mapping[str, Sequence[float]],
                  title: str = "", mode: str = "optimistic median", labels: Mapping[str, str] | None = None,
                  higher_is_better: Mapping[str, bool] | None = None):
    """Models on the index scale of two metrics over the gridded rating background, dashed lines at
    the reference (index 1.0), names that cover nothing (or listed in the caption), error bars where
    runs allow: each drawn to its end, or to the edge with a chevron where it runs on."""
    plt = _pyplot()
    labels = labels or {}
    points = _drawn(rated, x, y, "index")  # what cannot be drawn: undrawn() names it
    found = bars.intervals(points, x, y, higher_is_better or directions())
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=PNG_DPI)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_bounds, y_bounds = boundaries.get(x, ()), boundaries.get(y, ())
    # the axes widen to show the ends of the error bars within reach (bars.reach); the others continue
    xs += bars.reach([e for _, _, ci, _ in found if ci for e in ci], *_extent_and_scale(x_bounds, xs))
    ys += bars.reach([e for _, _, _, ci in found if ci for e in ci], *_extent_and_scale(y_bounds, ys))
    cells = index_background(x_bounds, y_bounds, xs, ys, mode)
    _background(ax, cells)
    x_extent, y_extent = (min(c.x0 for c in cells), max(c.x1 for c in cells)), \
        (min(c.y0 for c in cells), max(c.y1 for c in cells))
    for xi, yi, summary in points:
        ax.scatter(xi, yi, color=RATING_COLORS.get(summary.get("compound"), "#9E9E9E"), edgecolor="black",
                   s=28, zorder=3)
    ax.axvline(1.0, color="black", ls="--", lw=0.9, zorder=2, gid="reference")
    ax.axhline(1.0, color="black", ls="--", lw=0.9, zorder=2, gid="reference")
    for axis, extent, setter, scale in ((ax.xaxis, x_extent, ax.set_xlim, ax.set_xscale),
                                        (ax.yaxis, y_extent, ax.set_ylim, ax.set_yscale)):
        log = use_log(*extent)
        scale("log" if log else "linear")
        setter(*extent)
        readable_axis(axis, *extent, log)
    bars.draw(ax, found)  # on the final limits: what lies beyond them is marked as continuing
    ax.set_xlabel(plain(f"{labels.get(x, x)} (index)"))
    ax.set_ylabel(plain(f"{labels.get(y, y)} (index)"))
    ax.set_title(plain(title), fontsize=9)
    fig.tight_layout()
    named = _naming_order(points)
    _, left_out = name_texts(ax, [p[0] for p in named], [p[1] for p in named], [_name(p[2]) for p in named])
    add_caption(fig, [("", left_out)])
    return fig


def _name(summary: Mapping) -> str:
    return summary.get("entry") or summary["model"]


def _naming_order(points: Sequence[tuple[float, float, dict]]) -> list[tuple[float, float, dict]]:
    """The reference model named first: the one name every reader looks for gets its room."""
    return sorted(points, key=lambda p: p[2].get("reference") != p[2].get("model"))


def _extent_and_scale(bounds: Sequence[float], values: Sequence[float]) -> tuple[float, float, bool]:
    low, high = axis_extent(bounds, values)
    return low, high, use_log(low, high)


def _real_panel(ax, subset: Sequence[dict], x: str, y: str, bounds: Mapping, reference: str,
                mode: str) -> None:
    points = _drawn(subset, x, y, "value")
    if not points:
        return
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_extent = (min(xs) / 1.6, max(xs) * 1.6)
    y_extent = (min(ys) / 1.6, max(ys) * 1.6)
    ref = next((s for s in subset if s["model"] == reference), None)
    if ref is not None and drawable(ref["metrics"][x]["value"]) and drawable(ref["metrics"][y]["value"]):
        x_bands = engine.rating_bands(bounds.get(x, ()), ref["metrics"][x]["value"], False, *x_extent)
        y_bands = engine.rating_bands(bounds.get(y, ()), ref["metrics"][y]["value"], False, *y_extent)
        _background(ax, engine.background_cells(x_bands, y_bands, 1.0, 1.0, mode))
    for xi, yi, summary in points:
        ax.scatter(xi, yi, color=RATING_COLORS.get(summary.get("compound"), "#9E9E9E"), edgecolor="black",
                   s=22, zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*x_extent)
    ax.set_ylim(*y_extent)
    readable_axis(ax.xaxis, *x_extent, True)
    readable_axis(ax.yaxis, *y_extent, True)


def parameters_vs_runtime(rated: Sequence[dict], boundaries: Mapping, reference: str,
                          units: Mapping[str, str], x: str = "parameters", y: str = "inference_time",
                          mode: str = "optimistic median"):
    """One panel per environment: parameters vs runtime per sample in real units (log-log) over the
    rating background mapped from the reference's values, with the models' names."""
    plt = _pyplot()
    envs = sorted({s["environment"] for s in rated})
    columns = min(len(envs), 2) or 1
    rows = math.ceil(len(envs) / columns) or 1
    fig, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 4.2 * rows), squeeze=False, dpi=PNG_DPI)
    for ax in axes.flat[len(envs):]:
        ax.set_visible(False)
    panels = []
    for ax, env in zip(axes.flat, envs):
        subset = [s for s in rated if s["environment"] == env]
        _real_panel(ax, subset, x, y, boundaries, reference, mode)
        ax.set_title(plain(env), fontsize=8)
        ax.set_xlabel(plain(f"Parameters [{units.get(x, '')}]"), fontsize=8)
        ax.set_ylabel(plain(f"Runtime [{units.get(y, '')}]"), fontsize=8)
        panels.append((ax, env, subset))
    fig.tight_layout()
    left_out = []
    for ax, env, subset in panels:
        shown = _naming_order(_drawn(subset, x, y, "value"))
        _, missing = name_texts(ax, [p[0] for p in shown], [p[1] for p in shown], [_name(p[2]) for p in shown])
        left_out.append((env, missing))
    add_caption(fig, left_out)
    return fig
