"""Names next to points without overlap: a greedy label placement (pure, in display units).

Each label is tried at a few positions around its point (right, above, left, below, then the
diagonals, then further out); the first that overlaps no placed label, no point and stays inside
the frame wins. A label that fits nowhere is left out (None) rather than drawn over another:
a figure with a missing name reads better than one with two unreadable ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

GAP = 4.0  # between a point and its name, and around every name
POINT_RADIUS = 4.0  # of the markers the names avoid


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


def candidate_offsets(width: float, height: float, gap: float = GAP) -> list[tuple[float, float]]:
    """(dx, dy) of a label's lower-left corner from its point, in order of preference."""
    right, left = gap + POINT_RADIUS, -(width + gap + POINT_RADIUS)
    above, below = gap, -(height + gap)
    middle, centre = -height / 2, -width / 2
    near = [(right, middle), (centre, above + POINT_RADIUS), (left, middle), (centre, below - POINT_RADIUS),
            (right, above), (left, above), (right, below), (left, below)]
    far = [(dx * 1.8 if dx > 0 else dx - gap * 3, dy * 2.2 if dy else dy) for dx, dy in near[:4]]
    return near + far


def place_labels(points: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]],
                 frame: Box, gap: float = GAP) -> list[Box | None]:
    """The box of each point's label (display units), or None where it fits nowhere."""
    dots = [Box(x - POINT_RADIUS, y - POINT_RADIUS, x + POINT_RADIUS, y + POINT_RADIUS) for x, y in points]
    placed: list[Box] = []
    result: list[Box | None] = []
    for (x, y), (width, height) in zip(points, sizes):
        chosen = None
        for dx, dy in candidate_offsets(width, height, gap):
            box = Box(x + dx, y + dy, x + dx + width, y + dy + height)
            padded = Box(box.left - gap, box.bottom - gap, box.right + gap, box.top + gap)
            if not box.inside(frame):
                continue
            if any(padded.overlaps(other) for other in placed) or any(box.overlaps(dot) for dot in dots):
                continue
            chosen = box
            break
        if chosen is not None:
            placed.append(chosen)
        result.append(chosen)
    return result
