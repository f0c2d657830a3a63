"""Error bars of the index scatter, drawn to their end: the axis widens to take in an interval's end
when that costs at most half its span again (:func:`reach`); a longer one is drawn to the axes'
edge and marked there with an arrow head (a chevron, gid ``"continues"``) instead of a cap, so no
bar is cut silently."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from mlel.base.formatting import drawable

REACH = 0.5  # an axis widens by at most this share of its span (in axis units) to show a bar's end
CAP_SIZE = 4.0  # points: caps as errorbar(capsize=2) drew them
BAR_WIDTH = 0.8
MARK_SIZE = 6.0
BAR_COLOR = "black"


def index_interval(metric: Mapping, higher_is_better: bool) -> tuple[float, float] | None:
    """The index's 95 % interval from the value's (``ci95``) where an entry pools several runs:
    the index scales with the value (v / r) or with its inverse (r / v); an ``index_ci95`` given
    by the rating core (which also carries the reference's spread) takes precedence."""
    given = metric.get("index_ci95")
    if isinstance(given, (list, tuple)) and len(given) == 2 and None not in given:
        return float(min(given)), float(max(given))
    ci, value, index = metric.get("ci95"), metric.get("value"), metric.get("index")
    if not (isinstance(ci, (list, tuple)) and len(ci) == 2 and value and index) or None in ci:
        return None
    low, high = float(ci[0]), float(ci[1])
    if low <= 0 or high <= 0:
        return None
    if higher_is_better:
        return index * low / value, index * high / value
    return index * value / high, index * value / low


Interval = tuple[float, float, "tuple[float, float] | None", "tuple[float, float] | None"]


def intervals(points: Sequence[tuple[float, float, dict]], x: str, y: str,
              higher: Mapping[str, bool]) -> list[Interval]:
    """(x, y, x interval, y interval) of each point with at least one drawable interval."""
    found = []
    for xi, yi, summary in points:
        x_ci, y_ci = (index_interval(summary["metrics"][k], higher.get(k, False)) for k in (x, y))
        x_ci, y_ci = (ci if ci is not None and drawable(ci[0]) and drawable(ci[1]) else None for ci in (x_ci, y_ci))
        if x_ci is not None or y_ci is not None:
            found.append((xi, yi, x_ci, y_ci))
    return found


def reach(ends: Sequence[float], low: float, high: float, log: bool, share: float = REACH) -> list[float]:
    """The interval ends an axis from ``low`` to ``high`` widens to show: those beyond it by at most
    ``share`` of its span (decades on a log axis); the others are marked as continuing."""
    def unit(v: float) -> float:
        return math.log10(v) if log else v

    if log and low <= 0:
        return []
    span = unit(high) - unit(low)
    return [e for e in ends if drawable(e) and (not log or e > 0)
            and unit(low) - share * span <= unit(e) <= unit(high) + share * span]


def _chevron(dx: int, dy: int):
    """An open arrow head pointing (dx, dy) with its tip at the marker's anchor (the axes' edge)."""
    from matplotlib.path import Path

    back_x, back_y, side_x, side_y = -dx, -dy, dy, dx
    return Path([(back_x + side_x, back_y + side_y), (0, 0), (back_x - side_x, back_y - side_y)])


def draw(ax, found: Sequence[Interval]) -> None:
    """The bars of ``found`` on the axes' final limits: each end inside the axes gets a cap, each
    end beyond them stops at the edge with a chevron pointing on."""
    from matplotlib.collections import LineCollection

    (x_low, x_high), (y_low, y_high) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    segments = {True: [], False: []}  # horizontal, vertical
    caps = {"|": [], "_": []}
    marks = {(1, 0): [], (-1, 0): [], (0, 1): [], (0, -1): []}
    for xi, yi, x_ci, y_ci in found:
        for ci, horizontal in ((x_ci, True), (y_ci, False)):
            if ci is None:
                continue
            low, high = (x_low, x_high) if horizontal else (y_low, y_high)
            # both ends held inside the axes, even of an interval that lies wholly beyond them
            shown = (min(max(ci[0], low), high), max(min(ci[1], high), low))
            segments[horizontal].append([(shown[0], yi), (shown[1], yi)] if horizontal else [(xi, shown[0]), (xi, shown[1])])
            for end, value in zip(shown, ci):
                where = (end, yi) if horizontal else (xi, end)
                if low <= value <= high:
                    caps["|" if horizontal else "_"].append(where)
                else:  # beyond the edge: a chevron pointing the way it runs on
                    sign = 1 if value > high else -1
                    marks[(sign, 0) if horizontal else (0, sign)].append(where)
    for lines in segments.values():
        if lines:
            ax.add_collection(LineCollection(lines, colors=BAR_COLOR, linewidths=BAR_WIDTH, zorder=2),
                              autolim=False)
    for marker, where in caps.items():
        if where:
            ax.plot(*zip(*where), ls="none", marker=marker, markersize=CAP_SIZE, markeredgewidth=BAR_WIDTH,
                    color=BAR_COLOR, zorder=2, gid="cap")
    for (dx, dy), where in marks.items():
        if where:
            ax.plot(*zip(*where), ls="none", marker=_chevron(dx, dy), markersize=MARK_SIZE, markeredgewidth=1.0,
                    markerfacecolor="none", color=BAR_COLOR, zorder=2, clip_on=False, gid="continues")
