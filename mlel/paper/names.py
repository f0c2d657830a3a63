"""Models' names on a finished plot, never drawn over a point, an error bar, a reference line or
another name, and never past the plot's edge (the rule: :mod:`mlel.paper.placement`): beside their
point, else away with a leader line, else a number beside the point keyed in the figure's caption
("Numbered for lack of room: 1 ResNet152"), else the name alone in the caption. Everything is
measured in display pixels at the figure's own dpi, the one its PNG is saved at, so what is placed
is what the PNG shows."""
from __future__ import annotations

import textwrap
from typing import Sequence

import numpy as np

from mlel.paper.placement import Box, leader_points, place_labels

NAME_SIZE = 6.0  # points
CAPTION_SIZE = 6.0  # points
GAP_PT = 2.0  # around every name, in points
LEADER_COLOR = "#444444"
NUMBERED = "Numbered for lack of room"
NOT_NAMED = "Not named for lack of room"


def plain(text) -> str:
    """``text`` as matplotlib should draw it: as typed. Matplotlib parses text holding ``$`` pairs
    as mathtext (a model named ``$\\frac{1}{0}$`` would be drawn as a fraction, ``$\\x$`` fail the
    figure); outside ``$…$`` its only special is ``\\$``, so every ``$`` escaped is the whole rule.
    Every name, label and title a paper figure draws goes through here."""
    return str(text).replace("$", r"\$")


def _has_marker(line) -> bool:
    return line.get_marker() not in (None, "None", "none", "", " ")


def obstacles(ax) -> tuple[list[Box], float]:
    """What names must not cover, in display pixels, and the points' marker radius: every scatter
    marker, every error bar (a line collection), every line marker (caps, continuation marks) and
    the reference lines (gid "reference")."""
    px_per_pt = ax.figure.dpi / 72
    boxes, radius = [], 0.0
    for collection in ax.collections:
        kind = type(collection).__name__
        if kind == "PathCollection":
            edge = max(collection.get_linewidths(), default=0.0) / 2
            r = (float(np.sqrt(max(collection.get_sizes(), default=0.0))) / 2 + edge) * px_per_pt
            radius = max(radius, r)
            for cx, cy in collection.get_offset_transform().transform(collection.get_offsets()):
                boxes.append(Box(cx - r, cy - r, cx + r, cy + r))
        elif kind == "LineCollection":
            half = max(collection.get_linewidths(), default=1.0) / 2 * px_per_pt + 0.5
            transform = collection.get_transform()
            for segment in collection.get_segments():
                (x0, y0), (x1, y1) = transform.transform(np.asarray(segment))[[0, -1]]
                boxes.append(Box(min(x0, x1) - half, min(y0, y1) - half, max(x0, x1) + half, max(y0, y1) + half))
    for line in ax.get_lines():
        if line.get_gid() == "reference":  # the dashed lines at index 1: names keep off them too
            half = line.get_linewidth() / 2 * px_per_pt + 0.5
            (x0, y0), (x1, y1) = line.get_transform().transform(line.get_xydata())[[0, -1]]
            boxes.append(Box(min(x0, x1) - half, min(y0, y1) - half, max(x0, x1) + half, max(y0, y1) + half))
        elif _has_marker(line):
            half = (line.get_markersize() / 2 + line.get_markeredgewidth()) * px_per_pt
            for cx, cy in line.get_transform().transform(line.get_xydata()):
                boxes.append(Box(cx - half, cy - half, cx + half, cy + half))
    return boxes, radius


def _sizes(ax, renderer, texts: Sequence[str], size: float) -> list[tuple[float, float]]:
    """Each text's (width, height) in pixels: as the PNG draws it (hinted at the figure's dpi), or
    as the PDF does (the font's own outlines), whichever is wider, so neither file overlaps."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    px_per_pt = ax.figure.dpi / 72
    sizes = []
    for text in texts:
        probe = ax.text(0.5, 0.5, text, fontsize=size, transform=ax.transAxes)
        extent = probe.get_window_extent(renderer)
        # the outline's control points bound its curves: their span is a safe (and cheap) width
        outline = TextPath((0, 0), text, size=size, prop=FontProperties(size=size)).vertices[:, 0]
        ink = float(np.ptp(outline)) if len(outline) else 0.0
        sizes.append((max(extent.width, ink * px_per_pt + 1), extent.height))
        probe.remove()
    return sizes


def _write(ax, shown: str, placed, size: float):
    to_data = ax.transData.inverted().transform
    x, y = to_data((placed.box.left, placed.box.bottom))
    if placed.leader is not None:
        (x0, y0), (x1, y1) = (to_data(end) for end in placed.leader)
        ax.plot([x0, x1], [y0, y1], color=LEADER_COLOR, lw=0.5, zorder=4, gid="leader")
    return ax.text(x, y, shown, fontsize=size, ha="left", va="bottom", zorder=5)


def name_texts(ax, xs: Sequence[float], ys: Sequence[float], names: Sequence[str],
               size: float = NAME_SIZE) -> tuple[list, list[tuple[str, str]]]:
    """Write each name where :func:`mlel.paper.placement.place_labels` puts it (after the axes are
    final: call it last). A name with no room gets a number instead where a number fits, its key
    for the caption. Returns (the texts, the caption's (number, name) pairs: number "" where
    neither fitted)."""
    fig = ax.figure
    fig.canvas.draw()  # final limits and layout: display coordinates are now what gets saved
    renderer = fig.canvas.get_renderer()
    points = [tuple(ax.transData.transform((x, y))) for x, y in zip(xs, ys)]
    frame = ax.get_window_extent(renderer)
    frame = Box(frame.x0, frame.y0, frame.x1, frame.y1)
    blocked, radius = obstacles(ax)
    gap = GAP_PT * fig.dpi / 72
    shown = [plain(name) for name in names]
    placements = place_labels(points, _sizes(ax, renderer, shown, size), frame, blocked, gap, radius or gap)
    texts = [_write(ax, text, placed, size) for text, placed in zip(shown, placements) if placed is not None]
    missing = [i for i, placed in enumerate(placements) if placed is None]
    if not missing:
        return texts, []
    # the names' boxes and leader lines are taken: the numbers keep clear of them too
    named = [placed.box for placed in placements if placed is not None]
    leaders = [Box(x - 0.5, y - 0.5, x + 0.5, y + 0.5) for placed in placements if placed is not None and placed.leader
               for x, y in leader_points(placed.leader)]
    numbers = [str(k + 1) for k in range(len(missing))]
    numbered = place_labels([points[i] for i in missing], _sizes(ax, renderer, numbers, size), frame,
                            blocked + leaders, gap, radius or gap, names=named)
    keyed, left_out = [], []
    for i, placed in zip(missing, numbered):
        if placed is None:
            left_out.append(("", str(names[i])))
            continue
        key = str(len(keyed) + 1)  # numbers as drawn: 1, 2, 3 … whichever fitted
        texts.append(_write(ax, key, placed, size))
        keyed.append((key, str(names[i])))
    return texts, keyed + left_out


def caption_text(left_out: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> str:
    """The caption's words for (panel, [(number, name)]) pairs: the numbers' key, then the names
    with no number ("" when nothing was left out)."""
    keys, names = [], []
    for panel, entries in left_out:
        where = f"{panel}: " if panel and len(left_out) > 1 else ""
        numbered = [f"{key}\u00a0{name}" for key, name in entries if key]  # a key never wraps apart from its name
        unnumbered = [name for key, name in entries if not key]
        if numbered:
            keys.append(where + ", ".join(numbered))
        if unnumbered:
            names.append(where + ", ".join(unnumbered))
    parts = ([f"{NUMBERED}: " + "; ".join(keys) + "."] if keys else []) + \
        ([f"{NOT_NAMED}: " + "; ".join(names) + "."] if names else [])
    return " ".join(parts)


def add_caption(fig, left_out: Sequence[tuple[str, Sequence[tuple[str, str]]]], size: float = CAPTION_SIZE):
    """The names no panel had room for, below the plot (:func:`caption_text`), the figure grown to
    hold them: the axes keep their size and place, so every name already drawn stays beside its
    point. ``left_out``: (panel title, [(number, name)]) pairs. None when nothing was left out."""
    text = plain(caption_text(left_out))
    if not text:
        return None
    renderer = fig.canvas.get_renderer()
    probe = fig.text(0, 0, text, fontsize=size)
    per_char = probe.get_window_extent(renderer).width / max(len(text), 1)
    probe.remove()
    margin = 0.02 * fig.bbox.width
    columns = max(int((fig.bbox.width - 2 * margin) / per_char * 0.95), 20)
    wrapped = "\n".join(textwrap.wrap(text, columns, break_on_hyphens=False))
    caption = fig.text(0, 0, wrapped, fontsize=size, ha="left", va="bottom")
    pad_in = 0.08
    extra_in = caption.get_window_extent(renderer).height / fig.dpi + 2 * pad_in
    width_in, height_in = fig.get_size_inches()
    grown = height_in + extra_in
    for ax in fig.axes:
        pos = ax.get_position()
        ax.set_position([pos.x0, (pos.y0 * height_in + extra_in) / grown, pos.width, pos.height * height_in / grown])
    fig.set_size_inches(width_in, grown)
    caption.set_position((margin / fig.bbox.width, pad_in / grown))
    return caption
