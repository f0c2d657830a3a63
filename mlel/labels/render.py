"""Drawing: label content -> a one-page vector PDF (reportlab) -> PNG (pypdfium2).

``draw_label`` only draws on the canvas it is given; it reads no files and keeps no state besides
the caches of shapes, colours and QR codes that every label shares.
"""
from __future__ import annotations

import io
import threading
from functools import lru_cache
from pathlib import Path

from reportlab import rl_config
from reportlab.lib.colors import HexColor
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import FILL_EVEN_ODD, FILL_NON_ZERO, Canvas
from reportlab.pdfgen.pathobject import PDFPathObject

from mlel.labels import layout as L
from mlel.labels.fonts import unicode_font as _unicode_font
from mlel.labels.content import Cell, LabelContent
from mlel.labels.pictograms import TINT, pictogram
from mlel.labels.qr import qr_runs
from mlel.ratings import RATINGS

ELLIPSIS = "\u2026"
MISSING_GLYPH = "\ufffd"  # Unicode's replacement character: visibly not part of the name
MISSING_GLYPH_WINANSI = "[?]"  # the same, where only the base-14 fonts are there
MAX_TEXT_CHARS = 1000  # more than any line of the label shows at its smallest size (~340 "i"s)
MAX_META_CHARS = 200  # the PDF's title and subject
_PDFIUM_LOCK = threading.Lock()  # pdfium is not thread-safe; ELEx may render from several threads
_A85_LOCK = threading.Lock()


@lru_cache(maxsize=None)
def _color(hex_code: str) -> HexColor:
    return HexColor(hex_code)


def _y(top: float) -> float:
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


def _text(canvas: Canvas, x: float, baseline: float, text: str, font: str, size: float,
          min_size: float, width: float, color: str = L.TEXT, align: str = "left") -> None:
    text, font = printable(text[:MAX_TEXT_CHARS + 1], font)  # one more: fit_text sees it is cut
    text, size = fit_text(text, font, size, min_size, width)
    canvas.setFont(font, size)
    canvas.setFillColor(_color(color))
    y = _y(baseline)
    if align == "left":
        canvas.drawString(x, y, text)
    elif align == "right":
        canvas.drawRightString(x, y, text)
    else:
        canvas.drawCentredString(x, y, text)


# --- shapes -----------------------------------------------------------------------------------

def _arrow_path(left: float, top: float, length: float, height: float, tip: float,
                pointing: str = "right") -> PDFPathObject:
    bottom = _y(top + height)
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
def _scale_arrows() -> tuple[tuple[str, PDFPathObject], ...]:
    """The five coloured arrows never change: build their paths once."""
    return tuple((rating, _arrow_path(L.ARROW_LEFT, L.arrow_row_top(rating), L.arrow_length(rating),
                                      L.ARROW_HEIGHT, L.ARROW_TIP)) for rating in RATINGS)


@lru_cache(maxsize=None)
def _pointer(rating: str) -> PDFPathObject:
    top = L.arrow_row_top(rating) + (L.ARROW_HEIGHT - L.POINTER_HEIGHT) / 2  # centred on the row
    return _arrow_path(L.POINTER_LEFT, top, L.POINTER_WIDTH, L.POINTER_HEIGHT, L.POINTER_TIP, "left")


@lru_cache(maxsize=256)
def _qr_path(link: str) -> tuple[int, PDFPathObject]:
    """All dark modules as one path in module units (y up): a single fill operation."""
    size, runs = qr_runs(link)
    path = PDFPathObject()
    for row, column, length in runs:
        path.rect(column, size - row - 1, length, 1)
    return size, path


@lru_cache(maxsize=None)
def _round_rect(left: float, top: float, width: float, height: float, radius: float) -> PDFPathObject:
    """Rounded rectangles sit at fixed places: build each path (eight curves) once."""
    path = PDFPathObject()
    path.roundRect(left, _y(top + height), width, height, radius)
    return path


def pointer_center(rating: str, probability: bool = False) -> tuple[float, float]:
    """(x, y from the top) of the compound letter on the black arrow's body; with its probability
    beside it, the letter sits further left."""
    x = (L.POINTER_LEFT + L.POINTER_TIP + L.POINTER_RIGHT) / 2 - (L.POINTER_P_SHIFT if probability else 0)
    return x, L.arrow_row_top(rating) + L.ARROW_HEIGHT / 2


# --- parts of the label -----------------------------------------------------------------------

def _rule(canvas: Canvas, top: float) -> None:
    canvas.line(L.CONTENT_LEFT, _y(top), L.CONTENT_RIGHT, _y(top))


def _header(canvas: Canvas, content: LabelContent) -> None:
    canvas.setFont(L.FONT_BOLD, L.TITLE_SIZE)
    canvas.setFillColor(_color(L.BLACK))
    canvas.drawString(L.CONTENT_LEFT, _y(L.TITLE_BASELINE), L.TITLE)
    segment = stringWidth(L.TITLE, L.FONT_BOLD, L.TITLE_SIZE) / len(RATINGS)
    for position, rating in enumerate(RATINGS):
        canvas.setFillColor(_color(L.COLORS[rating]))
        canvas.rect(L.CONTENT_LEFT + position * segment, _y(L.STRIP_TOP + L.STRIP_HEIGHT),
                    segment, L.STRIP_HEIGHT, stroke=0, fill=1)
    _text(canvas, L.CONTENT_LEFT, L.SUBTITLE_BASELINE, L.SUBTITLE, L.FONT, L.SUBTITLE_SIZE,
          L.SUBTITLE_SIZE, L.QR_LEFT - L.CONTENT_LEFT - 6, L.MUTED)
    modules, path = _qr_path(content.link)
    canvas.saveState()
    canvas.translate(L.QR_LEFT, _y(L.QR_TOP + L.QR_SIZE))
    canvas.scale(L.QR_SIZE / modules, L.QR_SIZE / modules)
    canvas.setFillColor(_color(L.BLACK))
    canvas.drawPath(path, stroke=0, fill=1, fillMode=FILL_NON_ZERO)
    canvas.restoreState()
    _text(canvas, L.QR_LEFT + L.QR_SIZE / 2, L.QR_CAPTION_BASELINE, content.link_caption, L.FONT,
          L.QR_CAPTION_SIZE, L.QR_CAPTION_SIZE, L.QR_SIZE + 8, L.MUTED, "centre")


def _model(canvas: Canvas, content: LabelContent) -> None:
    _text(canvas, L.CONTENT_LEFT, L.MODEL_BASELINE, content.model, L.FONT_BOLD, L.MODEL_SIZE,
          L.MODEL_MIN_SIZE, L.CONTENT_WIDTH, L.BLACK)
    _text(canvas, L.CONTENT_LEFT, L.TASK_BASELINE, content.task + L.TASK_SEPARATOR + content.dataset,
          L.FONT, L.TASK_SIZE, L.TASK_MIN_SIZE, L.CONTENT_WIDTH)


def wrap_text(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap into at most ``max_lines`` lines of ``width``; the last line cut with "…"."""
    lines: list[str] = []
    for word in text[:MAX_TEXT_CHARS].split():
        if lines and stringWidth(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [" ".join(lines[max_lines - 1:])]
    return [fit_text(line, font, size, size, width)[0] for line in lines]


def _not_graded(canvas: Canvas, reason: str) -> None:
    """Where a validity gate failed there is no letter: a box saying so, with the reason."""
    width = L.CONTENT_RIGHT - L.NOT_GRADED_LEFT
    canvas.setStrokeColor(_color(L.ESTIMATED))
    canvas.setLineWidth(1.0)
    canvas.drawPath(_round_rect(L.NOT_GRADED_LEFT, L.SCALE_TOP, width, L.SCALE_BOTTOM - L.SCALE_TOP,
                                L.BADGE_RADIUS), stroke=1, fill=0)
    inner = width - 2 * L.NOT_GRADED_PAD
    x = L.NOT_GRADED_LEFT + L.NOT_GRADED_PAD
    baseline = L.SCALE_TOP + L.NOT_GRADED_PAD + L.NOT_GRADED_TITLE_SIZE
    _text(canvas, x, baseline, L.NOT_GRADED_TITLE, L.FONT_BOLD, L.NOT_GRADED_TITLE_SIZE,
          L.ICON_DETAIL_MIN_SIZE, inner, L.ESTIMATED)
    step = L.NOT_GRADED_SIZE * 1.25
    room = int((L.SCALE_BOTTOM - baseline - L.NOT_GRADED_PAD) // step)
    text, font = printable(reason, L.FONT)
    for line in wrap_text(text, font, L.NOT_GRADED_SIZE, inner, max(room, 1)):
        baseline += step
        _text(canvas, x, baseline, line, font, L.NOT_GRADED_SIZE, L.NOT_GRADED_SIZE, inner, L.TEXT)


def _scale(canvas: Canvas, compound: str, probability: str = "", not_graded: str = "") -> None:
    canvas.setFont(L.FONT_BOLD, L.ARROW_LETTER_SIZE)
    white = _color(L.WHITE)
    for rating, path in _scale_arrows():
        canvas.setFillColor(_color(L.COLORS[rating]))
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.setFillColor(white)
        baseline = L.arrow_row_top(rating) + L.ARROW_HEIGHT / 2 + L.ARROW_LETTER_SIZE * 0.36
        canvas.drawString(L.ARROW_LEFT + L.ARROW_LETTER_INSET, _y(baseline), rating)
    if not_graded:
        _not_graded(canvas, not_graded)
        return
    canvas.setFillColor(_color(L.BLACK))
    canvas.drawPath(_pointer(compound), stroke=0, fill=1)
    x, middle = pointer_center(compound, bool(probability))
    if probability:  # the letter moves left; its probability sits right of it
        canvas.setFillColor(white)
        canvas.setFont(L.FONT_BOLD, L.POINTER_P_SIZE)
        canvas.drawRightString(L.POINTER_RIGHT - 2, _y(middle + L.POINTER_P_SIZE * 0.36), probability)
    canvas.setFillColor(white)
    canvas.setFont(L.FONT_BOLD, L.POINTER_LETTER_SIZE)
    canvas.drawCentredString(x, _y(middle + L.POINTER_LETTER_SIZE * 0.36), compound)


def _environment(canvas: Canvas, content: LabelContent) -> None:
    _text(canvas, L.CONTENT_LEFT, L.ENV_CAPTION_BASELINE, L.ENV_CAPTION, L.FONT, L.ENV_CAPTION_SIZE,
          L.ENV_CAPTION_SIZE, L.CONTENT_WIDTH, L.MUTED)
    if content.provenance:  # who measured or published the figures: the label does not claim them
        caption = stringWidth(L.ENV_CAPTION, L.FONT, L.ENV_CAPTION_SIZE) + 8
        _text(canvas, L.CONTENT_RIGHT, L.ENV_CAPTION_BASELINE, content.provenance, L.FONT_BOLD,
              L.PROVENANCE_SIZE, L.ICON_DETAIL_MIN_SIZE, L.CONTENT_WIDTH - caption, L.TEXT, "right")
    _text(canvas, L.CONTENT_LEFT, L.ENV_BASELINE, content.environment, L.FONT_BOLD, L.ENV_SIZE,
          L.ENV_MIN_SIZE, L.CONTENT_WIDTH)


def _icon(canvas: Canvas, kind: str, left: float, top: float, tint: str) -> None:
    canvas.saveState()
    canvas.translate(left, _y(top + L.ICON_SIZE))
    canvas.scale(L.ICON_SIZE, L.ICON_SIZE)
    for path, role, even_odd in pictogram(kind):
        canvas.setFillColor(_color(tint if role == TINT else L.WHITE))
        canvas.drawPath(path, stroke=0, fill=1, fillMode=FILL_EVEN_ODD if even_odd else FILL_NON_ZERO)
    canvas.restoreState()


def _cell(canvas: Canvas, position: int, cell: Cell) -> None:
    left, top = L.cell_origin(position)
    right = left + L.CELL_WIDTH
    tint = L.COLORS.get(cell.rating, L.UNGRADED)
    canvas.setStrokeColor(_color(L.FRAME))
    canvas.setLineWidth(L.CELL_LINE_WIDTH)
    canvas.drawPath(_round_rect(left, top, L.CELL_WIDTH, L.CELL_HEIGHT, L.CELL_RADIUS), stroke=1, fill=0)
    _icon(canvas, cell.kind, left + L.CELL_PAD, top + L.CELL_PAD, tint)
    # the metric's own rating, as a letter: the colour alone does not carry it for everyone
    badge_left = right - L.CELL_PAD - L.BADGE_SIZE
    canvas.setFillColor(_color(tint))
    canvas.drawPath(_round_rect(badge_left, top + L.CELL_PAD, L.BADGE_SIZE, L.BADGE_SIZE, L.BADGE_RADIUS),
                    stroke=0, fill=1)
    canvas.setFillColor(_color(L.WHITE))
    canvas.setFont(L.FONT_BOLD, L.BADGE_LETTER_SIZE)
    canvas.drawCentredString(badge_left + L.BADGE_SIZE / 2,
                             _y(top + L.CELL_PAD + L.BADGE_SIZE / 2 + L.BADGE_LETTER_SIZE * 0.36),
                             cell.rating or "\u2013")
    text_left = left + L.CELL_PAD + L.ICON_SIZE + 6
    caption_width = badge_left - 3 - text_left
    _text(canvas, text_left, top + L.ICON_CAPTION_BASELINE, cell.caption, L.FONT_BOLD,
          L.ICON_CAPTION_SIZE, L.ICON_DETAIL_MIN_SIZE, caption_width)
    if cell.detail:
        _text(canvas, text_left, top + L.ICON_DETAIL_BASELINE, cell.detail,
              L.FONT_BOLD if cell.estimated else L.FONT, L.ICON_DETAIL_SIZE, L.ICON_DETAIL_MIN_SIZE,
              right - L.CELL_PAD - text_left, L.ESTIMATED if cell.estimated else L.MUTED)
    if cell.uncertainty:
        _text(canvas, text_left, top + L.ICON_UNCERTAINTY_BASELINE, cell.uncertainty, L.FONT_BOLD,
              L.ICON_DETAIL_SIZE, L.ICON_DETAIL_MIN_SIZE, right - L.CELL_PAD - text_left, L.ESTIMATED)
    width = L.CELL_WIDTH - 2 * L.CELL_PAD
    x = left + L.CELL_PAD
    _text(canvas, x, top + L.VALUE_BASELINE, cell.value, L.FONT_BOLD, L.VALUE_SIZE, L.VALUE_MIN_SIZE,
          width, L.BLACK)
    if cell.interval:
        _text(canvas, x, top + L.INTERVAL_BASELINE, cell.interval, L.FONT, L.INTERVAL_SIZE,
              L.INTERVAL_MIN_SIZE, width, L.TEXT)
    _text(canvas, x, top + L.NOTE_BASELINE, cell.note, L.FONT, L.NOTE_SIZE, L.SECOND_MIN_SIZE, width, L.MUTED)
    _text(canvas, x, top + L.SECOND_BASELINE, cell.second, L.FONT, L.SECOND_SIZE, L.SECOND_MIN_SIZE, width)


def _footer(canvas: Canvas, content: LabelContent) -> None:
    half = L.CONTENT_WIDTH / 2 - 4
    _text(canvas, L.CONTENT_LEFT, L.FOOTER_BASELINE, content.footer_left, L.FONT, L.FOOTER_SIZE,
          L.FOOTER_MIN_SIZE, half, L.MUTED)
    _text(canvas, L.CONTENT_RIGHT, L.FOOTER_BASELINE, content.footer_right, L.FONT, L.FOOTER_SIZE,
          L.FOOTER_MIN_SIZE, half, L.MUTED, "right")


def draw_label(canvas: Canvas, content: LabelContent) -> None:
    """Draw the whole label on the current page of ``canvas`` (PAGE_WIDTH x PAGE_HEIGHT points)."""
    canvas.setStrokeColor(_color(L.BLACK))
    canvas.setLineWidth(L.BORDER_WIDTH)
    canvas.drawPath(_round_rect(L.BORDER_INSET, L.BORDER_INSET, L.PAGE_WIDTH - 2 * L.BORDER_INSET,
                                L.PAGE_HEIGHT - 2 * L.BORDER_INSET, L.BORDER_RADIUS), stroke=1, fill=0)
    canvas.setLineWidth(L.RULE_WIDTH)
    for top in (L.HEADER_RULE, L.MODEL_RULE, L.ENV_RULE):
        _rule(canvas, top)
    _header(canvas, content)
    _model(canvas, content)
    _scale(canvas, content.compound, content.compound_p, content.not_graded)
    _environment(canvas, content)
    for position, cell in enumerate(content.cells):
        _cell(canvas, position, cell)
    _footer(canvas, content)


def _short(text: str) -> str:
    return text if len(text) <= MAX_META_CHARS else text[:MAX_META_CHARS] + ELLIPSIS


def render_pdf(content: LabelContent) -> bytes:
    """One portrait page of vectors (base-14 fonts; DejaVu Sans embedded for text outside WinAnsi);
    the same content gives the same bytes."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(L.PAGE_WIDTH, L.PAGE_HEIGHT), pageCompression=1, invariant=1)
    canvas.setTitle(f"Energy label: {_short(content.model)} ({content.task.lower()})")
    canvas.setAuthor("MLEE")
    grade = f"compound rating {content.compound}" if content.compound else "not graded"
    canvas.setSubject(f"{_short(content.environment)}; {grade}")
    draw_label(canvas, content)
    # reportlab wraps compressed streams in ASCII85 by default: pure Python, a third of the time,
    # and 25 % larger files. Binary streams are standard PDF; the switch is read while saving.
    with _A85_LOCK:  # a process-wide switch: threads (ELEx) must not restore it under each other
        a85 = rl_config.useA85
        rl_config.useA85 = 0
        try:
            canvas.showPage()
            canvas.save()
        finally:
            rl_config.useA85 = a85
    return buffer.getvalue()


def rasterise(pdf: bytes, dpi: float = 150) -> bytes:
    """The first page of a PDF as PNG bytes (RGB, white background)."""
    import pypdfium2 as pdfium  # only the PNG needs it

    if dpi <= 0:
        raise ValueError(f"dpi must be positive, got {dpi}")
    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            page = document[0]
            image = page.render(scale=dpi / 72).to_pil()
            page.close()
        finally:
            document.close()
    buffer = io.BytesIO()
    # level 1: files as small as the default level 6 for flat label art, four times faster
    image.save(buffer, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return buffer.getvalue()
