"""The four pictograms, as vector shapes in a unit square (y up): a disc in the metric's rating
colour with a white symbol. Shapes are built once and reused by every label."""
from __future__ import annotations

from functools import lru_cache

from reportlab.pdfgen.pathobject import PDFPathObject

TINT, WHITE = "tint", "white"
KINDS = ("power", "runtime", "accuracy", "size")

# A shape: (path, colour role, even-odd fill). Even-odd turns concentric circles into rings.
Shape = tuple[PDFPathObject, str, bool]


def _polygon(*points: tuple[float, float]) -> PDFPathObject:
    path = PDFPathObject()
    path.moveTo(*points[0])
    for point in points[1:]:
        path.lineTo(*point)
    path.close()
    return path


def _circles(cx: float, cy: float, *radii: float) -> PDFPathObject:
    path = PDFPathObject()
    for radius in radii:
        path.circle(cx, cy, radius)
    return path


def _rect(x: float, y: float, width: float, height: float) -> PDFPathObject:
    path = PDFPathObject()
    path.rect(x, y, width, height)
    return path


def _disc() -> Shape:
    return _circles(0.5, 0.5, 0.5), TINT, False


def _power() -> list[Shape]:  # lightning bolt
    bolt = _polygon((0.47, 0.87), (0.27, 0.46), (0.46, 0.46), (0.37, 0.12), (0.74, 0.57),
                    (0.55, 0.57), (0.70, 0.87))
    return [_disc(), (bolt, WHITE, False)]


def _runtime() -> list[Shape]:  # stopwatch: ring, crown, hand
    ring = _circles(0.5, 0.45, 0.28, 0.215)
    crown = _rect(0.465, 0.72, 0.07, 0.06)
    button = _rect(0.39, 0.78, 0.22, 0.065)
    hand = _polygon((0.475, 0.45), (0.50, 0.64), (0.525, 0.45))
    hub = _circles(0.5, 0.45, 0.045)
    return [_disc()] + [(shape, WHITE, even_odd) for shape, even_odd in
                        ((ring, True), (crown, False), (button, False), (hand, False), (hub, False))]


def _accuracy() -> list[Shape]:  # target: two rings and the bull's eye
    return [_disc(), (_circles(0.5, 0.5, 0.35, 0.27, 0.19, 0.11, 0.05), WHITE, True)]


def _size() -> list[Shape]:  # stacked layers: a diamond over two chevrons
    top = _polygon((0.5, 0.82), (0.80, 0.65), (0.5, 0.48), (0.20, 0.65))
    shapes = [_disc(), (top, WHITE, False)]
    for drop in (0.0, 0.15):
        shapes.append((_polygon((0.20, 0.56 - drop), (0.5, 0.39 - drop), (0.80, 0.56 - drop),
                                (0.80, 0.48 - drop), (0.5, 0.31 - drop), (0.20, 0.48 - drop)),
                       WHITE, False))
    return shapes


_BUILDERS = {"power": _power, "runtime": _runtime, "accuracy": _accuracy, "size": _size}


@lru_cache(maxsize=None)
def pictogram(kind: str) -> tuple[Shape, ...]:
    """The shapes of one pictogram (unit square), built once."""
    return tuple(_BUILDERS[kind]())
