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
from mlel.properties import PropertySet
from mlel.ratings import RATING_COLORS
from mlel.elex.state import Rating

SCALES = ("index", "real")
# Distinct symbols that scatter and scattergl both draw; environment i gets SYMBOLS[i % len].
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "triangle-down", "star",
           "pentagon", "hexagon", "triangle-left", "triangle-right")
WEBGL_FROM = 2000  # points; SVG scatter slows down the browser beyond that
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
    candidates = [float(v) for v in values if v > 0] + [b for b in bounds if b > 0 and math.isfinite(b)]
    if not candidates:
        return 0.1, 10.0
    low, high = min(candidates), max(candidates)
    if high / low < 1.5:  # a degenerate axis still gets some room
        low, high = low / 1.25, high * 1.25
    return low / 1.12, high * 1.12


def _log_ticks(extent: tuple[float, float]) -> dict:
    """Over several decades label only 1-2-5 (plotly's default labels every digit); inside about
    one decade plotly's own ticks read best."""
    return {"dtick": "D2"} if extent[1] / extent[0] > 15 else {}


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


def _environment_traces(rating: Rating, rows: np.ndarray, xs: np.ndarray, ys: np.ndarray, x: str, y: str,
                        size: int) -> list[dict]:
    """Per environment: a grey legend twin (the points are coloured by rating) and the points."""
    table, names = rating.table, (rating.table.properties[x].name, rating.table.properties[y].name)
    kind = "scattergl" if len(rows) >= WEBGL_FROM else "scatter"
    colours = np.array([RATING_COLORS[r] for r in RATINGS])
    letters, models = np.array(RATINGS), np.array(table.models, dtype=object)
    traces, env_of_rows = [], table.env_code[rows]
    for code in np.unique(env_of_rows):
        mine = env_of_rows == code
        env_rows = rows[mine]
        compound = rating.compound[env_rows]
        symbol, group = SYMBOLS[code % len(SYMBOLS)], f"environment {code}"
        traces.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None],
                       "name": table.environments[code], "legendgroup": group, "hoverinfo": "skip",
                       "marker": {"color": "#9a9a9a", "symbol": symbol, "size": 10,
                                  "line": {"color": "#222222", "width": 1}}})
        traces.append({
            "type": kind, "mode": "markers", "name": table.environments[code], "legendgroup": group,
            "showlegend": False,
            "x": xs[mine].tolist(), "y": ys[mine].tolist(), "customdata": env_rows.tolist(),
            "text": [f"{m} ({c})" for m, c in zip(models[env_rows], letters[compound])],
            "hovertemplate": ("<b>%{text}</b><br>%{fullData.name}<br>"
                              f"{names[0]}: %{{x:.4g}}<br>{names[1]}: %{{y:.4g}}<extra></extra>"),
            "marker": {"color": colours[compound].tolist(), "symbol": symbol,
                       "size": size, "line": {"color": "#222222", "width": 1}, "opacity": 0.95},
        })
    return traces


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
            "showgrid": False, **_log_ticks(extent)}


def scatter_figure(rating: Rating, x: str, y: str, environments: Sequence[str], scale: str = "index",
                   selected: tuple[str, str] | None = None) -> dict:
    """Models of the chosen environments: colour = compound rating, symbol = environment, over the
    rating background of the two axes. ``customdata`` of each point is its row (for clicks)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale '{scale}'; choose from {SCALES}")
    table = rating.table
    rows = selected_rows(rating, environments)
    xs, ys = axis_values(rating, x, scale)[rows], axis_values(rating, y, scale)[rows]
    shown = np.isfinite(xs) & np.isfinite(ys) & (xs > 0) & (ys > 0)
    rows, xs, ys = rows[shown], xs[shown], ys[shown]
    size = 11 if len(rows) < 200 else 7 if len(rows) < WEBGL_FROM else 5
    traces = (_environment_traces(rating, rows, xs, ys, x, y, size) + _rating_legend()
              + _selection_ring(rating, rows, xs, ys, size, selected))
    # boundaries live on the index scale; on the real scale only the points set the ranges
    x_bounds = rating.boundaries.get(x, ()) if scale == "index" else ()
    y_bounds = rating.boundaries.get(y, ()) if scale == "index" else ()
    x_range, y_range = _log_range(xs, x_bounds), _log_range(ys, y_bounds)
    shapes = background_shapes(rating, x, y, scale, list(environments), x_range, y_range)
    note = _notes(rating, environments, scale, int((~shown).sum()), rows.size, shapes)
    title = f"{len(rows)} {table.task} result(s) — reference {rating.reference}, {rating.mode}"
    if note:
        title += f"<br><span style='font-size:11px;color:#a33'>{'; '.join(note)}</span>"
    return {"data": traces, "layout": {
        "template": "plotly_white", "font": {"family": FONT, "size": 12},
        "margin": {"l": 70, "r": 10, "t": 58 if note else 40, "b": 60}, "hovermode": "closest",
        "title": {"text": title, "font": {"size": 14}, "x": 0.01},
        "xaxis": _axis(axis_title(table.properties, x, scale), x_range),
        "yaxis": _axis(axis_title(table.properties, y, scale), y_range),
        "shapes": shapes,
        "legend": {"font": {"size": 11}, "itemsizing": "constant", "tracegroupgap": 4,
                   "title": {"text": "symbol: environment<br>colour: compound rating", "font": {"size": 11}}},
        "uirevision": f"{table.task}|{x}|{y}|{scale}",  # keep zoom while sliders move
    }}


def bar_figure(counts: dict[str, list[int]]) -> dict:
    """Stacked horizontal bars: how many models of each environment got each compound rating."""
    environments = list(counts)
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


