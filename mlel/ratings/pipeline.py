"""The ratings pipeline, one task at a time, over arrays (SPEC §5, §10).

``rate_task`` applies a task's scheme (:mod:`mlel.ratings.scheme`) to its entries: reference rows,
the scale, indices, levels and compound; ``task_records`` makes the rated records from that, with
the seeded draws' probabilities (:mod:`mlel.ratings.odds`). ``rate_entries`` does both for every
task. Every view calls these — the CLI, labels, the paper, and ELEx on every slider move — never a
copy of a step.
"""
from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from mlel.ratings import engine
from mlel.ratings.engine import DEFAULT_QUANTILES, NO_BOUNDARIES, NOT_RATED
from mlel.runlog.logs import RunLog
from mlel.runlog.metrics import TASKS
from mlel.tasks.properties import POSITIVE, PropertySet, builtin_tasks, load_property_set
from mlel.ratings.rated import ModelResult, RatedResult
from mlel.ratings.gates import DEFAULT_GATES, Gates
from mlel.ratings.odds import NO_REFERENCE, pools_runs, rows_to_draw, task_odds, with_odds
from mlel.ratings.pooling import aggregate_runs
from mlel.ratings.scheme import effective_scale, entry_reasons, group_codes, resolve_scheme, task_levels
from mlel.tasks.schemes import Scheme

SCALES = ("reference", "best", "value")
Boundaries = Mapping[str, Sequence[float]]  # metric -> (b0, b1, b2, b3), descending, index scale

# ---------------------------------------------------------------------------------------------
# weights


def _property_set(task: str, property_sets: Mapping[str, PropertySet] | None = None) -> PropertySet:
    if property_sets and task in property_sets:
        return property_sets[task]
    return load_property_set(task)


def default_weights(task: str, property_sets: Mapping[str, PropertySet] | None = None) -> dict[str, float]:
    return _property_set(task, property_sets).default_weights()


def task_weights(weights: Mapping | None, task: str,
                 property_sets: Mapping[str, PropertySet] | None = None,
                 scheme_weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """Weights for one task from ``None`` (defaults), ``{metric: w}`` or ``{task: {metric: w}}``.
    Metrics a flat mapping does not name keep their default weight (the property set's, with the
    scheme's over it)."""
    result = default_weights(task, property_sets)
    result.update((key, float(w)) for key, w in (scheme_weights or {}).items() if key in result)
    if weights:
        tasks = set(TASKS) | set(builtin_tasks()) | set(property_sets or ())
        chosen = weights.get(task, {}) if any(t in weights for t in tasks) else weights
        for key, weight in chosen.items():
            if key in result:
                result[key] = float(weight)
    for key, weight in result.items():
        if not weight >= 0:
            raise ValueError(f"weight of '{key}' must be non-negative, got {weight}")
    return result


# ---------------------------------------------------------------------------------------------
# the whole pipeline, one task at a time, over arrays. Its steps (reference_rows, scale_matrix,
# value_matrix, calibrated_boundaries; the engine's levels and compound; mlel.ratings.odds) are
# public: ELEx re-rates a task on every slider move with these same functions, never a copy.


@dataclass
class RatingOptions:
    """How to rate: a scheme (None: each task's own, else the default) and overrides of it."""

    reference: str | None = None  # None: the task's reference model (its property set), else the best
    scale: str | None = None  # None: the scheme's; "reference", "best" (STREP) or "value"
    boundaries: Boundaries | None = None  # over the property set's defaults (fixed boundaries)
    calibrate: bool = False  # boundaries from quantiles of the rated models' indices
    quantiles: Sequence[float] | None = None  # None: the scheme's
    weights: Mapping | None = None
    mode: str | None = None  # None: the scheme's
    property_sets: Mapping[str, PropertySet] | None = None  # task -> set; None: the built-in ones
    gates: Gates | None = DEFAULT_GATES  # validity gates before a grade; None: none (not advised)
    scheme: "str | Scheme | None" = None  # a built-in scheme's name, a scheme file, or a Scheme


def reference_rows(entries: Sequence[ModelResult], reference: str, warnings: list[str] | None = None,
                   honest: bool = True) -> list[int]:
    """Per entry, the row of its reference: a graded entry of the reference *model* in the same
    environment, of the same configuration where there is one (else the first in ``entries``'
    order) — or, where ``reference`` names one entry ("tiny-gpt (d_model 64)"), that entry; NO_REFERENCE where none exists (each such environment is named in ``warnings``, with
    what its models get: not rated, or E under ``honest=False``, the 2022 rule)."""
    warnings = [] if warnings is None else warnings
    candidates: dict[str, list[int]] = defaultdict(list)
    by_env: dict[str, list[int]] = defaultdict(list)
    for row, entry in enumerate(entries):
        by_env[entry.environment].append(row)
        if entry.not_graded is None and (entry.model == reference or entry.name == reference):
            candidates[entry.environment].append(row)
    out = [NO_REFERENCE] * len(entries)
    for environment, rows in by_env.items():
        found = candidates.get(environment)
        if not found:
            what = "not rated" if honest else "rated E"
            warnings.append(f"reference model '{reference}' has no graded {entries[rows[0]].task} "
                            f"results in environment '{environment}': its {len(rows)} model(s) get no index "
                            f"({what}); choose another --reference or --scale best")
            continue
        for row in rows:
            if len(found) == 1:
                out[row] = found[0]
                continue
            same = [c for c in found if entries[c].configuration == entries[row].configuration]
            out[row] = (same or found)[0]
    return out


def scale_matrix(entries: Sequence[ModelResult], values: np.ndarray, higher_is_better: np.ndarray,
                 graded: np.ndarray, references: Sequence[int], scale: str, groups: np.ndarray | None = None
                 ) -> np.ndarray:
    """(n, m): the value each entry's property is indexed against (NaN: no index): its reference's
    (``references``: :func:`reference_rows`) or, on the ``best`` scale, the best graded value of
    its group (``groups``: (n,) codes from :func:`mlel.ratings.scheme.group_codes`; None: its
    environment). The ``value`` scale indexes against nothing (all NaN)."""
    if scale == "value":
        return np.full(values.shape, np.nan)
    if scale == "best":
        if groups is None:
            groups, _ = group_codes(entries, ("environment",))
        env, count = np.asarray(groups, dtype=np.int64), int(np.max(groups, initial=-1)) + 1
        best = np.full((count, values.shape[1]), np.nan)
        for code in range(count):
            setting = values[(env == code) & graded]  # not graded entries set no scale
            if len(setting):
                with np.errstate(all="ignore"):
                    best[code] = np.where(higher_is_better, np.fmax.reduce(setting, axis=0),
                                          np.fmin.reduce(setting, axis=0))
        return best[env]
    against = np.full(values.shape, np.nan)
    rows = np.asarray(references, dtype=np.int64)
    indexed = rows != NO_REFERENCE
    against[indexed] = values[rows[indexed]]
    return against


def calibrated_boundaries(indices: np.ndarray, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> np.ndarray:
    """(m, 4) boundaries from the quantiles of the graded rows' ``indices``; a property without
    any index gets NO_BOUNDARIES (it rates E)."""
    bounds = engine.quantile_boundaries(indices, quantiles)
    bounds[np.isnan(bounds).any(axis=1)] = NO_BOUNDARIES
    return bounds


def default_boundaries(prop_set: PropertySet, scheme: Scheme | None = None, scale: str = "reference"
                       ) -> dict[str, list[float]]:
    """The fixed boundaries a task starts from: on the best scale the scheme's ``best_boundaries``
    for every property (where it has them: the best model is A, the same cut for each property),
    else the property set's defaults."""
    if scale == "best" and scheme is not None and scheme.best_boundaries is not None:
        return {key: list(scheme.best_boundaries) for key in prop_set.keys}
    return prop_set.default_boundaries()


def fixed_boundaries(keys: Sequence[str], prop_set: PropertySet, given: Boundaries | None = None,
                     scheme: Scheme | None = None, scale: str = "reference") -> np.ndarray:
    """(m, 4) the default boundaries (:func:`default_boundaries`) with the given ones over them; NaN
    where a property has none (the scheme decides: E under the 2022 rule, else not rated)."""
    chosen = {**default_boundaries(prop_set, scheme, scale), **dict(given or {})}
    return np.array([chosen.get(k, (math.nan,) * 4) for k in keys], dtype=float).reshape(-1, 4)


def value_matrix(entries: Sequence[ModelResult], keys: Sequence[str]) -> np.ndarray:
    """(n, m) property values; None -> NaN by numpy's own float conversion (one flat list: no
    nested lists for numpy to walk, no Python call per value)."""
    flat: list = []
    extend = flat.extend
    for entry in entries:
        extend(map(entry.values.get, keys))
    return np.array(flat, dtype=float).reshape(len(entries), len(keys))


def _row_tuples(matrix: np.ndarray) -> Iterable[tuple]:
    """Each row of an (n, m) matrix as a tuple of Python numbers, made as it is read. (``tolist()``'s
    100,000 row lists lived long enough for the collector to move them to its oldest generation and
    walk them there; tuples of numbers it stops tracking at once. Issue 23.)"""
    if not matrix.shape[1]:
        return itertools.repeat((), len(matrix))
    return zip(*matrix.T.tolist())


@dataclass(frozen=True)
class TaskRating:
    """One task rated under one scheme, as arrays (rows: the entries in the order given): what the
    pipeline's records are built from, and what ELEx draws."""

    scheme: Scheme
    scale: str  # the scale used: "reference", "best" or "value"
    reference: str | None  # the reference model (scale "reference")
    keys: tuple[str, ...]
    references: list[int]  # per row, its reference's row (NO_REFERENCE: none, or not that scale)
    against: np.ndarray  # (n, m) what each value is indexed against (NaN: nothing)
    indices: np.ndarray  # (n, m) the index (the value's score on the "value" scale)
    levels: np.ndarray  # (n, m) 0..4, NOT_RATED
    compound: np.ndarray  # (n,) 0..4, NOT_RATED
    weights: dict[str, float]
    bounds: list[np.ndarray]  # per boundary group, (m, 4)
    bound_group: np.ndarray  # (n,) each row's boundary group
    notes: Mapping[int, str]  # boundary group -> why its boundaries fell back
    reasons: dict[int, str]  # row -> why a graded entry is not rated
    graded: np.ndarray  # (n,) bool: passed the validity gates

    @property
    def against_name(self) -> str:
        """What the indices are against, in words (the summary's "reference")."""
        return self.reference if self.scale == "reference" else self.scale

    def published_indices(self) -> np.ndarray:
        """The indices a summary shows: none on the value scale (its scores are not indices)."""
        return np.full(self.indices.shape, np.nan) if self.scale == "value" else self.indices


@dataclass(frozen=True)
class TaskBasis:
    """What a task's indices rest on under one scheme, reference and scale — not boundaries, weights
    or mode: a caller that re-rates often (ELEx, on every slider move) keeps it."""

    scheme: Scheme  # its scale and groups: boundaries, mode and weights come with each rating
    scale: str
    reference: str | None
    keys: tuple[str, ...]
    graded: np.ndarray  # (n,) bool
    references: list[int]
    against: np.ndarray
    indices: np.ndarray
    bound_group: np.ndarray
    bound_keys: list[tuple]
    reasons: dict[int, str]  # row -> nothing to compare with (no reference, a lone model)
    warnings: tuple[str, ...]


def _scheme(prop_set: PropertySet, options: RatingOptions, whole: bool = True) -> Scheme:
    """The options' scheme for a task; ``whole=False``: only what a basis depends on (scale, groups)."""
    if not whole:
        return resolve_scheme(prop_set, options.scheme, scale=options.scale)
    return resolve_scheme(prop_set, options.scheme, scale=options.scale, calibrate=options.calibrate,
                          quantiles=options.quantiles, mode=options.mode, given_boundaries=options.boundaries is not None)


def task_basis(entries: Sequence[ModelResult], prop_set: PropertySet, options: RatingOptions | None = None,
               values: np.ndarray | None = None) -> TaskBasis:
    """The reference rows, scale, indices and groups of one task's entries (in the order given);
    ``values``: their (n, m) value matrix where the caller holds it already."""
    options = options or RatingOptions()
    scheme = _scheme(prop_set, options, whole=False)
    if scheme.scale not in SCALES:
        raise ValueError(f"unknown scale '{scheme.scale}'; choose from: {', '.join(SCALES)}")
    reference = options.reference or prop_set.reference
    scale = effective_scale(scheme, reference)
    keys = prop_set.keys
    higher_is_better = np.array([p.higher_is_better for p in prop_set.properties])
    values = value_matrix(entries, keys) if values is None else values
    values = engine.comparable(values, np.array([p.kind == POSITIVE for p in prop_set.properties]))
    graded = np.array([e.not_graded is None for e in entries], dtype=bool)
    groups, group_keys = group_codes(entries, scheme.group_by)
    warnings: list[str] = []
    references = (reference_rows(entries, reference, warnings, scheme.honest) if scale == "reference"
                  else [NO_REFERENCE] * len(entries))
    against = scale_matrix(entries, values, higher_is_better, graded, references, scale, groups)
    indices = (engine.score_matrix(values, higher_is_better) if scale == "value"
               else engine.index_matrix(values, against, higher_is_better))
    bound_group, bound_keys = group_codes(entries, scheme.boundaries_over)
    reasons = entry_reasons(scheme, entries, graded, scale, reference, references, groups, group_keys)
    return TaskBasis(scheme, scale, reference, keys, graded, references, against, indices, bound_group, bound_keys,
                     reasons, tuple(warnings))


def rate_basis(basis: TaskBasis, prop_set: PropertySet, options: RatingOptions | None = None) -> TaskRating:
    """Levels and compound of a task from its basis under the options' boundaries, weights and mode."""
    options = options or RatingOptions()
    scheme = _scheme(prop_set, options)
    engine.check_mode(scheme.mode)
    found = task_levels(scheme, basis.indices, basis.graded, basis.bound_group, basis.bound_keys,
                        fixed_boundaries(basis.keys, prop_set, options.boundaries, scheme, basis.scale))
    levels = found.levels
    reasons = dict(basis.reasons)
    if found.small:  # a group too small for boundaries made from it, and no fixed ones to fall back on
        for row in np.flatnonzero(basis.graded & np.isin(found.bound_group, list(found.small))).tolist():
            reasons.setdefault(row, found.notes[int(found.bound_group[row])])
    if reasons:
        levels[list(reasons)] = NOT_RATED
    weights = task_weights(options.weights, prop_set.task, options.property_sets, scheme.weights)
    compound = engine.compound_levels(levels, np.array([weights[k] for k in basis.keys]), scheme.mode)
    return TaskRating(scheme, basis.scale, basis.reference, basis.keys, basis.references, basis.against,
                      basis.indices, levels, compound, weights, found.bounds, found.bound_group, found.notes, reasons,
                      basis.graded)


def rate_task(entries: Sequence[ModelResult], prop_set: PropertySet, options: RatingOptions | None = None,
              warnings: list[str] | None = None) -> TaskRating:
    """Every entry of one task (in the order given) indexed, levelled and compounded by its scheme."""
    basis = task_basis(entries, prop_set, options)
    if warnings is not None:
        warnings.extend(basis.warnings)
    return rate_basis(basis, prop_set, options)


def task_records(entries: Sequence[ModelResult], prop_set: PropertySet, rating: TaskRating,
                 rows: Sequence[int] | None = None, pooled: np.ndarray | None = None) -> list[RatedResult]:
    """The rated records of a task's ``rows`` (all by default) from its :class:`TaskRating`: each
    letter certain, or, where the entry or its reference pools several runs, the most likely one
    of the pipeline's seeded draws (:mod:`mlel.ratings.odds`) with its probabilities. The draws are
    one seeded stream over every drawn row of the task, so a row's are those of the whole task.
    ``pooled``: :func:`mlel.ratings.odds.pools_runs` of the entries, where the caller keeps it."""
    scheme, keys = rating.scheme, rating.keys
    supports = prop_set.supports()
    indices = rating.published_indices()
    weight_vector = np.array([rating.weights[k] for k in keys])
    builders = {}
    for code, bounds in enumerate(rating.bounds):
        how = dict(mode=scheme.mode, weights=rating.weights, boundaries=dict(zip(keys, bounds.tolist())),
                   scheme=scheme.name, levels=scheme.levels, level_style=scheme.level_style,
                   boundaries_note=rating.notes.get(code))  # shared by the rows of the group
        builders[code] = RatedResult.builder(keys, rating.against_name, how, supports)
    records = {}
    if rows is None:  # every row: each made as it is read (see _row_tuples)
        rows = range(len(entries))
        cells = zip(_row_tuples(indices), _row_tuples(rating.levels))
    else:
        cells = ((tuple(indices[row].tolist()), tuple(rating.levels[row].tolist())) for row in rows)
    groups, compound, reasons = rating.bound_group.tolist(), rating.compound.tolist(), rating.reasons
    for row, (index_row, level_row) in zip(rows, cells):
        records[row] = builders[groups[row]](entries[row], index_row, level_row, compound[row], reasons.get(row))
    pooled = pools_runs(entries) if pooled is None else pooled
    if rating.scale != "value" and pooled.any():  # raw values are not resampled: their levels depend on the group
        drawable = rating.graded.copy()
        drawable[list(rating.reasons)] = False
        for code, bounds in enumerate(rating.bounds):
            in_group = drawable & (rating.bound_group == code)
            if not set(rows_to_draw(entries, in_group, rating.references, rating.against, pooled)) & records.keys():
                continue  # none of the rows asked for is drawn: no draw at all
            odds = task_odds(entries, keys, in_group, rating.references, rating.against, _direction(prop_set),
                             bounds, weight_vector, scheme.mode, pooled,
                             missing=NOT_RATED if scheme.honest else engine.WORST)
            for row, (metric_p, compound_p) in odds.items():
                if row in records:
                    records[row] = with_odds(records[row], keys, metric_p, compound_p, supports)
    return list(records.values())


def _direction(prop_set: PropertySet) -> np.ndarray:
    return np.array([p.higher_is_better for p in prop_set.properties])


def _rate_task(entries: list[ModelResult], prop_set: PropertySet, options: RatingOptions,
               warnings: list[str]) -> list[RatedResult]:
    return task_records(entries, prop_set, rate_task(entries, prop_set, options, warnings))


def rate_entries(results: Iterable[ModelResult], options: RatingOptions | None = None
                 ) -> tuple[list[RatedResult], list[str]]:
    """Index, rate and compound entries of any task by the task's property set.
    Returns (rated records in the entries' order, warnings)."""
    options = options or RatingOptions()
    if options.scale is not None and options.scale not in SCALES:
        raise ValueError(f"unknown scale '{options.scale}'; choose from: {', '.join(SCALES)}")
    if options.mode is not None:
        engine.check_mode(options.mode)
    results = list(results)
    by_task: dict[str, list[int]] = defaultdict(list)
    for position, result in enumerate(results):
        by_task[result.task].append(position)
    rated: list[RatedResult | None] = [None] * len(results)
    warnings: list[str] = []
    for task, positions in by_task.items():
        records = _rate_task([results[p] for p in positions], _property_set(task, options.property_sets),
                             options, warnings)
        for position, record in zip(positions, records):
            rated[position] = record
    return rated, warnings


def rate_results(results: list[ModelResult], options: RatingOptions | None = None
                 ) -> tuple[list[dict], list[str]]:
    """Index and rate aggregated results. Returns (rated summaries per SPEC §7, warnings)."""
    rated, warnings = rate_entries(results, options)
    return [record.to_dict() for record in rated], warnings


def rate_runs(runs: Iterable[RunLog], options: RatingOptions | None = None) -> tuple[list[dict], list[str]]:
    """RunLog records -> (rated summaries, warnings): gate, pool, index, rate, compound."""
    options = options or RatingOptions()
    return rate_results(aggregate_runs(runs, options.gates), options)

