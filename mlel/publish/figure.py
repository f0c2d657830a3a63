"""The scatter of one task and environment on its rating background, as a plain plotly figure dict
(drawn in the page by the bundled plotly.js). Points sit at the rated indices of two metrics; the
background's bands and their levels come from the engine (:func:`mlel.ratings.engine.rating_bands`,
:func:`~mlel.ratings.engine.background_cells`) under the boundaries, weights and mode the entries
were rated with. Each point carries its entry page's URL (``customdata``): a click opens it."""
from __future__ import annotations

import html
import math
from collections.abc import Sequence

from mlel.base.formatting import drawable, format_number, visible_text
from mlel.ratings import RATING_COLORS
from mlel.ratings.engine import RATINGS, background_cells, rating_bands
from mlel.tasks.properties import PropertySet
from mlel.labels import tiles
from mlel.publish.site import ENTRY_FOLDER, SiteEntry

NO_LEVEL = "none"
NO_LEVEL_COLOUR = "#bbbbbb"
SYMBOLS = {"A": "circle", "B": "square", "C": "diamond", "D": "triangle-up", "E": "x", NO_LEVEL: "circle-open"}
MAX_HOVER_CHARS = 80
FONT = "Helvetica, Arial, sans-serif"


def plotly_text(text, limit: int = MAX_HOVER_CHARS) -> str:
    """A name as plotly shows it: cut short, control characters visible, ``< > &`` as entities
    (plotly reads tags and entities in its texts; a name's must read as typed)."""
    text = visible_text(text)
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return html.escape(text, quote=False)


def axes(prop_set: PropertySet) -> tuple[str, str]:
    """Efficiency against quality: the label's first tile (energy) on x; on y the first property of
    the Quality group, else the label's second tile."""
    keys = tiles.tile_keys(prop_set)
    x = keys[0]
    quality = [p.key for p in prop_set.properties if p.group.lower() == "quality" and p.key != x]
    return x, (quality[0] if quality else next((k for k in keys[1:] if k != x), x))


def _extent(values: Sequence[float], bounds: Sequence[float]) -> tuple[float, float]:
    """A log axis showing every point and boundary, padded ~10 %."""
    candidates = [v for v in list(values) + list(bounds) if drawable(v)]
    if not candidates:
        return 0.1, 10.0
    low, high = min(candidates), max(candidates)
    if high / low < 1.5:
        low, high = low / 1.25, high * 1.25
    return low / 1.12, high * 1.12


def _shared(entries: Sequence[SiteEntry], getter):
    """The one value every entry shares (boundaries, weights, mode), or None where they differ."""
    values = {repr(getter(e)) for e in entries}
    return getter(entries[0]) if len(values) == 1 else None


def background(entries: Sequence[SiteEntry], x: str, y: str, x_range, y_range) -> tuple[list[dict], str]:
    """(plotly shapes, a note where none can be drawn)."""
    bounds = _shared(entries, lambda e: (tuple(e.record.boundaries.get(x) or ()),
                                         tuple(e.record.boundaries.get(y) or ())))
    how = _shared(entries, lambda e: (e.record.mode, e.record.weights.get(x, 0.0), e.record.weights.get(y, 0.0)))
    if entries[0].summary.get("reference") == "value":
        return [], "no rating background: the scheme rates raw values, not indices"
    if bounds is None or how is None:
        return [], "no rating background: the entries were rated against different boundaries (per group)"
    if not bounds[0] or not bounds[1]:
        return [], "no rating background: an axis has no boundaries"
    mode, x_weight, y_weight = how
    x_bands = rating_bands(bounds[0], None, True, *x_range)
    y_bands = rating_bands(bounds[1], None, True, *y_range)
    cells = background_cells(x_bands, y_bands, float(x_weight or 0), float(y_weight or 0), mode)
    shapes = [{"type": "rect", "xref": "x", "yref": "y", "x0": c.x0, "x1": c.x1, "y0": c.y0, "y1": c.y1,
               "fillcolor": RATING_COLORS[c.rating], "opacity": 0.3, "line": {"width": 0}, "layer": "below"}
              for c in cells]
    line = {"color": "#555555", "width": 1, "dash": "dot"}  # neighbours may share a colour: every boundary
    shapes += [{"type": "line", "xref": "x", "yref": "paper", "x0": b.end, "x1": b.end, "y0": 0, "y1": 1,
                "line": line, "layer": "below"} for b in x_bands[:-1]]
    shapes += [{"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": b.end, "y1": b.end,
                "line": line, "layer": "below"} for b in y_bands[:-1]]
    return shapes, ""


def _letter(entry: SiteEntry) -> str:
    """The compound's letter (A..E, whatever the scheme's labels), or NO_LEVEL."""
    return entry.record.compound or NO_LEVEL


def scatter(entries: Sequence[SiteEntry], prop_set: PropertySet) -> tuple[dict, list[str]]:
    """(the figure, notes: points not shown, a background not drawn)."""
    x, y = axes(prop_set)
    shown = [(e, e.summary["metrics"].get(x, {}).get("index"), e.summary["metrics"].get(y, {}).get("index"))
             for e in entries]
    drawn = [(e, xi, yi) for e, xi, yi in shown if drawable(xi) and drawable(yi)]
    notes = []
    if len(drawn) < len(shown):
        notes.append(f"{len(shown) - len(drawn)} of {len(shown)} entries have no index on an axis and are not "
                     "shown (they are in the table)")
    x_range = _extent([d[1] for d in drawn], entries[0].record.boundaries.get(x) or ())
    y_range = _extent([d[2] for d in drawn], entries[0].record.boundaries.get(y) or ())
    shapes, note = background(entries, x, y, x_range, y_range)
    if note:
        notes.append(note)
    traces = []
    for letter in RATINGS + (NO_LEVEL,):
        points = [d for d in drawn if _letter(d[0]) == letter]
        if not points:
            continue
        levels = points[0][0].record.levels
        shown_as = "not rated / not graded" if letter == NO_LEVEL else f"level {levels[RATINGS.index(letter)]}"
        traces.append({
            "type": "scatter", "mode": "markers", "name": shown_as,
            "x": [p[1] for p in points], "y": [p[2] for p in points],
            "customdata": [f"../{ENTRY_FOLDER}/{p[0].page}.html" for p in points],
            "text": [f"{plotly_text(p[0].record.name)}<br>{shown_as}<br>{plotly_text(prop_set[x].name)} index "
                     f"{format_number(p[1])}<br>{plotly_text(prop_set[y].name)} index {format_number(p[2])}"
                     for p in points],
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {"color": RATING_COLORS.get(letter, NO_LEVEL_COLOUR), "symbol": SYMBOLS[letter], "size": 10,
                       "line": {"color": "#222222", "width": 1}}})
    layout = {"xaxis": _axis(f"{prop_set[x].name}: index (higher is better)", x_range),
              "yaxis": _axis(f"{prop_set[y].name}: index (higher is better)", y_range),
              "shapes": shapes, "hovermode": "closest", "font": {"family": FONT},
              "legend": {"title": {"text": "Compound level"}}, "margin": {"t": 20, "r": 10},
              "height": 520, "plot_bgcolor": "#ffffff"}
    return {"data": traces, "layout": layout}, notes


STEPS_PER_DECADE = ((1, 2, 5), (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9))  # wide axes: 1-2-5; narrow: finer
MIN_TICKS = 4


def log_ticks(extent: tuple[float, float]) -> dict:
    """Tick values and texts of a log axis that read as numbers (plotly's own, inside one decade,
    are bare digits: "2 3 … 9 1")."""
    low, high = extent
    for steps in STEPS_PER_DECADE:
        values = [m * 10.0 ** k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
                  for m in steps if low <= m * 10.0 ** k <= high]
        if len(values) >= MIN_TICKS:
            break
    if len(values) < 2:
        return {}
    return {"tickmode": "array", "tickvals": values, "ticktext": [format_number(v) for v in values]}


def _axis(title: str, extent: tuple[float, float]) -> dict:
    return {"title": {"text": plotly_text(title, 120)}, "type": "log",
            "range": [math.log10(extent[0]), math.log10(extent[1])], "showgrid": False, "zeroline": False,
            **log_ticks(extent)}
