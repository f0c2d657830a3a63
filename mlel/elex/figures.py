"""ELEx figures: pure functions from a :class:`~mlel.elex.state.Rating` to plain plotly figure
dicts (no ``go.Figure``: its validation costs more than the whole re-rating). The rating
background's geometry comes from the engine (:func:`mlel.ratings.engine.rating_bands`).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from mlel.ratings import engine
from mlel.ratings.engine import NOT_RATED, RATINGS
from mlel.tasks.properties import PropertySet
from mlel.ratings import RATING_COLORS
from mlel.elex import axes, entries, points, state
from mlel.elex.bars import CONTINUES, value_intervals  # noqa: F401
from mlel.elex.points import (NOT_GRADED_COLOUR, NOT_RATED_COLOUR, SYMBOLS, WEBGL_FROM, axis_values,  # noqa: F401
                              drawn_rows, point_layer, point_notes, short_floats, value_texts)
from mlel.elex.points import arrow_traces, environment_traces, ring_traces
from mlel.elex.sliders import slider_marks
from mlel.elex.state import Rating

SCALES = ("index", "real")
MAX_POINTS = 3000  # points drawn at most: beyond, an even sample (the views stay fast at 100,000 rows)
FONT = "Helvetica, Arial, sans-serif"


def axis_title(properties: PropertySet, metric: str, scale: str) -> str:
    info = properties[metric]
    name = entries.plotly_text(info.name)
    if scale == "index":
        return f"{name} — index (higher is better)"  # > 1 always beats the reference
    return f"{name} [{entries.plotly_text(info.unit)}] ({'higher' if info.higher_is_better else 'lower'} is better)"


def selected_rows(rating: Rating, environments: Sequence[str] | None) -> np.ndarray:
    """Rows of the chosen environments (all when ``environments`` is None)."""
    return points.selected_rows(rating.table, environments)


def _log_range(bounds: Sequence[float]) -> tuple[float, float]:
    """Axis extent (data units) where no point is drawn: the boundaries' (padded), else 0.1 … 10.
    Where points are, the layer fits the axis to them (:func:`mlel.elex.axes.fitted_range`)."""
    shown = [b for b in bounds if b > 0 and math.isfinite(b)]
    return axes.fitted_range((min(shown), max(shown))) if shown else (0.1, 10.0)


def log_ticks(extent: tuple[float, float]) -> dict:
    """Tick values and texts of a log axis that read as numbers: linear steps inside one decade
    (0.2, 0.4, … rather than plotly's bare digits "2 3 … 9 1"), 1-2-5 per decade beyond."""
    marks = slider_marks(math.log10(extent[0]), math.log10(extent[1]))
    if len(marks) < 2:  # a very narrow axis: plotly's own ticks
        return {}
    return {"tickmode": "array", "tickvals": [10 ** p for p in marks], "ticktext": list(marks.values())}


def _reference_value(rating: Rating, environment: str, metric: str) -> float | None:
    """The value the environment's models are indexed against (the pipeline's scale), where one is."""
    value = state.environment_scale(rating, environment)[rating.table.column(metric)]
    return float(value) if math.isfinite(value) and value > 0 else None


def background_shapes(rating: Rating, x: str, y: str, scale: str, environments: Sequence[str],
                      x_range: tuple[float, float], y_range: tuple[float, float]) -> list[dict]:
    """Rating-coloured rectangles: each cell of the two axes' bands, coloured by the compound rating
    of its two ratings (weights of the two axis metrics, the session's mode). None where the scheme
    makes boundaries per group, rates raw values, or an axis has no boundaries to draw."""
    if rating.per_group or rating.scale == "value" or not (rating.boundaries.get(x) and rating.boundaries.get(y)):
        return []
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


def _against(rating: Rating) -> str:
    """The scheme, and what the indices are against."""
    if rating.scale == "value":
        against = "raw values, no index"
    elif rating.scale == "best":
        against = "index against the best of each environment"
    else:
        against = f"reference {entries.plotly_text(rating.reference or '', 60)}"
    return f"{entries.plotly_text(rating.scheme.title)} · {against}"


def _rating_legend(rating: Rating) -> list[dict]:
    """Legend entries of the colours: the compound's levels, and grey for none."""
    words = points.level_words(rating)
    shown = [(f"rating {words[i]}", RATING_COLORS[letter]) for i, letter in enumerate(RATINGS)]
    shown.append(("not rated / not graded", NOT_RATED_COLOUR))
    return [{"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": name,
             "legendgroup": "ratings", "marker": {"color": colour, "size": 11, "symbol": "circle",
                                                  "line": {"color": "#222222", "width": 1}},
             "hoverinfo": "skip", "showlegend": True} for name, colour in shown]


def _notes(rating: Rating, scale: str, layer: points.PointLayer, shapes: list,
           environments: Sequence[str]) -> list[str]:
    note = []
    if layer.missing > layer.unindexed + len(layer.beyond):
        note.append(f"{layer.missing - layer.unindexed - len(layer.beyond)} model(s) without a value on an axis "
                    "are not shown")
    if layer.beyond:
        note.append(f"{len(layer.beyond)} model(s) with a value no axis can hold are not shown: "
                    + ", ".join(layer.beyond[:3]) + (" …" if len(layer.beyond) > 3 else ""))
    if layer.unindexed:
        note.append(f"{layer.unindexed} model(s) without an index are not shown (Real values shows them)")
    if scale == "real" and not shapes and layer.drawn and not (rating.per_group or rating.scale == "value"):
        note.append("rating background on the real scale needs exactly one environment")
    rows = selected_rows(rating, environments)
    unrated = rows[(rating.compound[rows] == NOT_RATED) & rating.table.graded[rows]]
    if len(unrated):
        note.append(f"{len(unrated)} model(s) not rated (grey): {entries.plotly_text(rating.reason(int(unrated[0])) or '', 70)}"
                    + (" …" if len(unrated) > 1 else ""))
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
        return _hint_figure(NO_ENVIRONMENT, f"0 {entries.plotly_text(table.task)} results")
    if scale == "index" and rating.scale == "value":  # no index to plot: the raw values
        scale = "real"
    selected_row = None if selected is None else table.row(*selected)
    layer = point_layer(rating, x, y, environments, scale, selected_row, max_points)  # what moves keep
    x_bounds = rating.boundaries.get(x, ()) if scale == "index" else ()  # boundaries: index scale only
    y_bounds = rating.boundaries.get(y, ()) if scale == "index" else ()
    x_range, y_range = layer.x_range or _log_range(x_bounds), layer.y_range or _log_range(y_bounds)
    traces = environment_traces(rating, layer) + _rating_legend(rating) + ring_traces(layer) + arrow_traces(layer)
    shapes = background_shapes(rating, x, y, scale, list(environments), x_range, y_range)
    note = _notes(rating, scale, layer, shapes, environments)
    total, drawn = layer.shown, layer.drawn
    title = f"{total:,} {entries.plotly_text(table.task)} result(s)" + (f" ({drawn:,} drawn, evenly sampled)" if drawn < total else "")
    title += f"<br><span style='font-size:11px'>{_against(rating)} · {rating.mode}</span>"
    if note:
        title += f"<br><span style='font-size:11px;color:#a33'>{'; '.join(note)}</span>"
    return {"data": traces, "layout": {
        "template": "plotly_white", "font": {"family": FONT, "size": 12},
        "margin": {"l": 70, "r": 14, "t": 74 if note else 58, "b": 60}, "hovermode": "closest",
        "title": {"text": title, "font": {"size": 14}, "x": 0.01, "xanchor": "left"},
        "xaxis": _axis(axis_title(table.properties, x, scale), x_range),
        "yaxis": _axis(axis_title(table.properties, y, scale), y_range),
        "shapes": shapes,
        # below the x axis: plotly opens a hover box beside its point and flips it only at the
        # figure's edge, so a legend at the plot's right was covered (and took a third of the width)
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.16, "yanchor": "top",
                   "traceorder": "normal",  # one flow of entries (grouped, the ratings would stack)
                   "font": {"size": 11}, "itemsizing": "constant",
                   "title": {"text": "symbol: environment · colour: compound rating", "font": {"size": 11},
                             "side": "top left"}},
        "uirevision": f"{table.task}|{x}|{y}|{scale}",  # keep zoom while sliders move
    }}


NOT_RATED_NAME = "not rated"


def bar_figure(counts: dict[str, list[int]], labels: Sequence[str] = RATINGS) -> dict:
    """Stacked horizontal bars: how many models of each environment got each compound level, and
    how many got none (grey, "not rated": never counted as E). ``counts`` keyed by the environments'
    display names, five levels then the not rated (:func:`mlel.elex.state.rating_counts`);
    ``labels``: the scheme's level labels, best first."""
    environments = list(counts)
    title = f"Compound ratings ({labels[0]} → {labels[-1]}) per environment"
    if not environments:
        return _hint_figure(NO_ENVIRONMENT, title)
    shown = [(label, RATING_COLORS[letter], "white" if letter in "AE" else "#222")
             for label, letter in zip(labels, RATINGS)] + [(NOT_RATED_NAME, NOT_RATED_COLOUR, "#222")]
    ticks = [entries.plotly_text(env) for env in environments]  # the axis's tick text: names as typed
    traces = [{"type": "bar", "orientation": "h", "name": name, "y": ticks,
               "x": [(counts[env] + [0])[i] for env in environments], "marker": {"color": colour},
               "text": [name if i < len(RATINGS) else "–"] * len(environments), "textposition": "inside",
               "insidetextanchor": "middle", "textfont": {"color": ink},
               "hovertemplate": f"%{{y}}<br>{name}: %{{x}}<extra></extra>"}
              for i, (name, colour, ink) in enumerate(shown)]
    return {"data": traces, "layout": {
        "template": "plotly_white", "barmode": "stack", "font": {"family": FONT, "size": 11},
        "margin": {"l": 10, "r": 10, "t": 36, "b": 30},
        "title": {"text": title, "font": {"size": 14}, "x": 0.01},
        # at least six bar slots, so one or two environments do not become slabs
        "yaxis": {"automargin": True, "range": [max(len(environments), 6) - 0.5, -0.5]},
        "xaxis": {"title": {"text": "models"}},
        "showlegend": False,  # each segment carries its letter; hover gives the count
        "uniformtext": {"mode": "hide", "minsize": 9},
        "uirevision": "bars"}}




__all__ = ["SCALES", "MAX_POINTS", "NO_ENVIRONMENT", "SYMBOLS", "WEBGL_FROM", "NOT_GRADED_COLOUR", "NOT_RATED_COLOUR",
           "NOT_RATED_NAME", "CONTINUES", "axis_title",
           "selected_rows", "axis_values", "log_ticks", "background_shapes", "scatter_figure", "bar_figure",
           "drawn_rows", "short_floats", "value_texts", "value_intervals", "point_notes"]
