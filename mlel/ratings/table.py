"""The readable rating table of ``python -m mlel.ratings``: fits 120 columns by default.

Per task, per environment: one row per entry — its name, how many runs it pools, the compound
rating, and the label's metrics (``wide``: every metric) as ``value letter (probability)``. Values
are shown with :func:`mlel.base.formatting.format_quantity` (the unit's scaling part in the cell, the rest,
"/ sample", in the header). The letter shown is the most likely one; its probability is printed
where runs were resampled. Entries not graded, and invalid values, are said so under their row.
"""
from __future__ import annotations

import textwrap
from collections import defaultdict
from typing import Mapping, Sequence

from mlel.base.environment import environment_label
from mlel.base.formatting import format_quantity
from mlel.base.units import unit_parts
from mlel.runlog.metrics import TASKS
from mlel.tasks.properties import PropertySet, load_property_set
from mlel.ratings.rated import MetricRating, RatedResult

TABLE_WIDTH = 120
NAME_WIDTH = 30  # longer entry names are cut with an ellipsis (the JSON keeps them whole)
GAP = "  "
NOT_GRADED = "not graded"


def letter(rating: str | None, probability: float | None, resampled: bool) -> str:
    """"B", or "B (87%)" where the letter comes from resampled runs; "-" when not graded."""
    if rating is None:
        return "-"
    if not resampled or probability is None:
        return rating
    return f"{rating} ({probability * 100:.0f}%)"


def _cell(metric: MetricRating, unit: str, resampled: bool, graded: bool) -> str:
    if metric.invalid:
        return "invalid (E)" if graded else "invalid"
    symbol = unit_parts(unit).symbol
    value = format_quantity(metric.value, symbol)
    if not graded:
        return value
    return f"{value} {letter(metric.rating, metric.probability, resampled)}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _columns(prop_set: PropertySet, wide: bool) -> list[str]:
    if wide or not prop_set.label_tiles:
        return list(prop_set.keys)
    return [k for k in prop_set.label_tiles if k in prop_set.keys]


def _header(prop_set: PropertySet, key: str) -> str:
    prop = prop_set[key]
    rest = unit_parts(prop.unit).rest
    return f"{prop.name}{rest}" if prop.unit.strip() != "fraction" else prop.name


def _row(record: RatedResult, keys: Sequence[str], prop_set: PropertySet) -> list[str]:
    compound = NOT_GRADED if not record.graded else letter(record.compound, record.compound_probability,
                                                             record.resampled)
    return ([_cut(record.name, NAME_WIDTH), str(record.entry.n_runs), compound]
            + [_cell(record.metrics[k], prop_set[k].unit, record.resampled, record.graded) for k in keys])


def _notes(record: RatedResult) -> list[str]:
    notes = [] if record.graded else [f"{NOT_GRADED}: {record.entry.not_graded}"]
    if record.entry.window_unchecked:  # graded, but on another tool's word for its window
        notes.append(record.entry.window_unchecked)
    return notes + [f"invalid {key}: {problem}" for key, problem in record.entry.invalid.items()]


def _lines(header: list[str], body: list[tuple[list[str], list[str]]], indent: str) -> list[str]:
    widths = [max(len(row[i]) for row, _ in body) for i in range(len(header))]
    widths = [max(w, min(len(h), 16)) for w, h in zip(widths, header)]  # long headers wrap instead
    wrapped = [textwrap.wrap(h, w) or [""] for h, w in zip(header, widths)]
    height = max(len(w) for w in wrapped)
    out = []
    for line in range(height):
        cells = [(w[line] if line < len(w) else "") for w in wrapped]
        out.append(indent + GAP.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
    for row, notes in body:
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1])] + [c.ljust(w) for c, w in zip(row[2:], widths[2:])]
        out.append(indent + GAP.join(cells).rstrip())
        out += [indent + "    " + _cut(note, TABLE_WIDTH - len(indent) - 4) for note in notes]
    return out


def format_table(records: Sequence[RatedResult], property_sets: Mapping[str, PropertySet] | None = None,
                 wide: bool = False) -> str:
    """Per task and environment: entry, runs, compound rating, then the label's metrics
    (``wide``: all metrics) as value and letter."""
    sets = property_sets or {}
    lines = []
    for task in list(TASKS) + sorted({r.task for r in records} - set(TASKS)):
        rows = [r for r in records if r.task == task]
        if not rows:
            continue
        prop_set = sets.get(task) or load_property_set(task)
        keys = _columns(prop_set, wide)
        header = ["model", "runs", "rating"] + [_header(prop_set, k) for k in keys]
        graded = sum(r.graded for r in rows)
        lines.append(f"{task} — {graded} rated" + (f", {len(rows) - graded} not graded" if graded < len(rows) else ""))
        groups: dict[str, list[RatedResult]] = defaultdict(list)
        for record in rows:
            groups[environment_label(record.environment, record.estimated)].append(record)
        for environment, members in groups.items():
            lines.append(f"  {environment}")
            lines += _lines(header, [(_row(r, keys, prop_set), _notes(r)) for r in members], "    ")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
