"""ELEx figures: pure functions from a :class:`~mlel.elex.state.Rating` to plain plotly figure
dicts (no ``go.Figure``: its validation costs more than the whole re-rating). The rating
background's geometry comes from the engine (:func:`mlel.engine.rating_bands`).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from mlel import engine
from mlel.engine import RATINGS
from mlel.formatting import format_quantity
from mlel.properties import PropertySet
from mlel.ratings import RATING_COLORS
from mlel.elex import entries
from mlel.elex.sliders import slider_marks
from mlel.elex.state import Rating

SCALES = ("index", "real")
# Distinct symbols that scatter and scattergl both draw; environment i gets SYMBOLS[i % len].
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "triangle-down", "star",
           "pentagon", "hexagon", "triangle-left", "triangle-right")
WEBGL_FROM = 2000  # points; SVG scatter slows down the browser beyond that
NOT_GRADED_COLOUR = "#bbbbbb"  # an entry that failed a validity gate has no letter, so no rating colour
MAX_POINTS = 3000  # points drawn at most: beyond, an even sample (the views stay fast at 100,000 rows)
FONT = "Helvetica, Arial, sans-serif"


def axis_title(properties: PropertySet, metric: str, scale: str) -> str:
    info = properties[metric]
    if scale == "index":
        return f"{info.name} — index (higher is better)"  # > 1 always beats the reference
    return f"{info.name} [{info.unit}] ({'higher' if info.higher_is_better else 'lower'} is better)"


def selected_rows(rating: Rating, environments: Sequence[str] | None) -> np.ndarray:
    """Rows of the chosen environments (all when ``environments`` is None)."""
    table = rating.table
    if environments is None:
        return np.arange(len(table))
    wanted = np.array([env in set(environments) for env in table.environments], dtype=bool)
    if not wanted.size:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(wanted[table.env_code])


def axis_values(rating: Rating, metric: str, scale: str) -> np.ndarray:
    column = rating.table.column(metric)
    return rating.indices[:, column] if scale == "index" else rating.table.values[:, column]


def _log_range(values: np.ndarray, bounds: Sequence[float]) -> tuple[float, float]:
    """Axis extent (data units) that shows every point and every boundary, padded by ~10 %."""
    values = values[np.isfinite(values) & (values > 0)]
    extra = [b for b in bounds if b > 0 and math.isfinite(b)]
    candidates = extra + ([float(values.min()), float(values.max())] if values.size else [])
    if not candidates:
        return 0.1, 10.0
    low, high = min(candidates), max(candidates)
    if high / low < 1.5:  # a degenerate axis still gets some room
        low, high = low / 1.25, high * 1.25
    return low / 1.12, high * 1.12


def log_ticks(extent: tuple[float, float]) -> dict:
    """Tick values and texts of a log axis that read as numbers: linear steps inside one decade
    (0.2, 0.4, … rather than plotly's bare digits "2 3 … 9 1"), 1-2-5 per decade beyond."""
    marks = slider_marks(math.log10(extent[0]), math.log10(extent[1]))
    if len(marks) < 2:  # a very narrow axis: plotly's own ticks
        return {}
    return {"tickmode": "array", "tickvals": [10 ** p for p in marks], "ticktext": list(marks.values())}


def _reference_value(rating: Rating, environment: str, metric: str) -> float | None:
    row = rating.table.row(environment, rating.reference)
    if row is None:
        return None
    value = rating.table.values[row, rating.table.column(metric)]
    return float(value) if math.isfinite(value) and value > 0 else None


def background_shapes(rating: Rating, x: str, y: str, scale: str, environments: Sequence[str],
                      x_range: tuple[float, float], y_range: tuple[float, float]) -> list[dict]:
    """Rating-coloured rectangles: each cell of the two axes' bands, coloured by the compound rating
    of its two ratings (weights of the two axis metrics, the session's mode)."""
    if scale == "index":
        x_ref = y_ref = None
    else:  # real values: boundaries depend on the reference's value in one environment
        if len(environments) != 1:
            return []
        x_ref = _reference_value(rating, environments[0], x)
        y_ref = _reference_value(rating, environments[0], y)
        if x_ref is None or y_ref is None:
            return []
    properties = rating.table.properties
    x_bands = engine.rating_bands(rating.boundaries.get(x, ()), x_ref, properties[x].higher_is_better, *x_range)
    y_bands = engine.rating_bands(rating.boundaries.get(y, ()), y_ref, properties[y].higher_is_better, *y_range)
    cells = engine.background_cells(x_bands, y_bands, float(rating.weights.get(x, 0) or 0),
                                    float(rating.weights.get(y, 0) or 0), rating.mode)
    shapes = [{"type": "rect", "xref": "x", "yref": "y", "x0": c.x0, "x1": c.x1, "y0": c.y0, "y1": c.y1,
               "fillcolor": RATING_COLORS[c.rating], "opacity": 0.33, "line": {"width": 0}, "layer": "below"}
              for c in cells]
    # neighbouring cells can share a colour: dotted lines show every boundary of each axis
    line = {"color": "#555555", "width": 1, "dash": "dot"}
    for x1 in (band.end for band in x_bands[:-1]):
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x1, "x1": x1, "y0": 0, "y1": 1,
                       "line": line, "layer": "below"})
    for y1 in (band.end for band in y_bands[:-1]):
        shapes.append({"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": y1, "y1": y1,
                       "line": line, "layer": "below"})
    return shapes


def value_texts(table, metric: str) -> np.ndarray:
    """Every row's value of ``metric`` for people ("94.3 mWh / sample"); computed once per table."""
    key = ("value_texts", metric)
    if key not in table.cache:
        unit = table.properties[metric].unit
        table.cache[key] = np.array([format_quantity(v, unit) for v in table.values[:, table.column(metric)]
                                     .tolist()], dtype=object)
    return table.cache[key]


def _hover_parts(rating: Rating, rows: np.ndarray, metric: str, scale: str) -> list[str]:
    texts = value_texts(rating.table, metric)[rows]
    if scale != "index":
        return texts.tolist()
    index = rating.indices[rows, rating.table.column(metric)]
    return [f"{t} · index {i:.3g}" for t, i in zip(texts.tolist(), index.tolist())]


def point_notes(table) -> tuple[np.ndarray, np.ndarray]:
    """Per row, computed once per table: the capped name, and the notes after the letter (runs,
    "not graded: <reason>")."""
    if "point_notes" not in table.cache:
        names, notes = [], []
        for model, entry in zip(table.models, table.results):
            names.append(entries.short_name(model))
            runs = entries.n_runs(entry)
            note = f"<br>{runs} runs" if runs > 1 else ""  # one run: the summary says "no interval"
            reason = entries.not_graded(entry)
            notes.append(note + (f"<br>not graded: {reason}" if reason else ""))
        table.cache["point_notes"] = (np.array(names, dtype=object), np.array(notes, dtype=object))
    return table.cache["point_notes"]


def _point_titles(rating: Rating, rows: np.ndarray) -> list[str]:
    """Per point: model (capped), compound letter (or "not graded"), and the entry's notes."""
    table = rating.table
    names, notes = point_notes(table)
    letters = np.array(RATINGS, dtype=object)[rating.compound[rows]]
    if table.graded is not None:
        letters = np.where(table.graded[rows], letters, "not graded")
    return [f"{n} ({letter}){note}" for n, letter, note in zip(names[rows].tolist(), letters.tolist(),
                                                              notes[rows].tolist())]


def value_intervals(table, metric: str) -> dict[int, tuple[float, float]]:
    """Row -> 95% interval of ``metric`` for the rows that pool >= 2 runs; computed once per table."""
    key = ("intervals", metric)
    if key not in table.cache:
        found = {}
        for row, entry in enumerate(table.results):
            if entries.n_runs(entry) > 1 or getattr(entry, "ci95", None):
                interval = entries.value_interval(entry, metric)
                if interval is not None:
                    found[row] = interval
        table.cache[key] = found
    return table.cache[key]


def _error_bars(rating: Rating, rows: np.ndarray, values: np.ndarray, metric: str, scale: str) -> dict | None:
    """Asymmetric error bars of the 95% intervals, where an entry pools >= 2 runs; None if none has."""
    table, column = rating.table, rating.table.column(metric)
    intervals = value_intervals(table, metric)
    if not intervals:
        return None
    higher = bool(table.higher_is_better[column])
    plus, minus, any_bar = [], [], False
    for row, shown in zip(rows.tolist(), values.tolist()):
        interval = intervals.get(row)
        if interval is not None and scale == "index":
            ref_row = table.row(table.environments[table.env_code[row]], rating.reference)
            reference = np.nan if ref_row is None else table.values[ref_row, column]
            ref_interval = None if ref_row is None else intervals.get(ref_row)
            interval = entries.index_interval(table.values[row, column], interval, float(reference),
                                              ref_interval, higher) if reference == reference else None
        plus.append(0.0 if interval is None else max(0.0, interval[1] - shown))
        minus.append(0.0 if interval is None else max(0.0, shown - interval[0]))
        any_bar = any_bar or interval is not None
    if not any_bar:
        return None
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "color": "#333333",
            "thickness": 1, "width": 3}


def _environment_traces(rating: Rating, rows: np.ndarray, xs: np.ndarray, ys: np.ndarray, x: str, y: str,
                        size: int, scale: str) -> list[dict]:
    """Per environment: a grey legend twin (the points are coloured by rating) and the points."""
    table, names = rating.table, (rating.table.properties[x].name, rating.table.properties[y].name)
    kind = "scattergl" if len(rows) >= WEBGL_FROM else "scatter"
    colours = np.array([RATING_COLORS[r] for r in RATINGS])
    labels = table.labels or table.environments
    traces, env_of_rows = [], table.env_code[rows]
    for code in np.unique(env_of_rows):
        mine = env_of_rows == code
        env_rows = rows[mine]
        symbol, group = SYMBOLS[code % len(SYMBOLS)], f"environment {code}"
        traces.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None],
                       "name": labels[code], "legendgroup": group, "hoverinfo": "skip",
                       "marker": {"color": "#9a9a9a", "symbol": symbol, "size": 10,
                                  "line": {"color": "#222222", "width": 1}}})
        custom = [list(item) for item in zip(env_rows.tolist(), _hover_parts(rating, env_rows, x, scale),
                                             _hover_parts(rating, env_rows, y, scale))]
        trace = {
            "type": kind, "mode": "markers", "name": labels[code], "legendgroup": group,
            "showlegend": False, "x": short_floats(xs[mine]), "y": short_floats(ys[mine]), "customdata": custom,
            "text": _point_titles(rating, env_rows),
            "hovertemplate": ("<b>%{text}</b><br>%{fullData.name}<br>"
                              f"{names[0]}: %{{customdata[1]}}<br>{names[1]}: %{{customdata[2]}}<extra></extra>"),
            "marker": {"color": np.where(table.graded[env_rows] if table.graded is not None else True,
                                         colours[rating.compound[env_rows]], NOT_GRADED_COLOUR).tolist(),
                       "symbol": symbol,
                       "size": size, "line": {"color": "#222222", "width": 1}, "opacity": 0.95},
        }
        for axis, metric, values in (("error_x", x, xs[mine]), ("error_y", y, ys[mine])):
            bars = _error_bars(rating, env_rows, values, metric, scale)
            if bars is not None:
                trace[axis] = bars
        traces.append(trace)
    return traces


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


def _rating_legend() -> list[dict]:
    """Legend entries of the colours: the compound rating."""
    return [{"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": f"rating {letter}",
             "legendgroup": "ratings", "marker": {"color": RATING_COLORS[letter], "size": 11, "symbol": "circle",
                                                  "line": {"color": "#222222", "width": 1}},
             "hoverinfo": "skip", "showlegend": True} for letter in RATINGS]


def _selection_ring(rating: Rating, rows: np.ndarray, xs: np.ndarray, ys: np.ndarray, size: int,
                    selected: tuple[str, str] | None) -> list[dict]:
    row = None if selected is None else rating.table.row(*selected)
    if row is None or row not in set(rows.tolist()):
        return []
    position = int(np.flatnonzero(rows == row)[0])
    return [{"type": "scatter", "mode": "markers", "x": [float(xs[position])], "y": [float(ys[position])],
             "name": "selected", "showlegend": False, "hoverinfo": "skip",
             "marker": {"size": size + 12, "color": "rgba(0,0,0,0)", "line": {"color": "#000000", "width": 3}}}]


def _notes(rating: Rating, environments: Sequence[str], scale: str, missing: int, shown: int,
           shapes: list) -> list[str]:
    note = []
    if missing:
        note.append(f"{missing} model(s) without a value on an axis are not shown")
    if scale == "real" and not shapes and shown:
        note.append("rating background on the real scale needs exactly one environment")
    if scale == "index" and any(rating.table.row(env, rating.reference) is None for env in environments):
        note.append(f"no {rating.reference} results in some environment: its models have no index")
    return note


def _axis(title: str, extent: tuple[float, float]) -> dict:
    return {"title": {"text": title}, "type": "log", "range": [math.log10(extent[0]), math.log10(extent[1])],
            "showgrid": False, **log_ticks(extent)}


def _hint_figure(text: str, title: str) -> dict:
    """An empty figure that says what to do (no environment chosen, nothing to draw)."""
    return {"data": [], "layout": {
        "template": "plotly_white", "font": {"family": FONT, "size": 12},
        "margin": {"l": 20, "r": 10, "t": 40, "b": 20}, "title": {"text": title, "font": {"size": 14}, "x": 0.01},
        "xaxis": {"visible": False}, "yaxis": {"visible": False},
        "annotations": [{"text": text, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                         "showarrow": False, "font": {"size": 15, "color": "#a33"}}]}}


NO_ENVIRONMENT = "No environment chosen: tick at least one under “Environments” (left)."


def scatter_figure(rating: Rating, x: str, y: str, environments: Sequence[str], scale: str = "index",
                   selected: tuple[str, str] | None = None, max_points: int = MAX_POINTS) -> dict:
    """Models of the chosen environments: colour = compound rating, symbol = environment, over the
    rating background of the two axes. ``customdata`` of each point is [row, x text, y text]; beyond
    ``max_points`` an even sample of the points is drawn (the title says so; the table has all)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale '{scale}'; choose from {SCALES}")
    table = rating.table
    if not environments:
        return _hint_figure(NO_ENVIRONMENT, f"0 {table.task} results")
    rows = selected_rows(rating, environments)
    xs, ys = axis_values(rating, x, scale)[rows], axis_values(rating, y, scale)[rows]
    shown = np.isfinite(xs) & np.isfinite(ys) & (xs > 0) & (ys > 0)
    rows, xs, ys = rows[shown], xs[shown], ys[shown]
    x_bounds = rating.boundaries.get(x, ()) if scale == "index" else ()  # boundaries: index scale only
    y_bounds = rating.boundaries.get(y, ()) if scale == "index" else ()
    x_range, y_range = _log_range(xs, x_bounds), _log_range(ys, y_bounds)  # from all points
    selected_row = None if selected is None else table.row(*selected)
    drawn = drawn_rows(rows, max_points, [] if selected_row is None else [selected_row])
    if len(drawn) < len(rows):
        position = np.searchsorted(rows, drawn)
        rows, xs, ys = drawn, xs[position], ys[position]
    size = 11 if len(rows) < 200 else 7 if len(rows) < WEBGL_FROM else 5
    traces = (_environment_traces(rating, rows, xs, ys, x, y, size, scale) + _rating_legend()
              + _selection_ring(rating, rows, xs, ys, size, selected))
    shapes = background_shapes(rating, x, y, scale, list(environments), x_range, y_range)
    note = _notes(rating, environments, scale, int((~shown).sum()), rows.size, shapes)
    total = int(shown.sum())
    title = f"{total:,} {table.task} result(s)" + (f" ({len(rows):,} drawn, evenly sampled)"
                                                   if len(rows) < total else "")
    title += f"<br><span style='font-size:11px'>reference {entries.short_name(rating.reference, 60)} · {rating.mode}</span>"
    if note:
        title += f"<br><span style='font-size:11px;color:#a33'>{'; '.join(note)}</span>"
    return {"data": traces, "layout": {
        "template": "plotly_white", "font": {"family": FONT, "size": 12},
        "margin": {"l": 70, "r": 10, "t": 74 if note else 58, "b": 60}, "hovermode": "closest",
        "title": {"text": title, "font": {"size": 14}, "x": 0.01, "xanchor": "left"},
        "xaxis": _axis(axis_title(table.properties, x, scale), x_range),
        "yaxis": _axis(axis_title(table.properties, y, scale), y_range),
        "shapes": shapes,
        "legend": {"font": {"size": 11}, "itemsizing": "constant", "tracegroupgap": 4,
                   "title": {"text": "symbol: environment<br>colour: compound rating", "font": {"size": 11}}},
        "uirevision": f"{table.task}|{x}|{y}|{scale}",  # keep zoom while sliders move
    }}


def bar_figure(counts: dict[str, list[int]]) -> dict:
    """Stacked horizontal bars: how many models of each environment got each compound rating
    (``counts`` keyed by the environments' display names)."""
    environments = list(counts)
    if not environments:
        return _hint_figure(NO_ENVIRONMENT, "Compound ratings (A → E) per environment")
    traces = [{"type": "bar", "orientation": "h", "name": letter, "y": environments,
               "x": [counts[env][i] for env in environments], "marker": {"color": RATING_COLORS[letter]},
               "text": [letter] * len(environments), "textposition": "inside",
               "insidetextanchor": "middle", "textfont": {"color": "white" if letter in "AE" else "#222"},
               "hovertemplate": f"%{{y}}<br>{letter}: %{{x}}<extra></extra>"}
              for i, letter in enumerate(RATINGS)]
    return {"data": traces, "layout": {
        "template": "plotly_white", "barmode": "stack", "font": {"family": FONT, "size": 11},
        "margin": {"l": 10, "r": 10, "t": 36, "b": 30},
        "title": {"text": "Compound ratings (A → E) per environment", "font": {"size": 14}, "x": 0.01},
        # at least six bar slots, so one or two environments do not become slabs
        "yaxis": {"automargin": True, "range": [max(len(environments), 6) - 0.5, -0.5]},
        "xaxis": {"title": {"text": "models"}},
        "showlegend": False,  # each segment carries its letter; hover gives the count
        "uniformtext": {"mode": "hide", "minsize": 9},
        "uirevision": "bars"}}


