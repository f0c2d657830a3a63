"""Where everything on the label goes: named constants in PDF points (1/72 in).

Positions are measured from the page's *top* edge (``*_TOP``, ``*_BASELINE``), as one reads the
label; ``render`` converts them to PDF coordinates (origin bottom left). Change the look here.
"""
from __future__ import annotations

from mlel.ratings import RATING_COLORS, RATINGS

# --- page -------------------------------------------------------------------------------------
PAGE_WIDTH = 288.0  # 4 in x 7.67 in: the tall, narrow proportions of the EU label
PAGE_HEIGHT = 552.0
MARGIN = 16.0  # content inset from the page edge
CONTENT_LEFT = MARGIN
CONTENT_RIGHT = PAGE_WIDTH - MARGIN
CONTENT_WIDTH = CONTENT_RIGHT - CONTENT_LEFT
BORDER_INSET = 6.0
BORDER_RADIUS = 9.0
BORDER_WIDTH = 1.4
RULE_WIDTH = 0.7

# --- fonts (PDF base-14: nothing to embed or load, any viewer has them) ------------------------
FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"

# --- colours ----------------------------------------------------------------------------------
BLACK = "#000000"
WHITE = "#FFFFFF"
TEXT = "#1A1A1A"
MUTED = "#5F6368"  # captions, units, footer
FRAME = "#B5B5B5"  # pictogram cell outlines
ESTIMATED = "#B3261E"  # the word "estimated" stands out
UNGRADED = "#9E9E9E"  # the tiles of an entry that is not graded: no rating colour
UNRATED_SCALE = "#D0D0D0"  # the scale of an entry that is not rated: no level stands out
COLORS = RATING_COLORS  # the rating palette (mlel.ratings: SPEC §6's hues, apart for colour-blind readers)

# --- header: title, colour strip, subtitle, QR code --------------------------------------------
TITLE = "ENERGY"
TITLE_SIZE = 34.0
TITLE_BASELINE = 50.0
STRIP_TOP = 57.0  # the five rating colours under the title, as a mark of the scale below
STRIP_HEIGHT = 5.0
SUBTITLE = "Machine learning energy efficiency"
SUBTITLE_SIZE = 7.5
SUBTITLE_BASELINE = 74.0
QR_SIZE = 62.0
QR_TOP = 17.0
QR_LEFT = CONTENT_RIGHT - QR_SIZE
QR_CAPTION_SIZE = 5.5
QR_CAPTION_BASELINE = QR_TOP + QR_SIZE + 7.0
SCHEME_SIZE = 6.5  # "Rated by MLEE (honest)", under the subtitle
SCHEME_BASELINE = 84.5
HEADER_RULE = 92.0

# --- model, task and dataset ------------------------------------------------------------------
MODEL_BASELINE = 118.0
MODEL_SIZE = 20.0  # largest size; long names shrink down to MODEL_MIN_SIZE, then are cut with "…"
MODEL_MIN_SIZE = 6.0
TASK_BASELINE = 134.0
TASK_SIZE = 10.0
TASK_MIN_SIZE = 6.0
MODEL_RULE = 144.0

# --- the A-E scale ----------------------------------------------------------------------------
SCALE_TOP = 154.0
ARROW_HEIGHT = 22.0
ARROW_GAP = 5.0
ARROW_LEFT = CONTENT_LEFT
ARROW_MIN_LENGTH = 92.0  # arrow A; each further rating is ARROW_STEP longer
ARROW_STEP = 21.0
ARROW_TIP = ARROW_HEIGHT / 2  # depth of the pointed end
ARROW_LETTER_SIZE = 16.0
ARROW_LETTER_INSET = 8.0
POINTER_WIDTH = 62.0  # the black arrow with the compound rating, pointing left at its row
POINTER_HEIGHT = 30.0
POINTER_TIP = POINTER_HEIGHT / 2
POINTER_RIGHT = CONTENT_RIGHT
POINTER_LEFT = POINTER_RIGHT - POINTER_WIDTH
POINTER_LETTER_SIZE = 24.0
POINTER_P_SIZE = 6.0  # the compound letter's probability ("87 %"), right of the letter
POINTER_P_SHIFT = 6.0  # the letter moves left by this much to make room
NOT_GRADED_LEFT = 200.0  # the box that replaces the black arrow where no grade is given
NOT_GRADED_TITLE = "NOT GRADED"
NOT_RATED_TITLE = "NOT RATED"
NOT_GRADED_TITLE_SIZE = 8.0
NOT_GRADED_SIZE = 6.0
NOT_GRADED_PAD = 4.0
SCALE_BOTTOM = SCALE_TOP + len(RATINGS) * ARROW_HEIGHT + (len(RATINGS) - 1) * ARROW_GAP
NOTE_SIZE_SMALL = 5.8  # under the compound: what it rests on, how the boundaries were made
NOTE_LEADING = 7.0
NOTES_LEFT = ARROW_LEFT + ARROW_MIN_LENGTH + (len(RATINGS) - 1) * ARROW_STEP + 5.0  # clear of arrow E
NOTES_BOTTOM = SCALE_BOTTOM + 8.0  # the last line's baseline, above the environment's rule
# stars (schemes whose levels are stars): one row of five, the compound's filled, in its colour
STAR_SIZE = 32.0
STAR_GAP = 4.0
STAR_INNER = 0.42  # the inner corners' radius, a share of the points'
STARS_LEFT = ARROW_LEFT
STARS_TOP = SCALE_TOP + 40.0
STAR_LINE_WIDTH = 1.0
STAR_EMPTY = "#FFFFFF"
STARS_NOTES_BASELINE = STARS_TOP + STAR_SIZE + 16.0  # the compound's notes, under the stars

# --- environment ------------------------------------------------------------------------------
ENV_RULE = SCALE_BOTTOM + 12.0
ENV_CAPTION = "Environment"
ENV_CAPTION_SIZE = 7.0
ENV_CAPTION_BASELINE = ENV_RULE + 13.0
PROVENANCE_SIZE = 7.0  # "reported by ML.ENERGY leaderboard", right of the caption
ENV_SIZE = 11.0
ENV_MIN_SIZE = 5.5
ENV_BASELINE = ENV_RULE + 27.0

# --- 2x2 pictogram grid -----------------------------------------------------------------------
GRID_TOP = ENV_BASELINE + 12.0
GRID_GAP = 8.0
CELL_WIDTH = (CONTENT_WIDTH - GRID_GAP) / 2
CELL_HEIGHT = 90.0
CELL_RADIUS = 5.0
CELL_LINE_WIDTH = 0.7
CELL_PAD = 7.0
ICON_SIZE = 30.0  # tinted disc with a white symbol, at the cell's top left
ICON_CAPTION_SIZE = 8.0  # the property's name, next to the icon: one size in every tile
ICON_CAPTION_MIN_SIZE = 6.0  # all four shrink together to here, in up to CAPTION_LINES lines
CAPTION_LINES = 2
CAPTION_LEADING = 1.12  # line pitch of a caption, in font sizes
ICON_CAPTION_BASELINE = 13.0  # from the cell's top
ICON_DETAIL_SIZE = 6.3  # "Sources: GPU, CPU (estimated ± 15 %)", under the caption, up to two lines
ICON_DETAIL_GAP = 9.0  # from the caption's last baseline to the detail's first
ICON_DETAIL_LEADING = 8.0
DETAIL_LINES = 2
ICON_DETAIL_BASELINE = ICON_CAPTION_BASELINE + ICON_DETAIL_GAP + 2.0  # under a one-line caption
ICON_DETAIL_MIN_SIZE = 4.5
BADGE_SIZE = 12.0  # the metric's own rating letter, top right of the cell
BADGE_STAR_WIDTH = 19.0  # a level of stars: its label and a small star
BADGE_RADIUS = 2.5
BADGE_LETTER_SIZE = 8.5
VALUE_SIZE = 15.0  # the main figure
VALUE_MIN_SIZE = 7.0
VALUE_BASELINE = 55.0
INTERVAL_SIZE = 6.3  # "95 % CI lo – hi" right under the main figure, where >= 2 runs
INTERVAL_MIN_SIZE = 4.5
INTERVAL_BASELINE = 64.0
NOTE_SIZE = 7.0  # what the main figure is ("per sample", "full training", "reported")
NOTE_BASELINE = 73.0
SECOND_SIZE = 8.0  # the second figure (per epoch, top-5, GFLOPs)
SECOND_MIN_SIZE = 5.0
SECOND_BASELINE = 84.0
GRID_BOTTOM = GRID_TOP + 2 * CELL_HEIGHT + GRID_GAP

# --- trust strip (issue 28): four small tiles under the grid; the page grows by TRUST_HEIGHT -----
TRUST_TOP = GRID_BOTTOM + 4.0
TRUST_CAPTION_SIZE = 6.5  # "Trust: calibration and robustness", and the weight note on the right
TRUST_NOTE_SIZE = 5.8
TRUST_CAPTION_BASELINE = TRUST_TOP + 8.0
TRUST_TILE_TOP = TRUST_TOP + 13.0
TRUST_TILE_HEIGHT = 36.0
TRUST_TILE_GAP = 4.0
TRUST_TILE_WIDTH = (CONTENT_WIDTH - 3 * TRUST_TILE_GAP) / 4
TRUST_PAD = 4.0
TRUST_NAME_SIZE = 5.8  # the property's name, in up to two lines (the footer's size: the label's smallest)
TRUST_NAME_LEADING = 6.6
TRUST_NAME_BASELINE = 8.0  # from the tile's top
TRUST_VALUE_SIZE = 9.0
TRUST_VALUE_MIN_SIZE = 5.0
TRUST_VALUE_BASELINE = 29.0
TRUST_MISSING_SIZE = 6.5  # "not measured"
TRUST_BADGE_TOP = 19.0  # the level's badge (BADGE_SIZE), right of the value
TRUST_HEIGHT = TRUST_TILE_TOP + TRUST_TILE_HEIGHT + 2.0 - GRID_BOTTOM

# --- footer -----------------------------------------------------------------------------------
FOOTER_SIZE = 5.8
FOOTER_MIN_SIZE = 4.0
FOOTER_BASELINE = GRID_BOTTOM + 11.0


def arrow_row_top(rating: str) -> float:
    """Top of the scale row of a rating (A first), from the page's top."""
    return SCALE_TOP + RATINGS.index(rating) * (ARROW_HEIGHT + ARROW_GAP)


def arrow_length(rating: str) -> float:
    """Arrows grow with the rating: A is the shortest, E the longest (tip included)."""
    return ARROW_MIN_LENGTH + RATINGS.index(rating) * ARROW_STEP


def cell_origin(position: int) -> tuple[float, float]:
    """(left, top) of pictogram cell 0..3, row by row: power, runtime / accuracy, size."""
    row, column = divmod(position, 2)
    return (CONTENT_LEFT + column * (CELL_WIDTH + GRID_GAP),
            GRID_TOP + row * (CELL_HEIGHT + GRID_GAP))
