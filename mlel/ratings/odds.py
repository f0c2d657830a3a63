"""Rating probabilities of entries with repeated runs (issue 13), by :func:`mlel.ratings.uncertainty.rating_odds`.

Only entries where the model or its reference pools more than one run are resampled; an entry and
reference of one run each have one certain letter (the engine's), so the common case costs nothing.
Draws are seeded: the same input gives the same probabilities. The compound rule is the engine's
own (``functools.partial(engine.compound_levels, mode=...)``), so draws compound as ratings do.
"""
from __future__ import annotations

import functools
from typing import Mapping, Sequence

import numpy as np

from mlel.ratings import engine
from mlel.ratings.rated import ModelResult
from mlel.ratings.uncertainty import pad_runs, rating_odds

SEED = 2022  # fixed: probabilities are part of the output, which must not change between calls
DRAWS = 4000  # a probability's sampling error ≤ 0.8 percentage points (95%)
NO_REFERENCE = -1


def run_table(entry: ModelResult, keys: Sequence[str]) -> list[list[float]]:
    """runs × properties (NaN: missing). A property no run holds (e.g. a training entry's accuracy,
    taken from inference) is its value, once: held fixed in the draws."""
    runs = entry.runs
    table = [[np.nan if run.get(k) is None else float(run[k]) for k in keys] for run in runs]
    for j, key in enumerate(keys):
        if all(row[j] != row[j] for row in table) and entry.values.get(key) is not None:
            table[0][j] = float(entry.values[key])
    return table


def needs_draws(entries: Sequence[ModelResult], reference_rows: Sequence[int], row: int) -> bool:
    """Whether one row is resampled (ELEx, one row at a time): graded, and its model or its
    reference pools several runs. :func:`rows_to_draw` is the same rule over a whole task."""
    entry, reference = entries[row], reference_rows[row]
    if entry.not_graded is not None:
        return False
    return entry.n_runs > 1 or (reference != NO_REFERENCE and entries[reference].n_runs > 1)


def rows_to_draw(entries: list[ModelResult], graded: np.ndarray, reference_rows: Sequence[int],
                 scale: np.ndarray) -> list[int]:
    """:func:`needs_draws` for every row of a task at once, with arrays: the graded rows whose model
    or reference pools several runs (rare) and that have something to index against (a row
    without: every draw rates E, as the row already does)."""
    several = np.array([len(entry.run_values) > 1 for entry in entries], dtype=bool)
    if not several.any():
        return []
    references = np.asarray(reference_rows, dtype=np.int64)
    has_reference = references != NO_REFERENCE
    several[has_reference] |= several[references[has_reference]]  # a reference of several runs
    indexed = ~np.isnan(scale).all(axis=1)
    return np.flatnonzero(graded & indexed & several).tolist()


def rating_probabilities(entries: Sequence[ModelResult], keys: Sequence[str],
                         reference_rows: Mapping[int, int] | Sequence[int],
                         scale: Mapping[int, np.ndarray] | np.ndarray, higher_is_better: np.ndarray,
                         bounds: np.ndarray,
                         weights: np.ndarray, mode: str, rows: Sequence[int]
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(len(rows), properties, 5) and (len(rows), 5): P(letter) per property and of the compound
    for the given rows. ``reference_rows[r]``: the entry row of r's reference (its runs are drawn
    too), or NO_REFERENCE: the fixed ``scale[r]`` (the best scale, or no reference: NaN). Both are
    read only at the given rows: a list over all entries or a {row: ...} dict of just those."""
    model_runs = pad_runs([run_table(entries[r], keys) for r in rows], len(keys))
    tables, position, reference_of, own = [], {}, [], []
    for r in rows:
        ref = reference_rows[r]
        key = ("entry", ref) if ref != NO_REFERENCE else ("fixed", r)
        if key not in position:
            position[key] = len(tables)
            tables.append(run_table(entries[ref], keys) if ref != NO_REFERENCE else [list(scale[r])])
        reference_of.append(position[key])
        own.append(ref == r)
    odds = rating_odds(model_runs, pad_runs(tables, len(keys)), bounds, higher_is_better,
                       np.random.default_rng(SEED), draws=DRAWS, weights=weights,
                       compound=functools.partial(engine.compound_levels, mode=mode),
                       is_reference=np.array(own), reference_of=np.array(reference_of))
    return odds.metric_p, odds.compound_p
