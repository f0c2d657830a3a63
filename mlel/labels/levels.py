"""The levels a summary is rated in, and what the label says about how it was rated (SPEC §10).

A summary names its ``scheme``; schemes whose levels are not A–E add ``levels`` (labels, best
first: ``["5", "4", "3", "2", "1"]``) and ``level_style`` (``"stars"``). The compound, each metric's
``rating`` and the keys of ``rating_p`` / ``compound_p`` are those labels. A level's colour is the
EU label's colour of the same place (best: A's green). Pure functions, no drawing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from mlel.ratings import RATING_COLORS, RATINGS
from mlel.tasks.schemes import builtin_schemes

STYLES = ("letters", "stars")
RATED_BY = "Rated by"
RESTS_ON = "Compound rests on"


@dataclass(frozen=True)
class Levels:
    """The labels of a scale, best first, and how they are drawn."""

    labels: tuple[str, ...] = tuple(RATINGS)
    style: str = "letters"  # "letters": the A–E arrows; "stars": five stars, filled by level

    def color(self, label: str) -> str | None:
        """The colour of a level: the A–E colour at its place; None for no level ("": not rated)."""
        if label not in self.labels:
            return None
        return RATING_COLORS[RATINGS[self.labels.index(label)]]

    def stars(self, label: str) -> int:
        """How many of the stars a level fills: all for the best, one for the worst."""
        return len(self.labels) - self.labels.index(label)

    @property
    def worst(self) -> str:
        return self.labels[-1]


LETTERS = Levels()


def summary_levels(summary: Mapping) -> Levels:
    """The summary's levels (default: A–E letters). Raises ValueError naming a malformed field."""
    raw, style = summary.get("levels"), summary.get("level_style", "letters")
    if style is None:
        style = "letters"
    if style not in STYLES:
        raise ValueError(f"level_style must be one of {', '.join(STYLES)}, not {style!r:.40}")
    if raw is None:
        labels = tuple(RATINGS)
    elif (not isinstance(raw, (list, tuple)) or len(raw) != len(RATINGS)
          or not all(isinstance(label, str) and label for label in raw) or len(set(raw)) != len(raw)):
        raise ValueError(f"levels must be {len(RATINGS)} distinct labels, best first, not {raw!r:.80}")
    else:
        labels = tuple(raw)
    return Levels(labels, style)


def scheme_text(summary: Mapping) -> str:
    """ "Rated by MLEE (honest)": the title of the summary's scheme (``scheme_title`` where the
    caller read a scheme file; else a built-in scheme's, else its name); "" where it names none."""
    name, title = summary.get("scheme"), summary.get("scheme_title")
    if not isinstance(name, str) or not name.strip():
        return ""
    if isinstance(title, str) and title.strip():
        return f"{RATED_BY} {title.strip()}"
    scheme = builtin_schemes().get(name)  # a name only: a path in a summary is never opened
    return f"{RATED_BY} {scheme.title if scheme is not None else name.strip()}"


def compound_notes(summary: Mapping) -> tuple[str, ...]:
    """What the compound rests on, where some weighted metric is not rated, and where the scheme's
    boundaries fell back to fixed ones: small print under the compound."""
    notes = []
    rests_on = summary.get("compound_rests_on")
    if isinstance(rests_on, str) and rests_on.strip():
        notes.append(f"{RESTS_ON} {rests_on.strip()}")
    boundaries = summary.get("boundaries_note")
    if isinstance(boundaries, str) and boundaries.strip():
        notes.append(boundaries.strip())
    return tuple(notes)

