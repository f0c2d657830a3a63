"""The readable rating table of ``python -m mlel.ratings``: fits 120 columns by default.

Per task, per environment: one row per entry — its name, how many runs it pools, the compound
rating, and the label's metrics (``wide``: every metric) as ``value level (probability)``. Values
are shown with :func:`mlel.base.formatting.format_quantity` (the unit's scaling part in the cell, the rest,
"per sample", in the header). The level shown is the most likely one; its probability is printed
where runs were resampled. Long entry names wrap (never cut: configurations must stay apart),
headers wrap at word boundaries; text is left-aligned, numbers as they are. A metric or an entry
that is not rated shows "–"; why, and entries not graded and invalid values, are said under the row.
Names and reasons are printed as spelled: a control character (an ANSI escape, NUL) shows as its
escape (``\\x1b``), never acts on the terminal.
"""
from __future__ import annotations

import textwrap
from collections import defaultdict
from typing import Mapping, Sequence

from mlel.base.environment import environment_label
from mlel.base.formatting import format_quantity, visible_text
from mlel.base.units import unit_parts
from mlel.runlog.metrics import TASKS
from mlel.tasks.properties import Property, PropertySet, load_property_set
from mlel.ratings.engine import RATINGS
from mlel.ratings.rated import MetricRating, RatedResult

TABLE_WIDTH = 120
NAME_WIDTH = 30  # longer entry names wrap onto more lines (the JSON keeps them whole)
WIDE_NAME_WIDTH = 60  # with --wide: most names on one line
HEADER_WIDTH = 16  # a longer header wraps at its words
GAP = "  "
NOT_GRADED = "not graded"
NOT_RATED = "not rated"
NO_LEVEL = "\u2013"  # a metric or entry without a level: never an E
ENTRY_NOT_RATED = "entry not rated"  # a metric's reason where the whole entry is not rated: said once
NOTE_INDENT = "    "
CONTINUED = "  "  # the further lines of a long entry name
_UNIT_WORDS = {"s": "second", "h": "hour", "min": "minute", "ms": "millisecond"}


def letter(rating: str | None, probability: float | None, resampled: bool) -> str:
    """"B", or "B (87%)" where the level comes from resampled runs; "–" where there is none."""
    if rating is None:
        return NO_LEVEL
    if not resampled or probability is None:
        return rating
    return f"{rating} ({probability * 100:.0f}%)"


def _label(record: RatedResult, rating: str | None) -> str | None:
    """A letter of the record as its scheme's level label ("B" -> "4" for stars)."""
    levels = getattr(record, "levels", RATINGS)
    return rating if rating is None or levels is RATINGS else levels[RATINGS.index(rating)]


def _cell(record: RatedResult, metric: MetricRating, prop: Property) -> str:
    rating = _label(record, metric.rating)
    if metric.invalid:  # why: under the row
        return f"invalid {NO_LEVEL}" if rating is None else f"invalid ({rating})"
    value = prop.missing_text if metric.value is None else format_quantity(metric.value, unit_parts(prop.unit).symbol)
    if not record.graded:
        return value
    return f"{value} {letter(rating, metric.probability, record.resampled)}"


def _columns(prop_set: PropertySet, wide: bool) -> list[str]:
    if wide or not prop_set.label_tiles:
        return list(prop_set.keys)
    return [k for k in prop_set.label_tiles if k in prop_set.keys]


def header(prop: Property) -> str:
    """The property's name, and what its value is per ("Inference power draw per sample") where
    the name does not say it already ("Energy per token" for J/token)."""
    if prop.unit.strip() == "fraction":
        return prop.name
    per = unit_parts(prop.unit).rest.strip().lstrip("/").strip()
    if not per:
        return prop.name
    word = _UNIT_WORDS.get(per, per)
    said = prop.name.lower()
    if word.lower() in said or word.lower().rstrip("s") in said:
        return prop.name
    return f"{prop.name} per {word}"


def wrap_name(name: str, width: int) -> list[str]:
    """An entry's name on as many lines as it needs, each further line indented: at spaces, then
    after hyphens; never cut."""
    return textwrap.wrap(name, width, subsequent_indent=CONTINUED, break_on_hyphens=True) or [""]


def _compound(record: RatedResult) -> str:
    if not record.graded:
        return NOT_GRADED
    return letter(_label(record, record.compound), record.compound_probability, record.resampled)


def _row(record: RatedResult, keys: Sequence[str], prop_set: PropertySet) -> list[str]:
    return ([visible_text(record.name), str(record.entry.n_runs), _compound(record)]
            + [_cell(record, record.metrics[k], prop_set[k]) for k in keys])


def _unrated_metrics(record: RatedResult, keys: Sequence[str], prop_set: PropertySet) -> list[str]:
    """ "not rated, no value: Top-5 accuracy, Parameters": the shown metrics without a level, by reason."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        metric = record.metrics[key]
        reason = getattr(metric, "not_rated", None)
        if reason and reason != ENTRY_NOT_RATED and not metric.invalid:  # an invalid value is named apart
            by_reason[reason].append(prop_set[key].name)
    return [f"{NOT_RATED}, {reason}: {', '.join(names)}" for reason, names in by_reason.items()]


def _notes(record: RatedResult, keys: Sequence[str], prop_set: PropertySet) -> list[str]:
    notes = [] if record.graded else [f"{NOT_GRADED}: {record.entry.not_graded}"]
    if record.graded and getattr(record, "not_rated", None):
        notes.append(f"{NOT_RATED}: {record.not_rated}")
    if record.graded:
        notes += _unrated_metrics(record, keys, prop_set)
    if getattr(record, "rests_on", None):
        notes.append(f"compound rests on {record.rests_on}")
    if record.entry.window_unchecked:  # graded, but on another tool's word for its window
        notes.append(record.entry.window_unchecked)
    notes += [f"invalid {key}: {problem}" for key, problem in record.entry.invalid.items()]
    return [visible_text(note) for note in notes]  # reasons quote names: no raw escapes either


def _wrapped_note(note: str, indent: str) -> list[str]:
    return textwrap.wrap(note, TABLE_WIDTH - len(indent), initial_indent=indent,
                         subsequent_indent=indent + "  ", break_on_hyphens=False) or [indent]


def _shared(notes: list[list[str]]) -> list[str]:
    """The notes every entry of a group has (said once, under the group), in their order."""
    if len(notes) < 2:
        return []
    return [note for note in notes[0] if all(note in other for other in notes[1:])]


def _lines(headers: list[str], body: list[tuple[list[str], list[str]]], indent: str, name_width: int) -> list[str]:
    names = [wrap_name(row[0], name_width) for row, _ in body]
    widths = [max(len(line) for lines in names for line in lines)]
    widths += [max(len(row[i]) for row, _ in body) for i in range(1, len(headers))]
    # a header wraps at its words: its column is as wide as its longest word, at least
    widths = [max(w, min(len(h), HEADER_WIDTH), *(len(word) for word in h.split())) for w, h in zip(widths, headers)]
    wrapped = [textwrap.wrap(h, w, break_long_words=False, break_on_hyphens=False) or [""]
               for h, w in zip(headers, widths)]
    out = []
    for line in range(max(len(w) for w in wrapped)):
        cells = [(w[line] if line < len(w) else "") for w in wrapped]
        out.append(indent + GAP.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
    for (row, notes), name_lines in zip(body, names):
        cells = [name_lines[0].ljust(widths[0]), row[1].rjust(widths[1])]
        cells += [c.ljust(w) for c, w in zip(row[2:], widths[2:])]
        out.append(indent + GAP.join(cells).rstrip())
        out += [indent + more for more in name_lines[1:]]
        for note in notes:
            out += _wrapped_note(note, indent + NOTE_INDENT)
    return out


def format_table(records: Sequence[RatedResult], property_sets: Mapping[str, PropertySet] | None = None,
                 wide: bool = False) -> str:
    """Per task and environment: entry, runs, compound rating, then the label's metrics
    (``wide``: all metrics) as value and level."""
    sets = property_sets or {}
    lines = []
    for task in list(TASKS) + sorted({r.task for r in records} - set(TASKS)):
        rows = [r for r in records if r.task == task]
        if not rows:
            continue
        prop_set = sets.get(task) or load_property_set(task)
        keys = _columns(prop_set, wide)
        headers = ["model", "runs", "rating"] + [header(prop_set[k]) for k in keys]
        graded = sum(r.graded for r in rows)
        unrated = sum(r.graded and r.compound is None for r in rows)
        lines.append(f"{visible_text(task)} — {graded - unrated} rated" + (f", {unrated} {NOT_RATED}" if unrated else "")
                     + (f", {len(rows) - graded} {NOT_GRADED}" if graded < len(rows) else ""))
        groups: dict[str, list[RatedResult]] = defaultdict(list)
        for record in rows:
            groups[visible_text(environment_label(record.environment, record.estimated))].append(record)
        for environment, members in groups.items():
            lines.append(f"  {environment}")
            notes = [_notes(r, keys, prop_set) for r in members]
            shared = _shared(notes)
            group_notes = sorted({visible_text(n) for r in members if (n := getattr(r, "boundaries_note", None))})
            for note in group_notes + [f"every entry: {n}" for n in shared]:
                lines += _wrapped_note(note, "    ")
            body = [(_row(r, keys, prop_set), [n for n in own if n not in shared]) for r, own in zip(members, notes)]
            lines += _lines(headers, body, "    ", WIDE_NAME_WIDTH if wide else NAME_WIDTH)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
