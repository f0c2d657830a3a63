"""An SVG stand-in for reportlab's Canvas: the calls of :class:`mlel.labels.surface.Surface`,
written as SVG elements, so ``render.draw_label`` draws the same label into SVG unchanged.

Text is measured with reportlab's font metrics (as in the PDF) and placed by its left end, with
``textLength`` set to the width the PDF gives it: a browser's stand-in font (Arial, Liberation
Sans for Helvetica) then fills exactly the room the layout measured. Paths are read back from a
``PDFPathObject``'s operators, so every shape is the PDF's own geometry.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from html import escape
from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import FILL_EVEN_ODD
from reportlab.pdfgen.pathobject import PDFPathObject

from mlel.labels import layout as L

SANS = 'Helvetica,Arial,"Liberation Sans","Nimbus Sans","Nimbus Sans L",sans-serif'
UNICODE_SANS = '"DejaVu Sans","Bitstream Vera Sans",Verdana,"Arial Unicode MS",sans-serif'
DEFAULT_FAMILY = SANS  # set once on the <svg>; text in another family says so itself
REPLACEMENT = "\ufffd"
# XML 1.0 allows no C0 control but tab, newline and return, no lone surrogate, no U+FFFE/U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_RECTANGLES = re.compile(r"(?:\s*n)?(?:\s*[-.\d]+\s+[-.\d]+\s+[-.\d]+\s+[-.\d]+\s+re)+\s*")  # rectangles only
_OPERANDS = {"m": 2, "l": 2, "c": 6, "v": 4, "y": 4, "re": 4, "h": 0, "n": 0}
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def xml_text(text: str) -> str:
    """``text`` safe as XML character data or a quoted attribute value: characters XML cannot hold
    are replaced visibly, markup characters escaped."""
    return escape(_NOT_XML.sub(REPLACEMENT, text), quote=True)


def number(value: float) -> str:
    """A coordinate to 1/1000 pt, without trailing zeros: "12.5", "-3", "0.125"."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def font_attributes(font: str) -> str:
    """The CSS of a reportlab font name: Helvetica(-Bold) or the DejaVu stand-in (fonts.py)."""
    family = UNICODE_SANS if "DejaVu" in font else SANS
    bold = font.endswith("-Bold")
    return ((f' font-family="{xml_text(family)}"' if family != DEFAULT_FAMILY else "")
            + (' font-weight="bold"' if bold else ""))


@lru_cache(maxsize=None)
def _colour(hexval: str) -> str:
    return "#" + hexval[2:]


def colour(value: Any) -> str:
    """A reportlab Color (or a "#rrggbb" string) as "#rrggbb"."""
    return value if isinstance(value, str) else _colour(value.hexval())


def _apply(matrix: Matrix, x: float, y: float) -> tuple[float, float]:
    """A point in user space -> SVG coordinates (y down from the page's top)."""
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, L.PAGE_HEIGHT - (b * x + d * y + f)


def svg_matrix(matrix: Matrix) -> str:
    """A PDF user space as an SVG transform, the page's y flip folded in."""
    a, b, c, d, e, f = matrix
    return "matrix(" + " ".join(f"{v:.6g}" for v in (a, -b or 0.0, c, -d or 0.0, e, L.PAGE_HEIGHT - f)) + ")"


@lru_cache(maxsize=1024)  # the same shapes recur on every label (arrows, tiles, pictograms, QR)
def path_data(code: str, flip: bool = True) -> str:
    """SVG path data of a PDF path's operators (m l c v y re h); ``flip``: in page coordinates
    (y down from the top), else in the path's own (a transform places it)."""
    parts: list[str] = []
    operands: list[float] = []
    current = start = (0.0, 0.0)

    def pair(point: tuple[float, float]) -> str:
        return f"{number(point[0])} {number(L.PAGE_HEIGHT - point[1] if flip else point[1])}"

    for token in code.split():
        if token not in _OPERANDS:
            operands.append(float(token))
            continue
        if len(operands) != _OPERANDS[token]:
            raise ValueError(f"path operator {token!r} takes {_OPERANDS[token]} numbers, got {len(operands)}")
        points = [(operands[i], operands[i + 1]) for i in range(0, len(operands) - 1, 2)]
        if token == "re":  # relative sides: a QR module costs some 15 characters
            x, y, width, height = operands
            parts.append(f"M{pair((x, y))}h{number(width)}v{number(-height if flip else height)}h{number(-width)}Z")
            current = start = (x, y)
        elif token == "m":
            parts.append("M" + pair(points[0]))
            current = start = points[0]
        elif token == "l":
            parts.append("L" + pair(points[0]))
            current = points[0]
        elif token in ("c", "v", "y"):
            if token == "v":  # the first control point is the current point
                points = [current] + points
            elif token == "y":  # the second control point is the end point
                points = [points[0], points[1], points[1]]
            parts.append("C" + " ".join(pair(p) for p in points))
            current = points[-1]
        elif token == "h":
            parts.append("Z")
            current = start
        operands = []
    return "".join(parts)


@lru_cache(maxsize=1024)
def _rectangles_only(code: str) -> bool:
    return _RECTANGLES.fullmatch(code) is not None


class SvgCanvas:
    """Collects the label's drawing as SVG elements (``elements``); the state calls work as on
    reportlab's Canvas (save/restore, translate, scale; even-odd fill by default, as there)."""

    def __init__(self) -> None:
        self.elements: list[str] = []
        self._fill = self._stroke = "#000000"
        self._line_width = 1.0
        self._font, self._size = L.FONT, 12.0
        self._matrix: Matrix = IDENTITY
        self._stack: list[tuple] = []

    # --- state ---------------------------------------------------------------------------------
    def setFont(self, psfontname: str, size: float, leading: float | None = None) -> None:
        self._font, self._size = psfontname, size

    def setFillColor(self, aColor: Any, alpha: float | None = None) -> None:
        self._fill = colour(aColor)

    def setStrokeColor(self, aColor: Any, alpha: float | None = None) -> None:
        self._stroke = colour(aColor)

    def setLineWidth(self, width: float) -> None:
        self._line_width = width

    def saveState(self) -> None:
        self._stack.append((self._fill, self._stroke, self._line_width, self._font, self._size, self._matrix))

    def restoreState(self) -> None:
        self._fill, self._stroke, self._line_width, self._font, self._size, self._matrix = self._stack.pop()

    def translate(self, dx: float, dy: float) -> None:
        a, b, c, d, e, f = self._matrix
        self._matrix = (a, b, c, d, a * dx + c * dy + e, b * dx + d * dy + f)

    def scale(self, x: float, y: float) -> None:
        a, b, c, d, e, f = self._matrix
        self._matrix = (a * x, b * x, c * y, d * y, e, f)

    def _unit(self) -> float:
        """How long one user-space unit is on the page (for line widths and font sizes)."""
        a, b, c, d, _, _ = self._matrix
        return math.sqrt(abs(a * d - b * c))

    # --- shapes --------------------------------------------------------------------------------
    def drawPath(self, aPath: PDFPathObject, stroke: int = 1, fill: int = 0, fillMode: int | None = None) -> None:
        self._shape(aPath.getCode(), stroke, fill, FILL_EVEN_ODD if fillMode is None else fillMode)

    def rect(self, x: float, y: float, width: float, height: float, stroke: int = 1, fill: int = 0) -> None:
        self._shape(f"{x} {y} {width} {height} re", stroke, fill, FILL_EVEN_ODD)

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self._shape(f"{x1} {y1} m {x2} {y2} l", 1, 0, FILL_EVEN_ODD)

    def _shape(self, code: str, stroke: int, fill: int, fill_mode: int) -> None:
        if not (stroke or fill):
            return
        paint = f' fill="{self._fill}"' if fill else ' fill="none"'
        if fill and fill_mode == FILL_EVEN_ODD:
            paint += ' fill-rule="evenodd"'
        if stroke:  # in user units: a transform scales it as the PDF does
            paint += f' stroke="{self._stroke}" stroke-width="{number(self._line_width)}"'
        elif _rectangles_only(code):  # the QR code's modules, the colour strip: sharp edges, no seams
            paint += ' shape-rendering="crispEdges"'
        if self._matrix == IDENTITY:
            self.elements.append(f'<path d="{path_data(code)}"{paint}/>')
        else:  # pictograms and the QR code: their own small coordinates, placed by one transform
            self.elements.append(f'<path transform="{svg_matrix(self._matrix)}" d="{path_data(code, False)}"{paint}/>')

    # --- text ----------------------------------------------------------------------------------
    def drawString(self, x: float, y: float, text: str) -> None:
        self._text(x, y, text, 0.0)

    def drawRightString(self, x: float, y: float, text: str) -> None:
        self._text(x, y, text, 1.0)

    def drawCentredString(self, x: float, y: float, text: str) -> None:
        self._text(x, y, text, 0.5)

    def _text(self, x: float, y: float, text: str, anchor: float) -> None:
        """One line, its left end where reportlab puts it (``anchor``: share of its width left of x)."""
        if not text:
            return
        width = stringWidth(text, self._font, self._size)
        left, baseline = _apply(self._matrix, x - anchor * width, y)
        unit = self._unit()
        length = f' textLength="{number(width * unit)}"' if width > 0 else ""
        self.elements.append(
            f'<text x="{number(left)}" y="{number(baseline)}" font-size="{number(self._size * unit)}"'
            f'{font_attributes(self._font)} fill="{self._fill}"{length}>{xml_text(text)}</text>')
