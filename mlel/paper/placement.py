"""Names next to points without overlap: a greedy label placement (pure, in display units).

A name never covers anything: not another name, not a point, not an obstacle the caller names
(error bars, their caps and continuation marks), and it stays inside the frame (the axes).

1. Beside its point: each name is tried at eight positions around its point (right, above, left,
   below, then the diagonals); the first that is free wins. Every name gets this chance before
   any name is moved away, so a far name never takes the room a near one needed.
2. Away, with a leader line: a name with no room beside its point is tried further out (rings of
   directions and distances); it is drawn there with a thin line to its point, the line crossing
   no other name and no other point.
3. Left out: a name that fits nowhere is None, never drawn over something (a missing name reads
   better than two unreadable ones); :mod:`mlel.paper.names` then tries a short number in its
   place and keys it, or the name itself, in the figure's caption.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

GAP = 4.0  # between a point and its name, and around every name
POINT_RADIUS = 4.0  # of the markers the names avoid
LEADER_STEP = 2.0  # a leader line is checked every this many display units
RING_DIRECTIONS = 24
RING_DISTANCES = (1.5, 3.0, 5.0, 8.0, 12.0, 18.0)  # how far out a leader's name sits, in name heights


@dataclass(frozen=True)
class Box:
    left: float
    bottom: float
    right: float
    top: float

    def overlaps(self, other: "Box") -> bool:
        return (self.left < other.right and other.left < self.right
                and self.bottom < other.top and other.bottom < self.top)

    def inside(self, frame: "Box") -> bool:
        return (self.left >= frame.left and self.right <= frame.right
                and self.bottom >= frame.bottom and self.top <= frame.top)


@dataclass(frozen=True)
class Placement:
    box: Box
    leader: tuple[tuple[float, float], tuple[float, float]] | None  # (from, to) where a line joins name and point


def candidate_offsets(width: float, height: float, gap: float = GAP,
                      radius: float = POINT_RADIUS) -> list[tuple[float, float]]:
    """(dx, dy) of a name's lower-left corner beside its point, in order of preference."""
    right, left = gap + radius, -(width + gap + radius)
    above, below = gap + radius, -(height + gap + radius)
    middle, centre = -height / 2, -width / 2
    return [(right, middle), (centre, above), (left, middle), (centre, below),
            (right, gap), (left, gap), (right, -(height + gap)), (left, -(height + gap))]


def ring_offsets(width: float, height: float, radius: float = POINT_RADIUS) -> list[tuple[float, float]]:
    """(dx, dy) of a name's lower-left corner away from its point (nearest ring first): its nearest
    corner or edge at each distance and direction."""
    offsets = []
    for distance in RING_DISTANCES:
        reach = radius + distance * height
        for k in range(RING_DIRECTIONS):
            angle = 2 * math.pi * k / RING_DIRECTIONS
            cx, cy = reach * math.cos(angle), reach * math.sin(angle)
            # the box's centre pushed out so that its side, not its centre, lies at the reach
            cx += math.copysign(width / 2, cx) if abs(cx) > 1e-9 else 0.0
            cy += math.copysign(height / 2, cy) if abs(cy) > 1e-9 else 0.0
            offsets.append((cx - width / 2, cy - height / 2))
    return offsets


def _as_array(boxes: Sequence[Box]) -> np.ndarray:
    return np.array([(b.left, b.bottom, b.right, b.top) for b in boxes], dtype=float).reshape(-1, 4)


def _hits(candidates: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """Per candidate box (C x 4): whether it overlaps any blocked box (B x 4)."""
    if not len(blocked) or not len(candidates):
        return np.zeros(len(candidates), dtype=bool)
    c, b = candidates[:, None, :], blocked[None, :, :]
    return np.any((c[..., 0] < b[..., 2]) & (b[..., 0] < c[..., 2])
                  & (c[..., 1] < b[..., 3]) & (b[..., 1] < c[..., 3]), axis=1)


def _covers(boxes: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Per box (C x 4): whether any sample point (S x 2) lies inside it."""
    if not len(samples) or not len(boxes):
        return np.zeros(len(boxes), dtype=bool)
    x, y = samples[None, :, 0], samples[None, :, 1]
    return np.any((boxes[:, 0:1] <= x) & (x <= boxes[:, 2:3]) & (boxes[:, 1:2] <= y) & (y <= boxes[:, 3:4]), axis=1)


def leader_line(point: tuple[float, float], box: Box, radius: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """From the marker's edge towards the box's nearest point, to that point."""
    px, py = point
    tx, ty = min(max(px, box.left), box.right), min(max(py, box.bottom), box.top)
    length = math.hypot(tx - px, ty - py) or 1.0
    return (px + (tx - px) * radius / length, py + (ty - py) * radius / length), (tx, ty)


def leader_points(line) -> list[tuple[float, float]]:
    """Points along a leader line, every LEADER_STEP: what a later placement keeps clear of."""
    return [tuple(p) for p in _samples(line, 0.0)]


def _samples(line, gap: float) -> np.ndarray:
    """Points along a leader line, its two ends kept clear of the point's marker and the name."""
    (x0, y0), (x1, y1) = line
    length = math.hypot(x1 - x0, y1 - y0)
    steps = max(int(length / LEADER_STEP), 1)
    t = np.linspace(0.0, 1.0, steps + 1)
    keep = (t * length > gap / 2) & (t * length < length - gap / 2)
    return np.column_stack([x0 + (x1 - x0) * t[keep], y0 + (y1 - y0) * t[keep]])


class _Layout:
    """What is taken so far: points, obstacles, placed names (padded) and leader lines."""

    def __init__(self, points, frame: Box, obstacles: Sequence[Box], names: Sequence[Box], radius: float,
                 gap: float):
        self.points, self.frame, self.radius, self.gap = points, frame, radius, gap
        self.dots = _as_array([Box(x - radius, y - radius, x + radius, y + radius) for x, y in points])
        self.fixed = np.vstack([_as_array(obstacles), self.dots])
        self.names = _as_array(names)
        self.lines = np.empty((0, 2))

    def free(self, candidates: np.ndarray) -> np.ndarray:
        f = self.frame
        inside = ((candidates[:, 0] >= f.left) & (candidates[:, 2] <= f.right)
                  & (candidates[:, 1] >= f.bottom) & (candidates[:, 3] <= f.top))
        padded = candidates + np.array([-self.gap, -self.gap, self.gap, self.gap])
        return (inside & ~_hits(candidates, self.fixed) & ~_hits(padded, self.names)
                & ~_covers(padded, self.lines))

    def take(self, box: Box, line=None) -> None:
        self.names = np.vstack([self.names, _as_array([box])])
        if line is not None:
            self.lines = np.vstack([self.lines, _samples(line, 0.0)])

    def try_beside(self, index: int, width: float, height: float) -> Placement | None:
        x, y = self.points[index]
        offsets = np.array(candidate_offsets(width, height, self.gap, self.radius))
        boxes = np.column_stack([x + offsets[:, 0], y + offsets[:, 1], x + offsets[:, 0] + width,
                                 y + offsets[:, 1] + height])
        ok = np.flatnonzero(self.free(boxes))
        return Placement(Box(*boxes[ok[0]]), None) if len(ok) else None

    def try_away(self, index: int, width: float, height: float) -> Placement | None:
        x, y = self.points[index]
        offsets = np.array(ring_offsets(width, height, self.radius))
        boxes = np.column_stack([x + offsets[:, 0], y + offsets[:, 1], x + offsets[:, 0] + width,
                                 y + offsets[:, 1] + height])
        others = np.delete(self.dots, index, axis=0)
        padded_names = self.names + np.array([-self.gap, -self.gap, self.gap, self.gap])
        for k in np.flatnonzero(self.free(boxes)):
            box = Box(*boxes[k])
            line = leader_line((x, y), box, self.radius)
            samples = _samples(line, self.gap)
            if _covers(others, samples).any() or _covers(padded_names, samples).any():
                continue  # the line would cross another point or another name
            return Placement(box, line)
        return None


def place_labels(points: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]],
                 frame: Box, obstacles: Sequence[Box] = (), gap: float = GAP,
                 radius: float = POINT_RADIUS, names: Sequence[Box] = ()) -> list[Placement | None]:
    """Where each point's name goes (display units): beside its point, away with a leader line, or
    None where it fits nowhere (see the module's docstring). ``names``: text already on the plot,
    kept clear like a placed name (no leader line crosses it either)."""
    layout = _Layout([tuple(p) for p in points], frame, obstacles, names, radius, gap)
    result: list[Placement | None] = [None] * len(points)
    for i, (width, height) in enumerate(sizes):
        result[i] = layout.try_beside(i, width, height)
        if result[i] is not None:
            layout.take(result[i].box)
    for i, (width, height) in enumerate(sizes):
        if result[i] is None:
            result[i] = layout.try_away(i, width, height)
            if result[i] is not None:
                layout.take(result[i].box, result[i].leader)
    return result
