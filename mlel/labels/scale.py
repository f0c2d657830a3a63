"""The label's scale: the A–E arrows with the black arrow at the compound's row, or, for schemes
whose levels are stars, a row of five stars filled by the compound's level. Where no level is
given (not graded, not rated) the scale carries none and a box says why; under the compound, small
print says what it rests on.
"""
from __future__ import annotations

from functools import lru_cache

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.pathobject import PDFPathObject

from mlel.base.colours import readable_text_colour
from mlel.labels import drawing as D
from mlel.labels import layout as L
from mlel.labels.content import LabelContent
from mlel.ratings import RATINGS


@lru_cache(maxsize=None)
def _scale_arrows() -> tuple[tuple[str, PDFPathObject], ...]:
    """The five arrows never change: build their paths once."""
    return tuple((rating, D.arrow_path(L.ARROW_LEFT, L.arrow_row_top(rating), L.arrow_length(rating),
                                       L.ARROW_HEIGHT, L.ARROW_TIP)) for rating in RATINGS)


def pointer_top(row: int) -> float:
    """Top of the black arrow at scale row ``row`` (0: the best level), centred on the row."""
    return L.arrow_row_top(RATINGS[row]) + (L.ARROW_HEIGHT - L.POINTER_HEIGHT) / 2


@lru_cache(maxsize=None)
def _pointer(top: float) -> PDFPathObject:
    return D.arrow_path(L.POINTER_LEFT, top, L.POINTER_WIDTH, L.POINTER_HEIGHT, L.POINTER_TIP, "left")


def pointer_center(rating: str, probability: bool = False) -> tuple[float, float]:
    """(x, y from the top) of the compound letter on the black arrow's body; with its probability
    beside it, the letter sits further left."""
    x = (L.POINTER_LEFT + L.POINTER_TIP + L.POINTER_RIGHT) / 2 - (L.POINTER_P_SHIFT if probability else 0)
    return x, L.arrow_row_top(rating) + L.ARROW_HEIGHT / 2


def star_left(position: int) -> float:
    return L.STARS_LEFT + position * (L.STAR_SIZE + L.STAR_GAP)


def stars_middle() -> float:
    """Where the black arrow of a star scale points: the middle of the row of stars."""
    return L.STARS_TOP + L.STAR_SIZE / 2


def _reason_box(canvas: Canvas, title: str, reason: str, notes: tuple[str, ...]) -> None:
    """Where no level is given: a box, right of the scale, saying so and why (wrapped)."""
    width = L.CONTENT_RIGHT - L.NOT_GRADED_LEFT
    canvas.setStrokeColor(D.color(L.ESTIMATED))
    canvas.setLineWidth(1.0)
    canvas.drawPath(D.round_rect(L.NOT_GRADED_LEFT, L.SCALE_TOP, width, L.SCALE_BOTTOM - L.SCALE_TOP,
                                 L.BADGE_RADIUS), stroke=1, fill=0)
    inner = width - 2 * L.NOT_GRADED_PAD
    x = L.NOT_GRADED_LEFT + L.NOT_GRADED_PAD
    baseline = L.SCALE_TOP + L.NOT_GRADED_PAD + L.NOT_GRADED_TITLE_SIZE
    D.text(canvas, x, baseline, title, L.FONT_BOLD, L.NOT_GRADED_TITLE_SIZE, L.ICON_DETAIL_MIN_SIZE, inner,
           L.ESTIMATED)
    step = L.NOT_GRADED_SIZE * 1.25
    room = max(int((L.SCALE_BOTTOM - baseline - L.NOT_GRADED_PAD) // step), 1)
    for paragraph, colour in [(reason, L.TEXT)] + [(note, L.MUTED) for note in notes]:
        if room <= 0:
            break
        line, font = D.printable(paragraph, L.FONT)
        lines = D.wrap_text(line, font, L.NOT_GRADED_SIZE, inner, room)
        for part in lines:
            baseline += step
            D.text(canvas, x, baseline, part, font, L.NOT_GRADED_SIZE, L.NOT_GRADED_SIZE, inner, colour)
        room -= len(lines)


def _notes(canvas: Canvas, notes: tuple[str, ...], x: float, width: float, first: float, last: float) -> None:
    """Small print, wrapped, from baseline ``first`` down to ``last`` at most."""
    baseline = first
    for note in notes:
        line, font = D.printable(note, L.FONT)
        room = int((last - baseline) // L.NOTE_LEADING) + 1
        if room <= 0:
            return
        for part in D.wrap_text(line, font, L.NOTE_SIZE_SMALL, width, room):
            D.text(canvas, x, baseline, part, font, L.NOTE_SIZE_SMALL, L.NOTE_SIZE_SMALL, width, L.MUTED)
            baseline += L.NOTE_LEADING


def _notes_beside_pointer(canvas: Canvas, notes: tuple[str, ...], top: float) -> None:
    """Under the black arrow; above it where the rows below leave too little room."""
    width = L.CONTENT_RIGHT - L.NOTES_LEFT
    lines = sum(len(D.wrap_text(note, L.FONT, L.NOTE_SIZE_SMALL, width, 8)) for note in notes)
    below = top + L.POINTER_HEIGHT + L.NOTE_SIZE_SMALL + 2
    if below + (lines - 1) * L.NOTE_LEADING <= L.NOTES_BOTTOM:
        _notes(canvas, notes, L.NOTES_LEFT, width, below, L.NOTES_BOTTOM)
    else:
        first = max(top - 3 - (lines - 1) * L.NOTE_LEADING - 1.5, L.SCALE_TOP + L.NOTE_SIZE_SMALL)
        _notes(canvas, notes, L.NOTES_LEFT, width, first, top - 4)


def _black_arrow(canvas: Canvas, top: float, label: str, probability: str, star: bool) -> None:
    """The black arrow at ``top`` carrying the compound's label (and a small star for a star
    scale), its probability right of it."""
    canvas.setFillColor(D.color(L.BLACK))
    canvas.drawPath(_pointer(top), stroke=0, fill=1)
    middle = top + L.POINTER_HEIGHT / 2
    white = D.color(L.WHITE)
    right = L.POINTER_RIGHT - 2
    if probability:  # the label moves left; its probability sits right of it
        canvas.setFillColor(white)
        canvas.setFont(L.FONT_BOLD, L.POINTER_P_SIZE)
        canvas.drawRightString(right, D.y(middle + L.POINTER_P_SIZE * 0.36), probability)
        right -= stringWidth(probability, L.FONT_BOLD, L.POINTER_P_SIZE) + 2
    label, font = D.printable(label, L.FONT_BOLD)
    canvas.setFillColor(white)
    if not star:
        x = (L.POINTER_LEFT + L.POINTER_TIP + L.POINTER_RIGHT) / 2 - (L.POINTER_P_SHIFT if probability else 0)
        size = D.fit_text(label, font, L.POINTER_LETTER_SIZE, 8, L.POINTER_WIDTH - L.POINTER_TIP - 20)[1]
        canvas.setFont(font, size)
        canvas.drawCentredString(x, D.y(middle + size * 0.36), label)
        return
    # "4" and a small star after it, the pair centred in the room the probability leaves
    left = L.POINTER_LEFT + L.POINTER_TIP
    size = L.POINTER_LETTER_SIZE
    while size > 8 and stringWidth(label, font, size) + 1 + size * STAR_SHARE > right - left:
        size -= 1
    star_size, width = size * STAR_SHARE, stringWidth(label, font, size)
    x = left + (right - left - width - 1 - star_size) / 2
    canvas.setFont(font, size)
    canvas.drawString(x, D.y(middle + size * 0.36), label)
    canvas.drawPath(D.star_path(x + width + 1, middle - star_size / 2, star_size), stroke=0, fill=1)


STAR_SHARE = 0.6  # the small star after a level's label, a share of the label's size


def _letters(canvas: Canvas, content: LabelContent) -> None:
    """Five arrows of growing length, each with its level's label (A–E, or a scheme's own)."""
    labels = content.levels.labels
    for (rating, path), label in zip(_scale_arrows(), labels):
        fill = L.UNRATED_SCALE if content.not_rated else L.COLORS[rating]
        canvas.setFillColor(D.color(fill))
        canvas.drawPath(path, stroke=0, fill=1)
        baseline = L.arrow_row_top(rating) + L.ARROW_HEIGHT / 2 + L.ARROW_LETTER_SIZE * 0.36
        D.text(canvas, L.ARROW_LEFT + L.ARROW_LETTER_INSET, baseline, label, L.FONT_BOLD, L.ARROW_LETTER_SIZE,
               L.ICON_DETAIL_MIN_SIZE, L.ARROW_MIN_LENGTH - L.ARROW_TIP - L.ARROW_LETTER_INSET,
               readable_text_colour(fill))
    if not content.compound or content.not_graded:
        return
    top = pointer_top(labels.index(content.compound))
    _black_arrow(canvas, top, content.compound, content.compound_p, False)
    if content.compound_notes:
        _notes_beside_pointer(canvas, content.compound_notes, top)


def _stars(canvas: Canvas, content: LabelContent) -> None:
    levels = content.levels
    filled = levels.stars(content.compound) if content.compound else 0
    tint = levels.color(content.compound) if content.compound else None
    canvas.setLineWidth(L.STAR_LINE_WIDTH)
    for position in range(len(levels.labels)):
        full = position < filled
        canvas.setStrokeColor(D.color(tint if full else L.UNGRADED if not content.compound else L.FRAME))
        canvas.setFillColor(D.color(tint if full else L.STAR_EMPTY))
        canvas.drawPath(D.star_path(star_left(position), L.STARS_TOP, L.STAR_SIZE), stroke=1, fill=1)
    if not content.compound or content.not_graded:
        return
    _black_arrow(canvas, stars_middle() - L.POINTER_HEIGHT / 2, content.compound, content.compound_p, True)
    if content.compound_notes:
        _notes(canvas, content.compound_notes, L.STARS_LEFT, L.NOTES_LEFT - L.STARS_LEFT,
               L.STARS_NOTES_BASELINE, L.NOTES_BOTTOM)


def draw_scale(canvas: Canvas, content: LabelContent) -> None:
    """The scale of the content's levels, its compound marked, or the reason there is none."""
    if content.levels.style == "stars":
        _stars(canvas, content)
    else:
        _letters(canvas, content)
    if content.not_graded:
        _reason_box(canvas, L.NOT_GRADED_TITLE, content.not_graded, ())
    elif content.not_rated:
        _reason_box(canvas, L.NOT_RATED_TITLE, content.not_rated, content.compound_notes)
