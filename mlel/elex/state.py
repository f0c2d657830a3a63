"""ELEx data: the read-only rated data all sessions share, and one session's view of it.

* :class:`ElexData` — the entries loaded at start-up, as one :class:`TaskTable` of numpy arrays per
  task. It is built once, its arrays are frozen (``writeable=False``), and every session reads it.
* :func:`rate` — one session's settings (scheme, reference, scale, mode, boundaries, weights; see
  :mod:`mlel.elex.session`) turned into :class:`mlel.ratings.RatingOptions` and handed to the
  ratings pipeline's function that rates a task (:func:`mlel.ratings.rate_task`, in its two steps:
  :func:`mlel.ratings.task_basis`, remembered per scheme, reference and scale, and
  :func:`mlel.ratings.rate_basis`, per slider move); its records
  (letters with the pipeline's odds) come from :func:`mlel.ratings.task_records`. ELEx keeps no rule
  of its own, so it shows what ``python -m mlel.ratings`` prints. The pipeline sees the task's
  entries in its own order (``TaskTable.pipeline_order``: the reference lookup takes the first
  candidate in that order and the seeded draws follow it); its arrays are mapped back to the
  table's sorted rows here.

A whole rating is remembered per (task, settings) and the records of a rating per row, in the
table's ``cache``, bounded per kind (:func:`remembered`), keyed by every input they depend on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import orjson

from mlel.ratings.odds import pools_runs
from mlel.ratings import (DEFAULT_SCHEME, NO_REFERENCE, NOT_RATED, RATINGS, RatingOptions, TaskBasis, TaskRating,
                          load_scheme, rate_basis, task_basis, task_records)
from mlel.tasks.schemes import Scheme
from mlel.ratings.rated import ModelResult, RatedResult
from mlel.elex.data import ElexData, TaskTable, frozen

__all__ = ["ElexData", "TaskTable", "frozen", "Basis", "Rating", "rate", "rating_options", "task_scheme",
           "remembered", "records", "record", "summary", "environment_scale", "rating_counts", "pipeline_entries",
           "RATINGS_KEPT", "NO_LEVEL"]

_CACHE_LOCK = threading.Lock()


# ---------------------------------------------------------------------------------------------
# one session's view: the pipeline's rating of a table, in the table's rows


def pipeline_entries(table: TaskTable) -> list[ModelResult]:
    """The task's entries in the order the pipeline rates them (a fresh list; made once per table)."""
    if "pipeline entries" not in table.cache:
        table.cache["pipeline entries"] = tuple(table.results[i] for i in table.pipeline_order.tolist())
    return list(table.cache["pipeline entries"])


@dataclass(frozen=True)
class Basis:
    """What a task's indices rest on (the pipeline's lookup, in table rows)."""

    reference_rows: np.ndarray  # (n,) the row each row is indexed against; NO_REFERENCE: none (or not that scale)
    against: np.ndarray  # (n, m) the values each row is indexed against; NaN: no index


@dataclass(frozen=True)
class Rating:
    """One session's view of one task: the pipeline's :class:`~mlel.ratings.TaskRating`, its arrays
    in the table's row order. ``levels`` and ``compound`` are 0..4 (the scheme's levels, best first)
    or NOT_RATED, where there is no evidence for a level: drawn grey with ``reasons``, never E."""

    table: TaskTable
    pipeline: TaskRating  # rows in the pipeline's order
    key: tuple  # every input of the rating (what its records are remembered by)
    indices: np.ndarray  # (n, m) NaN: no index (and none on the value scale: its scores are no index)
    levels: np.ndarray  # (n, m) 0..4, NOT_RATED
    compound: np.ndarray  # (n,) 0..4, NOT_RATED
    boundaries: Mapping[str, Sequence[float]]  # the boundaries in use, where every group shares them
    weights: Mapping[str, float]
    reference: str | None
    mode: str
    scale: str = "reference"  # the pipeline's scale: "reference", "best" (of each group) or "value"
    basis: Basis | None = None
    reasons: Mapping[int, str] = field(default_factory=dict)  # row -> why a graded entry has no compound
    per_group: bool = False  # the scheme made boundaries per group: no one set to show or edit

    @property
    def scheme(self) -> Scheme:
        return self.pipeline.scheme

    @property
    def level_labels(self) -> tuple[str, ...]:
        """The scheme's five level labels, best first ("A".."E", "5".."1"), then "–" (no level)."""
        return (*self.pipeline.scheme.levels, NO_LEVEL)

    def letter(self, row: int) -> str | None:
        """The compound's letter A..E (the colour's key), None where the row has none."""
        level = int(self.compound[row])
        return None if level == NOT_RATED or not self.graded(row) else RATINGS[level]

    def label(self, row: int) -> str:
        """The compound as the scheme labels it, "–" where the row has none."""
        level = int(self.compound[row])
        return NO_LEVEL if level == NOT_RATED or not self.graded(row) else self.level_labels[level]

    def graded(self, row: int) -> bool:
        return self.table.graded is None or bool(self.table.graded[row])

    def reason(self, row: int) -> str | None:
        """Why a graded row has no compound (the pipeline's words), None where it has one."""
        if not self.graded(row):
            return None
        if row in self.reasons:
            return self.reasons[row]
        return NO_WEIGHTED_RATING if int(self.compound[row]) == NOT_RATED else None

    @property
    def against(self) -> str:
        """What the indices are against, in words (the summary's "reference")."""
        return self.pipeline.against_name

    @property
    def basis_key(self) -> tuple:
        """Every input of the indices (what boundaries, weights and mode leave alone)."""
        return self.scale, self.reference, self.pipeline.scheme.group_by


NO_LEVEL = "–"  # shown where there is no level: not graded, or not rated
NO_WEIGHTED_RATING = "no metric of weight > 0 has a rating"  # the pipeline's words (RatedResult.builder)
RATINGS_KEPT = 16  # recent ratings per table: one slider move's callbacks share one rating
RECORDS_KEPT = 256  # rated records per table (a table page, the pinned model, a preview)
_COMPUTING: dict = {}  # (table, bucket, key) -> lock held while one thread computes it


def remembered(table: TaskTable, key, compute, bucket: str = "recent", limit: int = RATINGS_KEPT):
    """``compute()`` once per ``key`` among the table's ``limit`` most recent results in ``bucket``
    (bounded, thread-safe: callbacks that ask for the same key at once wait for one computation).
    ``key`` must hold every input of ``compute``; what is kept is read-only, as it is shared by
    every session that asks with the same key."""
    slot = (id(table), bucket, key)
    with _CACHE_LOCK:
        kept = table.cache.setdefault(bucket, OrderedDict())
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
        lock = _COMPUTING.setdefault(slot, threading.Lock())
    with lock:
        with _CACHE_LOCK:
            if key in kept:
                kept.move_to_end(key)
                return kept[key]
        try:
            value = compute()
            with _CACHE_LOCK:
                kept[key] = value
                while len(kept) > limit:
                    kept.popitem(last=False)
        finally:
            with _CACHE_LOCK:
                _COMPUTING.pop(slot, None)
    return value


def task_scheme(table: TaskTable, settings: Mapping) -> Scheme:
    """The scheme a session rates a task by: its choice, else the task's own, else the default."""
    return load_scheme(settings.get("scheme") or table.properties.scheme or DEFAULT_SCHEME)


def rating_options(table: TaskTable, settings: Mapping) -> RatingOptions:
    """A session's settings as the pipeline's options for one task. Boundaries are given to the
    pipeline (fixed boundaries over the property set's defaults) only where they differ from the
    property set's defaults: else the scheme's own apply (quantiles of the group, on the best
    scale…), as without ``--boundaries``; a scheme that makes its boundaries from the group rates
    by given ones once the session has set them. A reference that is no model of the task (another
    task's, a forged one) means the task's own."""
    task, prop_set = table.task, table.properties
    boundaries = dict(settings["boundaries"].get(task) or {})
    given = boundaries if boundaries and boundaries != prop_set.default_boundaries() else None
    calibrate = bool((settings.get("calibrate") or {}).get(task)) and given is None
    scheme = settings.get("scheme") or None  # given boundaries are fixed ones: the pipeline's rule
    reference = settings.get("reference")
    return RatingOptions(scheme=scheme, reference=reference if reference in table.reference_models else None,
                         scale=settings.get("scale") or None, boundaries=given, calibrate=calibrate,
                         weights=dict(settings["weights"].get(task) or {}) or None,
                         mode=settings.get("mode") or None)


def _scheme_key(scheme):
    """A session's scheme as a cache key: its name, or a Scheme's fields."""
    return orjson.dumps(scheme.to_dict(), option=orjson.OPT_SORT_KEYS) if isinstance(scheme, Scheme) else scheme


def _options_key(options: RatingOptions) -> tuple:
    scheme = options.scheme
    scheme = _scheme_key(scheme)
    return ("rating", scheme, options.reference, options.scale, options.mode, options.calibrate,
            orjson.dumps(options.boundaries, option=orjson.OPT_SORT_KEYS),
            orjson.dumps(options.weights, option=orjson.OPT_SORT_KEYS))


def rate(data: ElexData, task: str, settings: Mapping) -> Rating:
    """Every row of ``task`` rated by the pipeline under one session's settings; remembered, so
    the callbacks of one slider move rate once."""
    table = data.table(task)
    options = rating_options(table, settings)
    key = _options_key(options)
    return remembered(table, key, lambda: _rating(table, options, key))


def task_basis_of(table: TaskTable, options: RatingOptions) -> TaskBasis:
    """The pipeline's basis of a task (:func:`mlel.ratings.task_basis`: references, indices, groups)
    under the options' scheme, reference and scale, remembered: boundaries, weights and mode do not
    change it, so a slider move re-rates from it."""
    scheme = options.scheme
    scheme = _scheme_key(scheme)
    order = table.pipeline_order
    return remembered(table, ("basis", scheme, options.reference, options.scale),
                      lambda: task_basis(pipeline_entries(table), table.properties, options,
                                         values=table.values[order]), bucket="basis", limit=8)


def _rating(table: TaskTable, options: RatingOptions, key: tuple) -> Rating:
    found = rate_basis(task_basis_of(table, options), table.properties, options)
    order = table.pipeline_order

    def rows(array: np.ndarray) -> np.ndarray:  # pipeline order -> table order
        out = np.empty_like(array)
        out[order] = array
        return frozen(out)

    pipeline_refs = np.asarray(found.references, dtype=np.int64)
    refs = np.full(len(table), NO_REFERENCE, dtype=np.int64)
    refs[order] = np.where(pipeline_refs == NO_REFERENCE, NO_REFERENCE, order[np.maximum(pipeline_refs, 0)])
    order_list = order.tolist()
    shared = all(np.array_equal(b, found.bounds[0], equal_nan=True) for b in found.bounds[1:])
    boundaries = {}
    if found.bounds and shared:
        boundaries = {k: b for k, b in zip(found.keys, found.bounds[0].tolist())
                      if all(np.isfinite(b))}
    return Rating(table, found, key, rows(found.published_indices()), rows(found.levels), rows(found.compound),
                  boundaries, dict(found.weights), found.reference if found.scale == "reference" else None,
                  found.scheme.mode, found.scale, Basis(frozen(refs), rows(found.against)),
                  {order_list[row]: why for row, why in found.reasons.items()}, not shared)


def records(rating: Rating, rows: Sequence[int]) -> list[RatedResult]:
    """The rated records of table ``rows`` under this rating, as the pipeline makes them
    (:func:`mlel.ratings.task_records`: where the entry or its reference pools several runs, its
    letters are the most likely ones of the pipeline's seeded draws, with their probabilities).
    Remembered per row; the rows not yet made are made in one call."""
    table = rating.table
    kept = table.cache.setdefault("records", OrderedDict())
    rows = [int(r) for r in rows]
    with _CACHE_LOCK:
        missing = [r for r in dict.fromkeys(rows) if (rating.key, r) not in kept]
    if missing:
        position = np.empty(len(table), dtype=np.int64)
        position[table.pipeline_order] = np.arange(len(table))
        entries = pipeline_entries(table)
        pooled = remembered(table, "pooled", lambda: frozen(pools_runs(entries)), bucket="entries")
        made = task_records(entries, table.properties, rating.pipeline, rows=[int(position[r]) for r in missing],
                            pooled=pooled)
        with _CACHE_LOCK:
            for row, record in zip(missing, made):
                kept[(rating.key, row)] = record
            found = {r: kept[(rating.key, r)] for r in rows}
            while len(kept) > max(RECORDS_KEPT, len(rows)):
                kept.popitem(last=False)
        return [found[r] for r in rows]
    with _CACHE_LOCK:
        for row in rows:
            kept.move_to_end((rating.key, row))
        return [kept[(rating.key, r)] for r in rows]


def record(rating: Rating, row: int) -> RatedResult:
    """The rated result of one row under these settings (see :func:`records`)."""
    return records(rating, [row])[0]


def summary(rating: Rating, row: int) -> dict:
    """The rated summary (SPEC §7 plus the settings labels show) of one row."""
    return record(rating, row).to_dict(settings=True)


def environment_scale(rating: Rating, environment: str) -> np.ndarray:
    """(m,) the values an environment's models are indexed against, for a plot in real units: the
    best values (best scale), or the pipeline's reference row of the environment (the first
    candidate in the pipeline's order; NaN where there is none, and on the value scale)."""
    table, found = rating.table, rating.basis
    code = table.environments.index(environment)
    rows = np.flatnonzero(table.env_code == code)
    if rating.scale == "value":
        rows = rows[:0]
    elif rating.scale == "reference":
        rows = rows[found.reference_rows[rows] == rows]  # the reference's own rows index against themselves
        rows = rows[np.argsort(table.origin[rows])] if table.origin is not None else rows
    return found.against[rows[0]] if len(rows) else np.full(len(table.metrics), np.nan)


LEVEL_SLOTS = len(RATINGS) + 1  # A..E (or 5..1 stars), then "not rated"


def rating_counts(rating: Rating, rows: np.ndarray | None = None) -> dict[str, list[int]]:
    """Per environment: how many graded rows got each compound level (five), then how many got
    none ("not rated", never counted as E). Not graded rows are not counted."""
    table = rating.table
    rows = np.arange(len(table)) if rows is None else rows
    rows = rows[table.graded[rows]] if table.graded is not None else rows  # not graded: no letter
    pairs = table.env_code[rows] * LEVEL_SLOTS + rating.compound[rows]  # one bincount: no np.add.at
    counts = np.bincount(pairs, minlength=len(table.environments) * LEVEL_SLOTS).reshape(-1, LEVEL_SLOTS)
    return {env: counts[i].tolist() for i, env in enumerate(table.environments)}
