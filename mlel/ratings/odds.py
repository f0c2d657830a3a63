"""Rating probabilities of entries with repeated runs (issue 13), by :func:`mlel.ratings.uncertainty.rating_odds`.

Only entries where the model or its reference pools more than one run are resampled; an entry and
reference of one run each have one certain letter (the engine's), so the common case costs nothing.
Draws are seeded: the same input gives the same probabilities. The compound rule is the engine's
own (``functools.partial(engine.compound_levels, mode=...)``), so draws compound as ratings do.

The one place of each rule: which rows are resampled (:func:`rows_to_draw`), their probabilities
(:func:`task_odds`) and the record they make (:func:`with_odds`). The CLI's pipeline and ELEx both
call these, over the task's entries in the pipeline's order: the draws of a row follow those of the
rows before it in one seeded stream, so the same rows in the same order give the same letters.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from mlel.ratings import engine
from mlel.ratings.rated import ModelResult, RatedResult, metric_rating
from mlel.ratings.uncertainty import pad_runs, rating_odds

SEED = 2022  # fixed: probabilities are part of the output, which must not change between calls
DRAWS = 4000  # a probability's sampling error ≤ 0.8 percentage points (95%)
NO_REFERENCE = -1

# row -> (P(letter) per property (properties, 5), P(letter) of the compound (5,))
Odds = dict[int, tuple[np.ndarray, np.ndarray]]


def run_table(entry: ModelResult, keys: Sequence[str]) -> list[list[float]]:
    """runs × properties (NaN: missing). A property no run holds (e.g. a training entry's accuracy,
    taken from inference) is its value, once: held fixed in the draws."""
    runs = entry.runs
    table = [[np.nan if run.get(k) is None else float(run[k]) for k in keys] for run in runs]
    for j, key in enumerate(keys):
        if all(row[j] != row[j] for row in table) and entry.values.get(key) is not None:
            table[0][j] = float(entry.values[key])
    return table


def pools_runs(entries: Sequence[ModelResult]) -> np.ndarray:
    """(n,) bool: the entries that pool several runs (a caller that rates one task often, ELEx,
    keeps it: it depends on the entries only)."""
    return np.array([len(entry.run_values) > 1 for entry in entries], dtype=bool)


def rows_to_draw(entries: Sequence[ModelResult], graded: np.ndarray, reference_rows: Sequence[int],
                 scale: np.ndarray, pooled: np.ndarray | None = None) -> list[int]:
    """The rows of a task that are resampled: graded, with something to index against (a row
    without: every draw rates E, as the row already does), and whose model or reference pools
    several runs (rare). ``pooled``: :func:`pools_runs` of ``entries``, where the caller kept it."""
    several = (pools_runs(entries) if pooled is None else pooled).copy()
    if not several.any():
        return []
    references = np.asarray(reference_rows, dtype=np.int64)
    has_reference = references != NO_REFERENCE
    several[has_reference] |= several[references[has_reference]]  # a reference of several runs
    indexed = ~np.isnan(scale).all(axis=1)
    return np.flatnonzero(np.asarray(graded, dtype=bool) & indexed & several).tolist()


def rating_probabilities(entries: Sequence[ModelResult], keys: Sequence[str],
                         reference_rows: Sequence[int], scale: np.ndarray, higher_is_better: np.ndarray,
                         bounds: np.ndarray, weights: np.ndarray, mode: str, rows: Sequence[int],
                         missing: int = engine.WORST) -> tuple[np.ndarray, np.ndarray]:
    """(len(rows), properties, 5) and (len(rows), 5): P(letter) per property and of the compound
    for the given rows. ``reference_rows[r]``: the entry row of r's reference (its runs are drawn
    too), or NO_REFERENCE: the fixed ``scale[r]`` (the best scale, or no reference: NaN)."""
    model_runs = pad_runs([run_table(entries[r], keys) for r in rows], len(keys))
    tables, position, reference_of, own = [], {}, [], []
    for r in rows:
        ref = int(reference_rows[r])
        key = ("entry", ref) if ref != NO_REFERENCE else ("fixed", r)
        if key not in position:
            position[key] = len(tables)
            tables.append(run_table(entries[ref], keys) if ref != NO_REFERENCE else [list(scale[r])])
        reference_of.append(position[key])
        own.append(ref == r)
    odds = rating_odds(model_runs, pad_runs(tables, len(keys)), bounds, higher_is_better,
                       np.random.default_rng(SEED), draws=DRAWS, weights=weights,
                       compound=functools.partial(engine.compound_levels, mode=mode),
                       is_reference=np.array(own), reference_of=np.array(reference_of), missing=missing)
    return odds.metric_p, odds.compound_p


def task_odds(entries: Sequence[ModelResult], keys: Sequence[str], graded: np.ndarray,
              reference_rows: Sequence[int], scale: np.ndarray, higher_is_better: np.ndarray,
              bounds: np.ndarray, weights: np.ndarray, mode: str, pooled: np.ndarray | None = None,
              missing: int = engine.WORST) -> Odds:
    """The probabilities of every resampled row of one task (:func:`rows_to_draw`), by row;
    ``missing``: the level of a draw without an index (the scheme's: E, or NOT_RATED)."""
    drawn = rows_to_draw(entries, graded, reference_rows, scale, pooled)
    if not drawn:
        return {}
    metric_p, compound_p = rating_probabilities(entries, keys, reference_rows, scale, higher_is_better,
                                                bounds, weights, mode, drawn, missing)
    return {row: (metric_p[i], compound_p[i]) for i, row in enumerate(drawn)}


def with_odds(record: RatedResult, keys: Sequence[str], metric_p: np.ndarray, compound_p: np.ndarray,
              supports: Mapping[str, tuple[float, float]]) -> RatedResult:
    """A record whose letters are the most likely of the draws, with their probabilities."""
    metrics = {key: metric_rating(record.entry, key, record.metrics[key].index, metric_p[j].tolist(),
                                  supports.get(key), record.metrics[key].not_rated)  # no evidence: no letter
               for j, key in enumerate(keys)}
    probabilities = tuple(float(p) for p in compound_p)
    if record.compound is None:  # no rated metric in any draw: still no letter
        return replace(record, metrics=metrics, resampled=True)
    best = max(range(len(engine.RATINGS)), key=lambda i: (probabilities[i], -i))
    return replace(record, metrics=metrics, compound=engine.RATINGS[best], compound_p=probabilities,
                   resampled=True)
