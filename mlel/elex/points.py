"""The scatter's points, split by what a boundary slider can change.

Where a point sits, its hover texts and error bars depend on the reference, the axes, the scale,
the environments shown and the pinned model, never on boundaries, weights or mode: a
:class:`PointLayer` holds them, built once per such key and remembered on the table (bounded,
read-only, shared by the sessions that ask for the same key). A slider move only recolours the
points and puts their new letters into the titles (:func:`environment_traces`): a few array
look-ups instead of formatting thousands of numbers and strings again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mlel.ratings.engine import NOT_RATED, RATINGS
from mlel.base.formatting import DRAWABLE, format_quantity
from mlel.ratings import RATING_COLORS
from mlel.elex import bars, entries, state
from mlel.elex.state import Rating, TaskTable

# Distinct symbols that scatter and scattergl both draw; environment i gets SYMBOLS[i % len].
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "triangle-down", "star",
           "pentagon", "hexagon", "triangle-left", "triangle-right")
WEBGL_FROM = 2000  # points; SVG scatter slows down the browser beyond that
NOT_GRADED_COLOUR = "#bbbbbb"  # an entry that failed a validity gate has no letter, so no rating colour
NOT_RATED_COLOUR = "#bbbbbb"  # no evidence for a level (honest schemes): grey, never E
LAYERS_KEPT = 8  # point layers per table (each ~2 MB at 3,000 points): recent views stay instant
_COLOURS = np.array([RATING_COLORS[r] for r in RATINGS] + [NOT_RATED_COLOUR], dtype=object)  # by level


@dataclass(frozen=True)
class EnvironmentPoints:
    """One environment's drawn points: ``start:stop`` of the layer's rows, and its trace template."""

    start: int
    stop: int
    name: str  # the environment's label
    code: int  # the environment's number: its symbol and legend group
    trace: dict  # the points' trace without "text" and marker colour (filled per rating)


@dataclass(frozen=True)
class PointLayer:
    """The rating-independent part of a scatter: drawn rows grouped by environment, positions,
    hover texts, error bars, and what the title and axes need from all shown points."""

    rows: np.ndarray  # (k,) drawn rows, environment by environment
    graded: np.ndarray  # (k,) bool
    titles: np.ndarray  # (k, 6) object: each row's title for each level, then for none (not rated)
    groups: tuple[EnvironmentPoints, ...]
    ring: tuple[dict, ...]  # the pinned model's ring, where it is drawn
    x_extent: tuple[float, float] | None  # min, max over all shown points (not only the drawn)
    y_extent: tuple[float, float] | None
    shown: int  # points with a value on both axes
    missing: int  # points without
    unindexed: int  # of those, points with values but no index (nothing to index them against)
    drawn: int
    size: int  # marker size
    beyond: tuple[str, ...] = ()  # "name (1e+304)" of the points no axis can hold (of the missing)
    x_range: tuple[float, float] | None = None  # the axes fitted to the points (None: no point)
    y_range: tuple[float, float] | None = None
    arrows: tuple[dict, ...] = ()  # where an error bar runs past an axis: a triangle pointing on


def selected_rows(table: TaskTable, environments: Sequence[str] | None) -> np.ndarray:
    """Rows of the chosen environments (all when ``environments`` is None)."""
    if environments is None:
        return np.arange(len(table))
    chosen = set(environments)
    wanted = np.array([env in chosen for env in table.environments], dtype=bool)
    if not wanted.size:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(wanted[table.env_code])


def axis_values(rating: Rating, metric: str, scale: str) -> np.ndarray:
    column = rating.table.column(metric)
    return rating.indices[:, column] if scale == "index" else rating.table.values[:, column]


def value_texts(table: TaskTable, metric: str) -> np.ndarray:
    """Every row's value of ``metric`` for people ("94.3 mWh / sample"); computed once per table."""
    key = ("value_texts", metric)
    if key not in table.cache:
        unit = table.properties[metric].unit
        table.cache[key] = np.array([format_quantity(v, unit) for v in table.values[:, table.column(metric)]
                                     .tolist()], dtype=object)
    return table.cache[key]


def hover_parts(rating: Rating, rows: np.ndarray, metric: str, scale: str) -> list[str]:
    texts = value_texts(rating.table, metric)[rows]
    if scale != "index":
        return texts.tolist()
    index = rating.indices[rows, rating.table.column(metric)]
    return [f"{t} · index {i:.3g}" for t, i in zip(texts.tolist(), index.tolist())]


def point_notes(table: TaskTable) -> tuple[np.ndarray, np.ndarray]:
    """Per row, computed once per table: the capped name, and the notes after the letter (runs,
    "not graded: <reason>"), both escaped for plotly (:func:`mlel.elex.entries.plotly_text`)."""
    if "point_notes" not in table.cache:
        names, notes = [], []
        for model, entry in zip(table.models, table.results):
            names.append(entries.plotly_text(model))
            runs = entries.n_runs(entry)
            note = f"<br>{runs} runs" if runs > 1 else ""  # one run: the summary says "no interval"
            reason = entries.not_graded(entry)
            notes.append(note + (f"<br>not graded: {entries.plotly_text(reason, 300)}" if reason else ""))
        table.cache["point_notes"] = (np.array(names, dtype=object), np.array(notes, dtype=object))
    return table.cache["point_notes"]


def point_titles(table: TaskTable, rows: np.ndarray, graded: np.ndarray,
                 labels: Sequence[str] = RATINGS) -> np.ndarray:
    """(k, 6): per row, its title for each compound level ("name (B)<br>3 runs", "name (4 ★)"),
    then for none ("name (not rated)"; the reason follows, from the rating); a row that is not
    graded reads "name (not graded)…" whatever its level."""
    names, notes = point_notes(table)
    shown = [*labels, "not rated"]
    titles = np.empty((len(rows), len(shown)), dtype=object)
    for i, (name, note, ok) in enumerate(zip(names[rows].tolist(), notes[rows].tolist(), graded.tolist())):
        titles[i] = [f"{name} ({label}){note}" for label in shown] if ok else f"{name} (not graded){note}"
    return titles


def level_words(rating: Rating) -> tuple[str, ...]:
    """How a level reads in titles: the letter, or the stars' number with a star ("4 ★")."""
    labels = rating.level_labels[:-1]
    return tuple(f"{label} ★" for label in labels) if rating.scheme.level_style == "stars" else labels


def short_floats(values: np.ndarray, digits: int = 5) -> list[float]:
    """``values`` rounded to ``digits`` significant digits (NaN kept): the points' positions reach
    the browser as "0.87654" rather than 17 digits, which halves the figure's JSON."""
    values = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(np.abs(values)))
    exponent = np.where(np.isfinite(exponent), exponent, 0).astype(np.int64) - (digits - 1)
    down = np.maximum(-exponent, 0).astype(float)  # k / 10**n: the correctly rounded short decimal
    up = np.maximum(exponent, 0).astype(float)
    rounded = np.round(values * 10.0 ** down / 10.0 ** up) * 10.0 ** up / 10.0 ** down
    return rounded.tolist()


def drawn_rows(rows: np.ndarray, limit: int, keep: Sequence[int] = ()) -> np.ndarray:
    """At most about ``limit`` of ``rows``, evenly spread over them (rows are sorted by environment
    and model, so every environment keeps its share) plus the rows in ``keep``; the same rows on
    every slider move, so points do not jump."""
    if len(rows) <= limit:
        return rows
    picked = rows[np.linspace(0, len(rows) - 1, limit).astype(np.int64)]  # limit < len: distinct
    keep = np.asarray(list(keep), dtype=np.int64)
    if not keep.size:
        return picked
    at = np.minimum(np.searchsorted(rows, keep), len(rows) - 1)  # rows are sorted
    return np.union1d(picked, keep[rows[at] == keep])


def point_layer(rating: Rating, x: str, y: str, environments: Sequence[str], scale: str,
                selected_row: int | None, max_points: int) -> PointLayer:
    """The layer of these inputs, remembered on the table. ``rating.indices`` is the table's index
    against ``rating.reference`` (:func:`mlel.elex.state.rate`), so the reference keys it."""
    key = ("points", rating.basis_key, level_words(rating), x, y, scale, tuple(environments), selected_row,
           max_points)
    return state.remembered(rating.table, key, lambda: _layer(rating, x, y, environments, scale, selected_row,
                                                              max_points), bucket="points", limit=LAYERS_KEPT)


def _layer(rating: Rating, x: str, y: str, environments: Sequence[str], scale: str, selected_row: int | None,
           max_points: int) -> PointLayer:
    table = rating.table
    rows = selected_rows(table, environments)
    xs, ys = axis_values(rating, x, scale)[rows], axis_values(rating, y, scale)[rows]
    low, high = DRAWABLE  # beyond (a denormal, 1e±300, inf): not drawn, named in the title's note
    shown = (xs >= low) & (xs <= high) & (ys >= low) & (ys <= high)
    beyond = (xs > 0) & (ys > 0) & ~shown
    valued = np.ones(len(rows), dtype=bool)
    for metric in (x, y):
        column = table.values[rows, table.column(metric)]
        valued &= np.isfinite(column) & (column > 0)
    unindexed = int((valued & ~shown & ~beyond).sum()) if scale == "index" else 0
    named = tuple(f"{entries.plotly_text(table.models[row], 60)} ({v:.3g})" for row, xv, yv in
                  zip(rows[beyond].tolist(), xs[beyond].tolist(), ys[beyond].tolist())
                  for v in [xv if not low <= xv <= high else yv])
    rows, xs, ys = rows[shown], xs[shown], ys[shown]
    x_extent, y_extent = ((float(v.min()), float(v.max())) if v.size else None for v in (xs, ys))  # all points
    drawn = drawn_rows(rows, max_points, [] if selected_row is None else [selected_row])
    if len(drawn) < len(rows):
        position = np.searchsorted(rows, drawn)
        rows, xs, ys = drawn, xs[position], ys[position]
    order = np.argsort(table.env_code[rows], kind="stable")  # each environment's points together, in order
    rows, xs, ys = rows[order], xs[order], ys[order]
    size = 11 if len(rows) < 200 else 7 if len(rows) < WEBGL_FROM else 5
    graded = table.graded[rows] if table.graded is not None else np.ones(len(rows), dtype=bool)
    x_range, x_bars = bars.fitted_axis(rating, rows, xs, x, scale, x_extent)  # the axes hold the points
    y_range, y_bars = bars.fitted_axis(rating, rows, ys, y, scale, y_extent)
    groups = _groups(rating, rows, xs, ys, (x, y), size, scale, (x_bars, y_bars))
    titles = point_titles(table, rows, graded, level_words(rating))
    return PointLayer(
        rows=state.frozen(rows), graded=state.frozen(graded), titles=state.frozen(titles), groups=groups,
        ring=_ring(rows, xs, ys, size, selected_row), x_extent=x_extent, y_extent=y_extent,
        shown=int(shown.sum()), missing=int((~shown).sum()), unindexed=unindexed, drawn=len(rows), size=size,
        beyond=named, x_range=x_range, y_range=y_range,
        arrows=bars.continuation_traces(rating, rows, xs, ys, (x, y), x_bars, y_bars, scale))


def _groups(rating: Rating, rows: np.ndarray, xs: np.ndarray, ys: np.ndarray, metrics: tuple[str, str], size: int,
            scale: str, axis_bars: tuple) -> tuple[EnvironmentPoints, ...]:
    """Per environment (rows grouped by it): its label and the points' trace template
    (``axis_bars``: the x and y axes' :class:`~mlel.elex.bars.AxisBars`, or None)."""
    table, (x, y) = rating.table, metrics
    names = (entries.plotly_text(table.properties[x].name), entries.plotly_text(table.properties[y].name))
    kind = "scattergl" if len(rows) >= WEBGL_FROM else "scatter"
    labels = [entries.plotly_text(label) for label in table.labels or table.environments]  # legend, hover
    codes = table.env_code[rows]
    starts = np.flatnonzero(np.diff(codes, prepend=-1)).tolist() if len(rows) else []
    custom = [list(item) for item in zip(rows.tolist(), hover_parts(rating, rows, x, scale),
                                         hover_parts(rating, rows, y, scale))]
    x_short, y_short = short_floats(xs), short_floats(ys)
    groups = []
    for start, stop in zip(starts, starts[1:] + [len(rows)]):
        code = int(codes[start])
        symbol, group = SYMBOLS[code % len(SYMBOLS)], f"environment {code}"
        trace = {
            "type": kind, "mode": "markers", "name": labels[code], "legendgroup": group, "showlegend": False,
            "x": x_short[start:stop], "y": y_short[start:stop], "customdata": custom[start:stop],
            "text": None,  # per rating
            "hovertemplate": ("<b>%{text}</b><br>%{fullData.name}<br>"
                              f"{names[0]}: %{{customdata[1]}}<br>{names[1]}: %{{customdata[2]}}<extra></extra>"),
            "marker": {"color": None, "symbol": symbol, "size": size,  # colour per rating
                       "line": {"color": "#222222", "width": 1}, "opacity": 0.95},
        }
        for axis, found in zip(("error_x", "error_y"), axis_bars):
            drawn = bars.trace_bars(found, start, stop)
            if drawn is not None:
                trace[axis] = drawn
        groups.append(EnvironmentPoints(start, stop, labels[code], code, trace))
    return tuple(groups)


def _ring(rows: np.ndarray, xs: np.ndarray, ys: np.ndarray, size: int, row: int | None) -> tuple[dict, ...]:
    """A black ring around the pinned model's point, where that point is drawn."""
    if row is None or row not in set(rows.tolist()):
        return ()
    position = int(np.flatnonzero(rows == row)[0])
    return ({"type": "scatter", "mode": "markers", "x": [float(xs[position])], "y": [float(ys[position])],
             "name": "selected", "showlegend": False, "hoverinfo": "skip",
             "marker": {"size": size + 12, "color": "rgba(0,0,0,0)", "line": {"color": "#000000", "width": 3}}},)


def environment_traces(rating: Rating, layer: PointLayer) -> list[dict]:
    """The layer's traces under this rating: colour = compound rating (grey where not graded, or not
    rated: the pipeline's reason in the title), the level in each title. Every trace is a fresh
    copy: the layer is shared and stays unchanged."""
    levels = rating.compound[layer.rows]
    colours = np.where(layer.graded, _COLOURS[levels], NOT_GRADED_COLOUR).tolist()
    texts = layer.titles[np.arange(len(levels)), levels].tolist()
    for i in np.flatnonzero((levels == NOT_RATED) & layer.graded).tolist():
        texts[i] += f"<br>not rated: {entries.wrapped(rating.reason(int(layer.rows[i])) or '')}"
    traces = []
    for group in layer.groups:
        traces += [_legend_twin(group.name, group.code),
                   _points_trace(group.trace, texts[group.start:group.stop], colours[group.start:group.stop])]
    return traces


def _legend_twin(name: str, code: int) -> dict:
    """The grey legend entry of an environment (its points are coloured by rating)."""
    return {"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": name,
            "legendgroup": f"environment {code}", "hoverinfo": "skip",
            "marker": {"color": "#9a9a9a", "symbol": SYMBOLS[code % len(SYMBOLS)], "size": 10,
                       "line": {"color": "#222222", "width": 1}}}


def _points_trace(template: dict, texts: list[str], colours: list[str]) -> dict:
    """A copy of a points trace template with its titles and colours (one level deeper than
    ``copied`` needs to look: these lists hold thousands of numbers)."""
    trace = dict(template)
    trace["x"], trace["y"] = list(template["x"]), list(template["y"])
    trace["customdata"] = list(map(list, template["customdata"]))
    trace["text"] = texts
    trace["marker"] = {**template["marker"], "color": colours, "line": dict(template["marker"]["line"])}
    for axis in ("error_x", "error_y"):
        if axis in template:
            drawn = template[axis]
            trace[axis] = {**drawn, "array": list(drawn["array"]), "arrayminus": list(drawn["arrayminus"])}
    return trace


def ring_traces(layer: PointLayer) -> list[dict]:
    return [copied(trace) for trace in layer.ring]


def arrow_traces(layer: PointLayer) -> list[dict]:
    return [copied(trace) for trace in layer.arrows]


def copied(value):
    """A fresh copy of a small trace: its dicts and lists."""
    if isinstance(value, dict):
        return {key: copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copied(item) for item in value]
    return value
