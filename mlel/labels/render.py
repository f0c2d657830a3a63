"""Drawing: label content -> a one-page vector PDF (reportlab) -> PNG (pypdfium2); the SVG
(:mod:`mlel.labels.svg`) is drawn by the same ``draw_label``.

``draw_label`` only draws on the canvas it is given; it reads no files and keeps no state besides
the caches of shapes, colours and QR codes that every label shares. The primitives (fitted text,
wrap, shapes) are :mod:`mlel.labels.drawing`'s, the scale :mod:`mlel.labels.scale`'s.
"""
from __future__ import annotations

import io
import threading
from functools import lru_cache

from reportlab import rl_config
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import FILL_EVEN_ODD, FILL_NON_ZERO, Canvas
from reportlab.pdfgen.pathobject import PDFPathObject

from mlel.base.colours import readable_text_colour
from mlel.labels import drawing as D
from mlel.labels import layout as L
from mlel.labels.content import INVALID, TRUST_CAPTION, Cell, LabelContent, TrustCell
from mlel.labels.drawing import ELLIPSIS, MAX_TEXT_CHARS, MISSING_GLYPH, fit_text, printable, wrap_text
from mlel.labels.levels import Levels
from mlel.labels.pictograms import TINT, pictogram
from mlel.labels.qr import qr_runs
from mlel.labels.scale import draw_scale, pointer_center
from mlel.labels.surface import Surface
from mlel.ratings import RATINGS
from mlel.tasks.properties import NOT_MEASURED

__all__ = ["ELLIPSIS", "MAX_TEXT_CHARS", "MISSING_GLYPH", "fit_text", "printable", "wrap_text", "pointer_center",
           "draw_label", "page_height", "render_pdf", "rasterise", "caption_size", "label_title", "grade_text"]

MAX_META_CHARS = 200  # the PDF's title and subject
NO_LEVEL = "\u2013"  # the badge of a metric that has no level: a grey dash, never a red E
_PDFIUM_LOCK = threading.Lock()  # pdfium is not thread-safe; ELEx may render from several threads
_A85_LOCK = threading.Lock()


@lru_cache(maxsize=256)
def _qr_path(link: str) -> tuple[int, PDFPathObject]:
    """All dark modules as one path in module units (y up): a single fill operation."""
    size, runs = qr_runs(link)
    path = PDFPathObject()
    for row, column, length in runs:
        path.rect(column, size - row - 1, length, 1)
    return size, path


def _rule(canvas: Surface, top: float) -> None:
    canvas.line(L.CONTENT_LEFT, D.y(top), L.CONTENT_RIGHT, D.y(top))


def _header(canvas: Surface, content: LabelContent) -> None:
    canvas.setFont(L.FONT_BOLD, L.TITLE_SIZE)
    canvas.setFillColor(D.color(L.BLACK))
    canvas.drawString(L.CONTENT_LEFT, D.y(L.TITLE_BASELINE), L.TITLE)
    segment = stringWidth(L.TITLE, L.FONT_BOLD, L.TITLE_SIZE) / len(RATINGS)
    for position, rating in enumerate(RATINGS):
        canvas.setFillColor(D.color(L.COLORS[rating]))
        canvas.rect(L.CONTENT_LEFT + position * segment, D.y(L.STRIP_TOP + L.STRIP_HEIGHT),
                    segment, L.STRIP_HEIGHT, stroke=0, fill=1)
    room = L.QR_LEFT - L.CONTENT_LEFT - 6
    D.text(canvas, L.CONTENT_LEFT, L.SUBTITLE_BASELINE, L.SUBTITLE, L.FONT, L.SUBTITLE_SIZE, L.SUBTITLE_SIZE,
           room, L.MUTED)
    if content.scheme:  # which scheme rated it: the same figures rate differently under another
        D.text(canvas, L.CONTENT_LEFT, L.SCHEME_BASELINE, content.scheme, L.FONT, L.SCHEME_SIZE,
               L.ICON_DETAIL_MIN_SIZE, room, L.MUTED)
    modules, path = _qr_path(content.link)
    canvas.saveState()
    canvas.translate(L.QR_LEFT, D.y(L.QR_TOP + L.QR_SIZE))
    canvas.scale(L.QR_SIZE / modules, L.QR_SIZE / modules)
    canvas.setFillColor(D.color(L.BLACK))
    canvas.drawPath(path, stroke=0, fill=1, fillMode=FILL_NON_ZERO)
    canvas.restoreState()
    D.text(canvas, L.QR_LEFT + L.QR_SIZE / 2, L.QR_CAPTION_BASELINE, content.link_caption, L.FONT,
           L.QR_CAPTION_SIZE, L.QR_CAPTION_SIZE, L.QR_SIZE + 8, L.MUTED, "centre")


def _model(canvas: Surface, content: LabelContent) -> None:
    D.text(canvas, L.CONTENT_LEFT, L.MODEL_BASELINE, content.model, L.FONT_BOLD, L.MODEL_SIZE,
           L.MODEL_MIN_SIZE, L.CONTENT_WIDTH, L.BLACK)
    D.text(canvas, L.CONTENT_LEFT, L.TASK_BASELINE, content.subtitle, L.FONT, L.TASK_SIZE, L.TASK_MIN_SIZE,
           L.CONTENT_WIDTH)


def _environment(canvas: Surface, content: LabelContent) -> None:
    D.text(canvas, L.CONTENT_LEFT, L.ENV_CAPTION_BASELINE, L.ENV_CAPTION, L.FONT, L.ENV_CAPTION_SIZE,
           L.ENV_CAPTION_SIZE, L.CONTENT_WIDTH, L.MUTED)
    if content.provenance:  # who measured or published the figures: the label does not claim them
        caption = stringWidth(L.ENV_CAPTION, L.FONT, L.ENV_CAPTION_SIZE) + 8
        D.text(canvas, L.CONTENT_RIGHT, L.ENV_CAPTION_BASELINE, content.provenance, L.FONT_BOLD,
               L.PROVENANCE_SIZE, L.ICON_DETAIL_MIN_SIZE, L.CONTENT_WIDTH - caption, L.TEXT, "right")
    D.text(canvas, L.CONTENT_LEFT, L.ENV_BASELINE, content.environment, L.FONT_BOLD, L.ENV_SIZE,
           L.ENV_MIN_SIZE, L.CONTENT_WIDTH)


def _icon(canvas: Surface, kind: str, left: float, top: float, tint: str) -> None:
    canvas.saveState()
    canvas.translate(left, D.y(top + L.ICON_SIZE))
    canvas.scale(L.ICON_SIZE, L.ICON_SIZE)
    for path, role, even_odd in pictogram(kind):
        canvas.setFillColor(D.color(tint if role == TINT else L.WHITE))
        canvas.drawPath(path, stroke=0, fill=1, fillMode=FILL_EVEN_ODD if even_odd else FILL_NON_ZERO)
    canvas.restoreState()


def _badge_width(levels: Levels) -> float:
    return L.BADGE_STAR_WIDTH if levels.style == "stars" else L.BADGE_SIZE


def _caption_width(levels: Levels) -> float:
    """Room for a tile's title: between the pictogram and the level badge."""
    return L.CELL_WIDTH - 2 * L.CELL_PAD - L.ICON_SIZE - 6 - _badge_width(levels) - 3


def caption_size(captions: list[str], width: float) -> float:
    """The one size of every tile's title: the largest (down to the minimum) at which each wraps
    into CAPTION_LINES lines without a cut word."""
    drawn = [printable(caption, L.FONT_BOLD) for caption in captions]
    size = L.ICON_CAPTION_SIZE
    while size > L.ICON_CAPTION_MIN_SIZE and not all(
            D.fits_in(text, font, size, width, L.CAPTION_LINES, hyphens=True) for text, font in drawn):
        size = round(size - 0.25, 2)
    return size


def _badge(canvas: Surface, cell: Cell, levels: Levels, right: float, top: float, tint: str) -> None:
    """The metric's own level, top right of the tile: the colour alone does not carry it for everyone."""
    width = _badge_width(levels)
    left = right - L.CELL_PAD - width
    canvas.setFillColor(D.color(tint))
    canvas.drawPath(D.round_rect(left, top + L.CELL_PAD, width, L.BADGE_SIZE, L.BADGE_RADIUS), stroke=0, fill=1)
    baseline = top + L.CELL_PAD + L.BADGE_SIZE / 2 + L.BADGE_LETTER_SIZE * 0.36
    label, font = printable(cell.rating or NO_LEVEL, L.FONT_BOLD)
    label, size = fit_text(label, font, L.BADGE_LETTER_SIZE, L.ICON_DETAIL_MIN_SIZE, width - 3)
    canvas.setFillColor(D.color(readable_text_colour(tint)))
    canvas.setFont(font, size)
    if levels.style != "stars" or not cell.rating:
        canvas.drawCentredString(left + width / 2, D.y(baseline), label)
        return
    star = L.BADGE_LETTER_SIZE * 0.85
    label_width = stringWidth(label, font, size)
    x = left + (width - label_width - 1 - star) / 2
    canvas.drawString(x, D.y(baseline), label)
    canvas.drawPath(D.star_path(x + label_width + 1, top + L.CELL_PAD + (L.BADGE_SIZE - star) / 2, star),
                    stroke=0, fill=1)


def _cell(canvas: Surface, position: int, cell: Cell, levels: Levels, title_size: float) -> None:
    if not cell.kind:  # a place no property fills
        return
    left, top = L.cell_origin(position)
    right = left + L.CELL_WIDTH
    tint = levels.color(cell.rating) or L.UNGRADED
    canvas.setStrokeColor(D.color(L.FRAME))
    canvas.setLineWidth(L.CELL_LINE_WIDTH)
    canvas.drawPath(D.round_rect(left, top, L.CELL_WIDTH, L.CELL_HEIGHT, L.CELL_RADIUS), stroke=1, fill=0)
    _icon(canvas, cell.kind, left + L.CELL_PAD, top + L.CELL_PAD, tint)
    text_left = left + L.CELL_PAD + L.ICON_SIZE + 6
    caption, font = printable(cell.caption, L.FONT_BOLD)
    baseline = top + L.ICON_CAPTION_BASELINE
    for number, line in enumerate(wrap_text(caption, font, title_size, _caption_width(levels), L.CAPTION_LINES,
                                            hyphens=True)):
        baseline = top + L.ICON_CAPTION_BASELINE + number * title_size * L.CAPTION_LEADING
        D.text(canvas, text_left, baseline, line, font, title_size, title_size, _caption_width(levels))
    detail_width = right - L.CELL_PAD - text_left
    width = L.CELL_WIDTH - 2 * L.CELL_PAD
    x = left + L.CELL_PAD
    detail, detail_style = cell.detail, (L.FONT_BOLD if cell.estimated else L.FONT, L.ESTIMATED if cell.estimated
                                         else L.MUTED)
    interval, reason = cell.interval, f"Not rated: {cell.not_rated}" if cell.not_rated else ""
    if reason and not detail:  # why the metric has no level: in the first free place
        detail, detail_style, reason = reason, (L.FONT, L.MUTED), ""
    if detail:
        detail, font = printable(detail, detail_style[0])
        baseline += L.ICON_DETAIL_GAP + 2
        for line in wrap_text(detail, font, L.ICON_DETAIL_SIZE, detail_width, L.DETAIL_LINES):
            D.text(canvas, text_left, baseline, line, font, L.ICON_DETAIL_SIZE, L.ICON_DETAIL_MIN_SIZE,
                   detail_width, detail_style[1])
            baseline += L.ICON_DETAIL_LEADING
    D.text(canvas, x, top + L.VALUE_BASELINE, cell.value, L.FONT_BOLD, L.VALUE_SIZE, L.VALUE_MIN_SIZE, width, L.BLACK)
    if interval or reason:
        D.text(canvas, x, top + L.INTERVAL_BASELINE, interval or reason, L.FONT, L.INTERVAL_SIZE,
               L.INTERVAL_MIN_SIZE, width, L.TEXT if interval else L.MUTED)
    D.text(canvas, x, top + L.NOTE_BASELINE, cell.note, L.FONT, L.NOTE_SIZE, L.SECOND_MIN_SIZE, width, L.MUTED)
    D.text(canvas, x, top + L.SECOND_BASELINE, cell.second, L.FONT, L.SECOND_SIZE, L.SECOND_MIN_SIZE, width)
    _badge(canvas, cell, levels, right, top, tint)  # last: text extraction keeps the title in one piece


def _trust_tile(canvas: Surface, left: float, cell: TrustCell, levels: Levels) -> None:
    top, width = L.TRUST_TILE_TOP, L.TRUST_TILE_WIDTH
    canvas.setStrokeColor(D.color(L.FRAME))
    canvas.setLineWidth(L.CELL_LINE_WIDTH)
    canvas.drawPath(D.round_rect(left, top, width, L.TRUST_TILE_HEIGHT, L.CELL_RADIUS), stroke=1, fill=0)
    inner = width - 2 * L.TRUST_PAD
    name, font = printable(cell.caption, L.FONT_BOLD)
    for number, line in enumerate(wrap_text(name, font, L.TRUST_NAME_SIZE, inner, 2)):
        D.text(canvas, left + L.TRUST_PAD, top + L.TRUST_NAME_BASELINE + number * L.TRUST_NAME_LEADING, line, font,
               L.TRUST_NAME_SIZE, L.FOOTER_MIN_SIZE, inner)
    if cell.value in (NOT_MEASURED, INVALID):  # no value, no badge: nothing to be rated
        D.text(canvas, left + L.TRUST_PAD, top + L.TRUST_VALUE_BASELINE, cell.value, L.FONT, L.TRUST_MISSING_SIZE,
               L.FOOTER_MIN_SIZE, inner, L.MUTED)
        return
    room = inner - _badge_width(levels) - 3
    D.text(canvas, left + L.TRUST_PAD, top + L.TRUST_VALUE_BASELINE, cell.value, L.FONT_BOLD, L.TRUST_VALUE_SIZE,
           L.TRUST_VALUE_MIN_SIZE, room, L.BLACK)
    # the tiles' badge, placed by its (right, top) as _badge reads them
    _badge(canvas, cell, levels, left + width - L.TRUST_PAD + L.CELL_PAD, top + L.TRUST_BADGE_TOP - L.CELL_PAD,
           levels.color(cell.rating) or L.UNGRADED)


def _trust(canvas: Surface, content: LabelContent) -> None:
    """The trust strip: a caption, whether it counts in the compound, and one small tile per property."""
    half = L.CONTENT_WIDTH / 2
    D.text(canvas, L.CONTENT_LEFT, L.TRUST_CAPTION_BASELINE, TRUST_CAPTION, L.FONT_BOLD, L.TRUST_CAPTION_SIZE,
           L.FOOTER_MIN_SIZE, half, L.TEXT)
    D.text(canvas, L.CONTENT_RIGHT, L.TRUST_CAPTION_BASELINE, content.trust_note, L.FONT, L.TRUST_NOTE_SIZE,
           L.FOOTER_MIN_SIZE, half - 4, L.MUTED, "right")
    for position, cell in enumerate(content.trust[:4]):
        _trust_tile(canvas, L.CONTENT_LEFT + position * (L.TRUST_TILE_WIDTH + L.TRUST_TILE_GAP), cell, content.levels)


def trust_height(content: LabelContent) -> float:
    """How much taller the page is for the trust strip: 0 for a label without one."""
    return L.TRUST_HEIGHT if content.trust else 0.0


def page_height(content: LabelContent) -> float:
    return L.PAGE_HEIGHT + trust_height(content)


def _footer(canvas: Surface, content: LabelContent, below: float = 0.0) -> None:
    half = L.CONTENT_WIDTH / 2 - 4
    D.text(canvas, L.CONTENT_LEFT, L.FOOTER_BASELINE + below, content.footer_left, L.FONT, L.FOOTER_SIZE,
           L.FOOTER_MIN_SIZE, half, L.MUTED)
    D.text(canvas, L.CONTENT_RIGHT, L.FOOTER_BASELINE + below, content.footer_right, L.FONT, L.FOOTER_SIZE,
           L.FOOTER_MIN_SIZE, half, L.MUTED, "right")


def draw_label(canvas: Surface, content: LabelContent) -> None:
    """Draw the whole label on the current page of ``canvas`` (PAGE_WIDTH x PAGE_HEIGHT points):
    a reportlab Canvas (the PDF) or an SvgCanvas (the SVG), the same calls on both. With a trust
    strip the page is :func:`trust_height` taller: everything is shifted up by it, so the layout's
    positions (from the top) hold, and the strip and the footer sit in the room below the grid."""
    extra = trust_height(content)
    if extra:
        canvas.translate(0, extra)
    canvas.setStrokeColor(D.color(L.BLACK))
    canvas.setLineWidth(L.BORDER_WIDTH)
    canvas.drawPath(D.round_rect(L.BORDER_INSET, L.BORDER_INSET, L.PAGE_WIDTH - 2 * L.BORDER_INSET,
                                 L.PAGE_HEIGHT + extra - 2 * L.BORDER_INSET, L.BORDER_RADIUS), stroke=1, fill=0)
    canvas.setLineWidth(L.RULE_WIDTH)
    for top in (L.HEADER_RULE, L.MODEL_RULE, L.ENV_RULE):
        _rule(canvas, top)
    _header(canvas, content)
    _model(canvas, content)
    draw_scale(canvas, content)
    _environment(canvas, content)
    title_size = caption_size([c.caption[:MAX_TEXT_CHARS] for c in content.cells if c.kind],
                              _caption_width(content.levels))
    for position, cell in enumerate(content.cells):
        _cell(canvas, position, cell, content.levels, title_size)
    if content.trust:
        _trust(canvas, content)
    _footer(canvas, content, extra)


def _short(text: str) -> str:
    return text if len(text) <= MAX_META_CHARS else text[:MAX_META_CHARS] + ELLIPSIS


def label_title(content: LabelContent) -> str:
    """ "Energy label: ResNet50 (inference)": the PDF's title, the SVG's too."""
    return f"Energy label: {_short(content.model)} ({content.task.lower()})"


def grade_text(content: LabelContent) -> str:
    """ "compound rating B" / "compound rating 4 of 5 stars" / "not graded" / "not rated"."""
    if not content.compound:
        return "not graded" if content.not_graded else "not rated"
    if content.levels.style == "stars":
        return f"compound rating {content.compound} of {len(content.levels.labels)} stars"
    return f"compound rating {content.compound}"


def render_pdf(content: LabelContent) -> bytes:
    """One portrait page of vectors (base-14 fonts; DejaVu Sans embedded for text outside WinAnsi);
    the same content gives the same bytes."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(L.PAGE_WIDTH, page_height(content)), pageCompression=1, invariant=1)
    canvas.setTitle(label_title(content))
    canvas.setAuthor("MLEE")
    canvas.setSubject(f"{_short(content.environment)}; {grade_text(content)}")
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
