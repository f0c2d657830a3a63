"""Drawing primitives of the label: text that fits its place, word wrap, and the cached shapes
(rounded rectangles, arrows, stars) that every label shares. Positions run down from the page's
top, as :mod:`mlel.labels.layout` gives them.
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from reportlab.lib.colors import HexColor
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.pathobject import PDFPathObject

from mlel.labels import layout as L
from mlel.labels.fonts import unicode_font as _unicode_font
from mlel.labels.surface import Surface

ELLIPSIS = "\u2026"
MISSING_GLYPH = "\ufffd"  # Unicode's replacement character: visibly not part of the name
MISSING_GLYPH_WINANSI = "[?]"  # the same, where only the base-14 fonts are there
MAX_TEXT_CHARS = 1000  # more than any line of the label shows at its smallest size (~340 "i"s)


@lru_cache(maxsize=None)
def color(hex_code: str) -> HexColor:
    return HexColor(hex_code)


def y(top: float) -> float:
    """Layout positions run down from the page's top; PDF coordinates run up from its bottom."""
    return L.PAGE_HEIGHT - top


def printable(text: str, font: str, dirs: tuple[Path, ...] | None = None) -> tuple[str, str]:
    """(text, font) that can draw it. The base-14 fonts cover WinAnsi (cp1252) only: other text is
    drawn in DejaVu Sans where installed. What no font can draw is replaced visibly — "\ufffd" in
    DejaVu, "[?]" in Helvetica — never by a "?" that reads as part of the name."""
    try:
        text.encode("cp1252")
        return text, font
    except UnicodeEncodeError:
        pass
    fallback = _unicode_font(font, dirs)
    if fallback is None:
        return "".join(ch if ch.encode("cp1252", "ignore") else MISSING_GLYPH_WINANSI for ch in text), font
    name, covered = fallback
    return "".join(ch if ord(ch) in covered else MISSING_GLYPH for ch in text), name


def _cut(text: str, font: str, size: float, width: float) -> str:
    """The longest prefix that fits ``width`` with "…" after it. Widths only grow with the prefix,
    so a binary search needs log2(len) measurements, each of at most MAX_TEXT_CHARS characters."""
    low, high = 0, len(text)  # the answer lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if stringWidth(text[:middle].rstrip() + ELLIPSIS, font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


def fit_text(text: str, font: str, size: float, min_size: float, width: float) -> tuple[str, float]:
    """(text, font size) that fits ``width``: shrink down to ``min_size``, then cut with "…".
    Text beyond MAX_TEXT_CHARS is always cut: no line of the label can show that much, and the
    work per label stays bounded whatever a log's model name holds."""
    if len(text) > MAX_TEXT_CHARS:
        return _cut(text[:MAX_TEXT_CHARS], font, min_size, width), min_size
    natural = stringWidth(text, font, size)
    if natural <= width:
        return text, size
    fitted = int(size * width / natural * 10) / 10  # round down to 0.1 pt
    if fitted >= min_size:
        return text, fitted
    return _cut(text, font, min_size, width), min_size


def text(canvas: Surface, x: float, baseline: float, line: str, font: str, size: float,
         min_size: float, width: float, colour: str = L.TEXT, align: str = "left") -> None:
    """One line at ``baseline``, shrunk (then cut) to ``width``."""
    line, font = printable(line[:MAX_TEXT_CHARS + 1], font)  # one more: fit_text sees it is cut
    line, size = fit_text(line, font, size, min_size, width)
    canvas.setFont(font, size)
    canvas.setFillColor(color(colour))
    at = y(baseline)
    if align == "left":
        canvas.drawString(x, at, line)
    elif align == "right":
        canvas.drawRightString(x, at, line)
    else:
        canvas.drawCentredString(x, at, line)


def _words(line: str, hyphens: bool) -> list[str]:
    words = line[:MAX_TEXT_CHARS].split()
    if not hyphens:
        return words
    return [part for word in words for part in _hyphen_parts(word)]


def _hyphen_parts(word: str) -> list[str]:
    """ "inter-token" -> ["inter-", "token"]: a line may break after a hyphen."""
    parts = word.split("-")
    return [part + "-" for part in parts[:-1] if part] + ([parts[-1]] if parts[-1] else [])


def wrap_text(line: str, font: str, size: float, width: float, max_lines: int,
              hyphens: bool = False) -> list[str]:
    """Greedy word wrap into at most ``max_lines`` lines of ``width`` (``hyphens``: a line may
    also break after a hyphen); the last line cut with "…"."""
    lines: list[str] = []
    glued = False  # the last word ended in a hyphen: the next one joins it without a space
    for word in _words(line, hyphens):
        joined = f"{lines[-1]}{'' if glued else ' '}{word}" if lines else word
        if lines and stringWidth(joined, font, size) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
        glued = hyphens and word.endswith("-")
    if len(lines) > max_lines:
        rest = lines[max_lines - 1:]
        lines = lines[:max_lines - 1] + ["".join(w if w.endswith("-") else w + " " for w in rest).strip()]
    return [fit_text(part, font, size, size, width)[0] for part in lines]


def fits_in(line: str, font: str, size: float, width: float, max_lines: int, hyphens: bool = False) -> bool:
    """Whether ``line`` wraps into ``max_lines`` lines of ``width`` without cutting a word."""
    lines = wrap_text(line, font, size, width, max_lines + 1, hyphens)
    return len(lines) <= max_lines and all(stringWidth(part, font, size) <= width for part in lines)


# --- shapes -----------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def round_rect(left: float, top: float, width: float, height: float, radius: float) -> PDFPathObject:
    """Rounded rectangles sit at fixed places: build each path (eight curves) once."""
    path = PDFPathObject()
    path.roundRect(left, y(top + height), width, height, radius)
    return path


def arrow_path(left: float, top: float, length: float, height: float, tip: float,
               pointing: str = "right") -> PDFPathObject:
    bottom = y(top + height)
    middle = bottom + height / 2
    path = PDFPathObject()
    if pointing == "right":
        points = [(left, bottom), (left + length - tip, bottom), (left + length, middle),
                  (left + length - tip, bottom + height), (left, bottom + height)]
    else:
        points = [(left + length, bottom), (left + tip, bottom), (left, middle),
                  (left + tip, bottom + height), (left + length, bottom + height)]
    path.moveTo(*points[0])
    for point in points[1:]:
        path.lineTo(*point)
    path.close()
    return path


@lru_cache(maxsize=None)
def star_path(left: float, top: float, size: float) -> PDFPathObject:
    """A five-pointed star in the square of side ``size`` at (left, top), one point up."""
    centre_x, radius = left + size / 2, size / 2
    centre_y = y(top) - size * 0.53  # a star's visual centre sits a little below its box's
    path = PDFPathObject()
    for point in range(10):
        reach = radius if point % 2 == 0 else radius * L.STAR_INNER
        angle = math.pi / 2 + point * math.pi / 5
        x, y_ = centre_x + reach * math.cos(angle), centre_y + reach * math.sin(angle)
        if point == 0:
            path.moveTo(x, y_)
        else:
            path.lineTo(x, y_)
    path.close()
    return path
