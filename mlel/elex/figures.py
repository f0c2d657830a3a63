"""ELEx figures and table rows: pure functions from a :class:`~mlel.elex.state.Rating` to plain
plotly figure dicts (no ``go.Figure``: its validation costs more than the whole re-rating).
"""
from __future__ import annotations

import base64
import math
import re
from typing import Sequence

import numpy as np

from mlel.metrics import METRICS
from mlel.ratings import RATING_COLORS, RATINGS, compound_rating
from mlel.elex.state import Rating

SCALES = ("index", "real")
# Distinct symbols that scatter and scattergl both draw; environment i gets SYMBOLS[i % len].
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "triangle-down", "star",
           "pentagon", "hexagon", "triangle-left", "triangle-right")
WEBGL_FROM = 2000  # points; SVG scatter slows down the browser beyond that
FONT = "Helvetica, Arial, sans-serif"


def axis_title(metric: str, scale: str) -> str:
    info = METRICS[metric]
    if scale == "index":
        return f"{info.label} — index (higher is better)"  # > 1 always beats the reference
    return f"{info.label} [{info.unit}] ({'higher' if info.higher_is_better else 'lower'} is better)"


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


def _to_index(value: float, reference: float, higher_is_better: bool) -> float:
    return value / reference if higher_is_better else reference / value


def band_edges(bounds: Sequence[float], reference: float | None, higher_is_better: bool,
               low: float, high: float) -> list[tuple[float, float, str]]:
    """The rating bands of one axis between ``low`` and ``high`` (axis units, > 0): (start, end,
    rating) in ascending order. On the real scale (``reference`` given) the boundaries are mapped
    back into the metric's unit (``b×r`` or ``r/b``); each band is rated at its middle."""
    cuts = []
    for b in bounds:
        if reference is None:
            cuts.append(b)
        elif b > 0:
            cuts.append(b * reference if higher_is_better else reference / b)
    edges = [low] + sorted(c for c in cuts if low < c < high) + [high]
    bands = []
    for start, end in zip(edges, edges[1:]):
        if end <= start:
            continue
        middle = math.sqrt(start * end)  # log axes: the geometric middle
        index = middle if reference is None else _to_index(middle, reference, higher_is_better)
        level = sum(index <= b for b in bounds)
        bands.append((start, end, RATINGS[min(level, 4)]))
    return bands


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
    wx, wy = float(rating.weights.get(x, 0) or 0), float(rating.weights.get(y, 0) or 0)
    if wx <= 0 and wy <= 0:
        wx = wy = 1.0
    x_bands = band_edges(rating.boundaries.get(x, ()), x_ref, METRICS[x].higher_is_better, *x_range)
    y_bands = band_edges(rating.boundaries.get(y, ()), y_ref, METRICS[y].higher_is_better, *y_range)
    shapes = []
    for x0, x1, rx in x_bands:
        for y0, y1, ry in y_bands:
            cell = compound_rating({"x": rx, "y": ry}, {"x": wx, "y": wy}, rating.mode)
            shapes.append({"type": "rect", "xref": "x", "yref": "y", "x0": x0, "x1": x1, "y0": y0,
                           "y1": y1, "fillcolor": RATING_COLORS[cell], "opacity": 0.33,
                           "line": {"width": 0}, "layer": "below"})
    # neighbouring cells can share a colour: dotted lines show every boundary of each axis
    line = {"color": "#555555", "width": 1, "dash": "dot"}
    for _, x1, _ in x_bands[:-1]:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x1, "x1": x1, "y0": 0, "y1": 1,
                       "line": line, "layer": "below"})
    for _, y1, _ in y_bands[:-1]:
        shapes.append({"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": y1, "y1": y1,
                       "line": line, "layer": "below"})
    return shapes


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
    missing = int((~shown).sum())
    kind = "scattergl" if len(rows) >= WEBGL_FROM else "scatter"
    size = 11 if len(rows) < 200 else 7 if len(rows) < WEBGL_FROM else 5
    colours = np.array([RATING_COLORS[r] for r in RATINGS])
    letters = np.array(RATINGS)
    models = np.array(table.models, dtype=object)
    traces = []
    env_of_rows = table.env_code[rows]
    for code in np.unique(env_of_rows):
        mine = env_of_rows == code
        env_rows = rows[mine]
        compound = rating.compound[env_rows]
        symbol = SYMBOLS[code % len(SYMBOLS)]
        group = f"environment {code}"
        # the points themselves are coloured by rating, so a grey twin carries the legend entry
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
                              f"{METRICS[x].label}: %{{x:.4g}}<br>{METRICS[y].label}: %{{y:.4g}}"
                              "<extra></extra>"),
            "marker": {"color": colours[compound].tolist(), "symbol": symbol,
                       "size": size, "line": {"color": "#222222", "width": 1}, "opacity": 0.95},
        })
    for letter in RATINGS:  # legend of the colours: the compound rating
        traces.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None],
                       "name": f"rating {letter}", "legendgroup": "ratings",
                       "marker": {"color": RATING_COLORS[letter], "size": 11, "symbol": "circle",
                                  "line": {"color": "#222222", "width": 1}},
                       "hoverinfo": "skip", "showlegend": True})
    if selected is not None:
        row = table.row(*selected)
        if row is not None and row in set(rows.tolist()):
            position = int(np.flatnonzero(rows == row)[0])
            traces.append({"type": "scatter", "mode": "markers", "x": [float(xs[position])],
                           "y": [float(ys[position])], "name": "selected", "showlegend": False,
                           "hoverinfo": "skip", "marker": {"size": size + 12, "color": "rgba(0,0,0,0)",
                                                           "line": {"color": "#000000", "width": 3}}})
    x_bounds, y_bounds = rating.boundaries.get(x, ()), rating.boundaries.get(y, ())
    if scale == "real":  # boundaries live on the index scale; only the ranges need real values
        x_bounds = y_bounds = ()
    x_range, y_range = _log_range(xs, x_bounds), _log_range(ys, y_bounds)
    shapes = background_shapes(rating, x, y, scale, list(environments), x_range, y_range)
    note = []
    if missing:
        note.append(f"{missing} model(s) without a value on an axis are not shown")
    if scale == "real" and not shapes and rows.size:
        note.append("rating background on the real scale needs exactly one environment")
    if scale == "index" and any(table.row(env, rating.reference) is None for env in environments):
        note.append(f"no {rating.reference} results in some environment: its models have no index")
    return {
        "data": traces,
        "layout": {
            "template": "plotly_white", "font": {"family": FONT, "size": 12},
            "margin": {"l": 70, "r": 10, "t": 58 if note else 40, "b": 60}, "hovermode": "closest",
            "title": {"text": f"{len(rows)} {table.task} result(s) — reference {rating.reference}, "
                              f"{rating.mode}" + (f"<br><span style='font-size:11px;color:#a33'>"
                                                  f"{'; '.join(note)}</span>" if note else ""),
                      "font": {"size": 14}, "x": 0.01},
            "xaxis": {"title": {"text": axis_title(x, scale)}, "type": "log",
                      "range": [math.log10(x_range[0]), math.log10(x_range[1])], "showgrid": False,
                      **_log_ticks(x_range)},
            "yaxis": {"title": {"text": axis_title(y, scale)}, "type": "log",
                      "range": [math.log10(y_range[0]), math.log10(y_range[1])], "showgrid": False,
                      **_log_ticks(y_range)},
            "shapes": shapes,
            "legend": {"font": {"size": 11}, "itemsizing": "constant", "tracegroupgap": 4,
                       "title": {"text": "symbol: environment<br>colour: compound rating",
                                 "font": {"size": 11}}},
            "uirevision": f"{table.task}|{x}|{y}|{scale}",  # keep zoom while sliders move
        },
    }


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


def format_value(value: float) -> float | None:
    """Four significant digits for the table (sorting stays numeric)."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.4g}")


def table_columns(rating: Rating) -> list[dict]:
    columns = [{"name": ["", "Model"], "id": "model"}, {"name": ["", "Environment"], "id": "environment"},
               {"name": ["", "Rating"], "id": "compound"}]
    for metric in rating.table.metrics:
        info = METRICS[metric]
        columns.append({"name": [info.label, info.unit], "id": metric, "type": "numeric"})
        columns.append({"name": [info.label, "rating"], "id": f"{metric}__rating"})
    return columns


def table_rows(rating: Rating, rows: np.ndarray | None = None) -> list[dict]:
    """One dict per rated model: values (4 significant digits) and ratings, for the DataTable."""
    table = rating.table
    rows = np.arange(len(table)) if rows is None else rows
    letters = np.array(RATINGS)
    compound = letters[rating.compound[rows]].tolist()
    columns = {}
    for j, metric in enumerate(table.metrics):
        values = table.values[rows, j]
        columns[metric] = [None if not math.isfinite(v) else float(f"{v:.4g}") for v in values.tolist()]
        columns[f"{metric}__rating"] = letters[rating.levels[rows, j]].tolist()
    environments = np.array(table.environments, dtype=object)[table.env_code[rows]].tolist()
    models = np.array(table.models, dtype=object)[rows].tolist()
    keys = list(columns)
    out = []
    for i, row in enumerate(rows.tolist()):
        record = {"id": row, "model": models[i], "environment": environments[i], "compound": compound[i]}
        for key in keys:
            record[key] = columns[key][i]
        out.append(record)
    return out


_FILTER = re.compile(r"\{(?P<column>[^}]+)\}\s*(?P<op>[is]?(?:contains|eq|ne|lt|le|gt|ge)\b|!=|<=|>=|=|<|>)"
                     r"\s*(?P<value>.*)$")
_OPERATORS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def parse_filter(query: str | None) -> list[tuple[str, str, object]]:
    """DataTable's filter query (``{col} op value && …``) -> [(column, op, value)]. Clauses this
    does not understand are dropped (the table then shows more, never fails)."""
    clauses = []
    for part in (query or "").split(" && "):
        match = _FILTER.match(part.strip())
        if not match:
            continue
        op = match["op"]
        if op[0] in "is" and op[1:] in (*_OPERATORS, "contains"):  # case prefixes: always insensitive
            op = op[1:]
        op = _OPERATORS.get(op, op)
        raw = match["value"].strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"`":
            value: object = raw[1:-1]
        else:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        clauses.append((match["column"], op, value))
    return clauses


def _table_columns(rating: Rating) -> dict[str, np.ndarray]:
    table = rating.table
    letters = np.array(RATINGS)
    columns = {"model": np.array(table.models, dtype=object),
               "environment": np.array(table.environments, dtype=object)[table.env_code],
               "compound": letters[rating.compound]}
    for j, metric in enumerate(table.metrics):
        columns[metric] = table.values[:, j]
        columns[f"{metric}__rating"] = letters[rating.levels[:, j]]
    return columns


def _mask(column: np.ndarray, op: str, value) -> np.ndarray:
    numeric = column.dtype.kind == "f"
    if op == "contains":
        needle = str(value).lower()
        text = column if not numeric else np.array([f"{v:.4g}" for v in column], dtype=object)
        return np.array([needle in str(v).lower() for v in text], dtype=bool)
    if numeric:
        if not isinstance(value, float):
            return np.zeros(len(column), dtype=bool)
        with np.errstate(invalid="ignore"):
            return {"=": np.isclose(column, value, rtol=5e-4), "!=": ~np.isclose(column, value, rtol=5e-4),
                    "<": column < value, "<=": column <= value, ">": column > value,
                    ">=": column >= value}[op]
    text = np.array([str(v).lower() for v in column], dtype=object)
    needle = (f"{value:g}" if isinstance(value, float) else str(value)).lower()
    return {"=": text == needle, "!=": text != needle, "<": text < needle, "<=": text <= needle,
            ">": text > needle, ">=": text >= needle}[op].astype(bool)


def table_page(rating: Rating, page: int = 0, size: int = 15, sort_by: Sequence[dict] | None = None,
               filter_query: str | None = None) -> tuple[list[dict], int]:
    """One page of the table after filtering and sorting on the server (the browser never holds
    10,000 rows). Returns (rows of the page, number of pages)."""
    columns = _table_columns(rating)
    keep = np.ones(len(rating.table), dtype=bool)
    for column, op, value in parse_filter(filter_query):
        if column in columns:
            keep &= _mask(columns[column], op, value)
    rows = np.flatnonzero(keep)
    keys = []
    for order in reversed(list(sort_by or [])):  # np.lexsort: the last key is the primary one
        column = columns.get(order.get("column_id"))
        if column is None:
            continue
        values = column[rows]
        if values.dtype.kind == "f":
            missing = np.isnan(values)
            key = np.where(missing, 0.0, values)
        else:
            missing = np.zeros(len(values), dtype=bool)
            key = np.unique(np.array([str(v).lower() for v in values]), return_inverse=True)[1]
        if order.get("direction") == "desc":
            key = -key
        keys += [key, missing]  # missing values last in either direction
    if keys:
        rows = rows[np.lexsort(keys)]
    size = max(1, int(size or 15))
    pages = max(1, math.ceil(len(rows) / size))
    page = min(max(0, int(page or 0)), pages - 1)
    return table_rows(rating, rows[page * size:(page + 1) * size]), pages


def rating_cell_styles(rating: Rating) -> list[dict]:
    """DataTable conditional styles: every rating cell in its colour."""
    columns = ["compound"] + [f"{m}__rating" for m in rating.table.metrics]
    return [{"if": {"column_id": column, "filter_query": f'{{{column}}} = "{letter}"'},
             "backgroundColor": RATING_COLORS[letter], "color": "white" if letter in "AE" else "#222",
             "fontWeight": "bold", "textAlign": "center"}
            for column in columns for letter in RATINGS]


def placeholder_label(summary: dict) -> str:
    """An SVG sketch of the label (data URI) for when mlel.labels is not installed: the A–E arrows
    with the compound rating, the model and the four label metrics' ratings."""
    letter = summary["compound"]
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="300" height="420" viewBox="0 0 300 420">',
             '<rect width="300" height="420" fill="white" stroke="#222" stroke-width="2"/>',
             f'<text x="150" y="34" font-family="{FONT}" font-size="24" font-weight="bold" '
             'text-anchor="middle">ENERGY</text>',
             f'<text x="16" y="66" font-family="{FONT}" font-size="17" font-weight="bold">'
             f'{_xml(summary["model"])}</text>',
             f'<text x="16" y="86" font-family="{FONT}" font-size="12">{summary["task"].title()} · '
             f'{_xml(summary.get("dataset") or "")}</text>']
    for i, rating in enumerate(RATINGS):
        y = 104 + i * 36
        width = 90 + i * 28
        parts.append(f'<polygon points="16,{y} {16 + width},{y} {30 + width},{y + 14} {16 + width},'
                     f'{y + 28} 16,{y + 28}" fill="{RATING_COLORS[rating]}"/>')
        parts.append(f'<text x="26" y="{y + 21}" font-family="{FONT}" font-size="19" font-weight="bold"'
                     f' fill="white">{rating}</text>')
        if rating == letter:
            parts.append(f'<polygon points="230,{y + 14} 246,{y} 290,{y} 290,{y + 28} 246,{y + 28}" '
                         'fill="black"/>')
            parts.append(f'<text x="268" y="{y + 22}" font-family="{FONT}" font-size="21" '
                         f'font-weight="bold" fill="white" text-anchor="middle">{letter}</text>')
    parts.append(f'<text x="16" y="300" font-family="{FONT}" font-size="11">'
                 f'{_xml(summary["environment"])}</text>')
    for i, metric in enumerate(_label_keys(summary)):
        entry = summary["metrics"].get(metric, {})
        rating = entry.get("rating", "E")
        x, y = 16 + (i % 2) * 142, 314 + (i // 2) * 46
        value = entry.get("value")
        text = "n.a." if value is None else f"{value:.3g} {METRICS[metric].unit}"
        parts.append(f'<rect x="{x}" y="{y}" width="134" height="40" rx="4" fill="{RATING_COLORS[rating]}"/>')
        parts.append(f'<text x="{x + 6}" y="{y + 16}" font-family="{FONT}" font-size="10" fill="white">'
                     f'{_xml(METRICS[metric].label)}</text>')
        parts.append(f'<text x="{x + 6}" y="{y + 32}" font-family="{FONT}" font-size="12" '
                     f'font-weight="bold" fill="white">{_xml(text)}</text>')
    parts.append(f'<text x="150" y="414" font-family="{FONT}" font-size="9" fill="#666" '
                 'text-anchor="middle">preview — label renderer not installed</text></svg>')
    return "data:image/svg+xml;base64," + base64.b64encode("".join(parts).encode()).decode()


def _label_keys(summary: dict) -> list[str]:
    from mlel.metrics import LABEL_METRICS

    return [k for k in LABEL_METRICS.get(summary["task"], ()) if k in summary["metrics"]]


def _xml(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
