"""ELEx data: the read-only rated data all sessions share, and one session's view of it.

* :class:`ElexData` — the entries loaded at start-up, as one :class:`TaskTable` of numpy arrays per
  task. It is built once, its arrays are frozen (``writeable=False``), and every session reads it.
* :func:`rate` — one session's settings (reference, scale, mode, boundaries, weights; see
  :mod:`mlel.elex.session`) applied to a table by the ratings pipeline's own steps
  (:func:`mlel.ratings.reference_rows`, :func:`mlel.ratings.scale_matrix`, the engine's levels and
  compound, :func:`mlel.ratings.odds.task_odds`): ELEx keeps no rule of its own, so it shows what
  ``python -m mlel.ratings`` prints. The steps that depend on the order of entries (the reference
  of a row without one of its own configuration, the seeded draws) see the task's entries in the
  pipeline's order (``TaskTable.origin``), not ELEx's sorted rows.

Re-rating is cheap because an index does not depend on boundaries or weights (the pipeline's
reference lookup and scale, remembered per reference and scale), a metric's levels
depend on its own boundaries only (a slider move re-rates one column), and a compound depends on a
row's levels only (the engine compounds each distinct row of levels once). What is remembered lives
in the table's ``cache``, bounded per kind (:func:`remembered`), keyed by every input it depends on.
"""
from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import orjson

from mlel.ratings import engine
from mlel.ratings import uncertainty
from mlel.runlog.logs import RunLog
from mlel.runlog.metrics import TASKS
from mlel.tasks.properties import PropertySet, load_property_set
from mlel.ratings.rated import ModelResult, RatedResult
from mlel.ratings import aggregate_runs, reference_rows, scale_matrix, value_matrix
from mlel.elex.entries import environment_labels
from mlel.ratings.odds import NO_REFERENCE, Odds, pools_runs, task_odds, with_odds


_CACHE_LOCK = threading.Lock()


def frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class TaskTable:
    """All rated (environment, model) rows of one task as arrays; row order is fixed for good."""

    task: str
    properties: PropertySet  # names, units and directions of the columns
    metrics: tuple[str, ...]  # column order of ``values``
    environments: tuple[str, ...]  # sorted; ``env_code`` indexes into it
    models: tuple[str, ...]  # model name per row
    env_code: np.ndarray  # (n,) int
    values: np.ndarray  # (n, m) float, NaN = missing
    higher_is_better: np.ndarray  # (m,) bool
    results: tuple[ModelResult, ...]  # per row: the entry (logs, dataset, energy, sources …)
    rows: Mapping[tuple[str, str], int]  # (environment, model) -> row
    labels: tuple[str, ...] = ()  # per environment: its display name ("... (estimated)")
    graded: np.ndarray | None = None  # (n,) bool: False where the entry failed a validity gate
    origin: np.ndarray | None = None  # (n,) int: each row's place among the task's entries as the pipeline rates them
    # derived, settings-independent display data (formatted values, …), filled on first use
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.models)

    @property
    def model_names(self) -> list[str]:
        """Every model of the task, sorted (a fresh list; the sort is done once per table)."""
        if "model_names" not in self.cache:
            self.cache["model_names"] = tuple(sorted(self.rows_models))
        return list(self.cache["model_names"])

    @property
    def rows_models(self) -> frozenset[str]:
        """Every model (entry name) of the task."""
        if "models" not in self.cache:
            self.cache["models"] = frozenset(self.models)
        return self.cache["models"]

    @property
    def reference_models(self) -> list[str]:
        """The models a session may index against (``--reference``: a model, not an entry), sorted."""
        if "reference_models" not in self.cache:
            self.cache["reference_models"] = tuple(sorted({r.model for r in self.results}))
        return list(self.cache["reference_models"])

    @property
    def pipeline_order(self) -> np.ndarray:
        """The rows in the order the pipeline rates the task's entries."""
        if "pipeline_order" not in self.cache:
            origin = np.arange(len(self)) if self.origin is None else self.origin
            self.cache["pipeline_order"] = frozen(np.argsort(origin, kind="stable"))
        return self.cache["pipeline_order"]

    def row(self, environment: str, model: str) -> int | None:
        return self.rows.get((environment, model))

    def column(self, metric: str) -> int:
        return self.metrics.index(metric)


def _table(task: str, rated: Sequence[ModelResult]) -> TaskTable:
    """The table of one task's entries (in the pipeline's order), its rows sorted for display."""
    origin = sorted(range(len(rated)), key=lambda i: (rated[i].environment, rated[i].name))
    results = [rated[i] for i in origin]
    prop_set = load_property_set(task)
    metrics = prop_set.keys
    environments = tuple(sorted({r.environment for r in results}))
    env_index = {env: i for i, env in enumerate(environments)}
    env_code = frozen(np.array([env_index[r.environment] for r in results], dtype=np.int64))
    values = value_matrix(results, metrics)
    return TaskTable(
        task=task, properties=prop_set, metrics=metrics, environments=environments,
        models=tuple(getattr(r, "name", r.model) for r in results),  # "<model> (<variant>)": distinct entries
        env_code=env_code,
        values=frozen(values),
        higher_is_better=frozen(np.array([p.higher_is_better for p in prop_set.properties])),
        results=tuple(results),
        rows={(r.environment, getattr(r, "name", r.model)): i for i, r in enumerate(results)},
        graded=frozen(np.array([r.not_graded is None for r in results], dtype=bool)),  # the pipeline's gate
        origin=frozen(np.array(origin, dtype=np.int64)),
        labels=environment_labels(environments, results, env_code))


def _entries(items: list) -> tuple[list[ModelResult], int]:
    """Entries and the number of logs behind them, from RunLogs, entries or rated records."""
    if all(isinstance(i, RunLog) for i in items):
        return aggregate_runs(items), len(items)
    if all(isinstance(i, Mapping) for i in items):  # rated summaries (SPEC §7 JSON)
        items = [RatedResult.from_dict(i) for i in items]
    if all(isinstance(i, RatedResult) for i in items):
        items = [i.entry for i in items]
    if all(isinstance(i, ModelResult) for i in items):
        return items, sum(len(i.logs) for i in items)
    raise TypeError("ELEx needs a directory of merged logs, RunLog records, entries (ModelResult) "
                    "or rated results")


@dataclass(frozen=True)
class ElexData:
    """What ELEx serves: one table per task, the directory the logs came from, what was skipped."""

    tables: Mapping[str, TaskTable]
    directory: Path | None = None
    problems: tuple[str, ...] = ()
    n_logs: int = 0

    @property
    def tasks(self) -> list[str]:
        ordered = [t for t in TASKS if t in self.tables] + sorted(set(self.tables) - set(TASKS))
        return [t for t in ordered if len(self.tables[t])]

    def table(self, task: str) -> TaskTable:
        if task not in self.tables:
            raise KeyError(f"no {task} results")
        return self.tables[task]

    @classmethod
    def from_results(cls, results: Iterable[ModelResult], directory: Path | None = None,
                     problems: Sequence[str] = (), n_logs: int = 0) -> "ElexData":
        by_task: dict[str, list[ModelResult]] = {}
        for result in results:
            by_task.setdefault(result.task, []).append(result)
        tables = {task: _table(task, rs) for task, rs in by_task.items()}
        return cls(tables, directory, tuple(problems), n_logs)

    @classmethod
    def load(cls, source) -> "ElexData":
        """From a directory of merged logs, or a list of RunLog records, entries (ModelResult),
        rated records (RatedResult) or rated summaries (SPEC §7 dicts)."""
        if isinstance(source, (str, os.PathLike)):  # merged logs and generic result records
            from mlel.ratings.report import load_entries

            entries, problems, _ = load_entries(source)
            return cls.from_results(entries, Path(source), [str(p) for p in problems],
                                    sum(len(e.logs) for e in entries))
        entries, n_logs = _entries(list(source))
        return cls.from_results(entries, n_logs=n_logs)


# ---------------------------------------------------------------------------------------------
# one session's view: the pipeline's steps over a table


@dataclass(frozen=True)
class Basis:
    """What a task's indices rest on under one reference and scale (the pipeline's lookup)."""

    reference_rows: np.ndarray  # (n,) the row each row is indexed against; NO_REFERENCE: none (or best scale)
    against: np.ndarray  # (n, m) the values each row is indexed against; NaN: no index
    indices: np.ndarray  # (n, m)


def _basis(table: TaskTable, reference: str, scale: str) -> Basis:
    order = table.pipeline_order
    rows = np.full(len(table), NO_REFERENCE, dtype=np.int64)
    if scale == "reference":
        found = np.asarray(reference_rows([table.results[i] for i in order.tolist()], reference), dtype=np.int64)
        rows[order] = np.where(found == NO_REFERENCE, NO_REFERENCE, order[found])  # back to table rows
    against = scale_matrix(table.results, table.values, table.higher_is_better, table.graded, rows, scale)
    indices = engine.index_matrix(table.values, against, table.higher_is_better)
    return Basis(frozen(rows), frozen(against), frozen(indices))


def basis(table: TaskTable, reference: str, scale: str = "reference") -> Basis:
    """:func:`_basis`, remembered and read-only (boundaries, weights and mode do not change it)."""
    return remembered(table, ("basis", reference, scale), lambda: _basis(table, reference, scale))


def index_matrix(table: TaskTable, reference: str, scale: str = "reference") -> np.ndarray:
    """(n, m) indices against ``reference`` (or the best of each environment); NaN where none."""
    return basis(table, reference, scale).indices


@dataclass(frozen=True)
class Rating:
    """One session's view of one task: indices, metric ratings and compound rating per row."""

    table: TaskTable
    indices: np.ndarray  # (n, m)
    levels: np.ndarray  # (n, m) 0..4
    compound: np.ndarray  # (n,) 0..4
    boundaries: Mapping[str, Sequence[float]]
    weights: Mapping[str, float]
    reference: str
    mode: str
    scale: str = "reference"  # the pipeline's scale: "reference" model or "best" of each environment
    basis: Basis | None = None

    def letter(self, row: int) -> str:
        return engine.RATINGS[int(self.compound[row])]

    @property
    def against(self) -> str:
        """What the indices are against, in words (the summary's "reference")."""
        return self.reference if self.scale == "reference" else "best"


RATINGS_KEPT = 16  # recent ratings per table: one slider move's callbacks share one rating


def remembered(table: TaskTable, key, compute, bucket: str = "recent", limit: int = RATINGS_KEPT):
    """``compute()`` once per ``key`` among the table's ``limit`` most recent results in ``bucket``
    (bounded, thread-safe). ``key`` must hold every input of ``compute``; what is kept is
    read-only, as it is shared by every session that asks with the same key."""
    with _CACHE_LOCK:
        kept = table.cache.setdefault(bucket, OrderedDict())
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    value = compute()
    with _CACHE_LOCK:
        kept[key] = value
        while len(kept) > limit:
            kept.popitem(last=False)
    return value


def indices(table: TaskTable, reference: str, scale: str = "reference") -> np.ndarray:
    """:func:`index_matrix`, remembered and read-only (it depends on the reference and scale only)."""
    return index_matrix(table, reference, scale)


def rate(data: ElexData, task: str, settings: dict) -> Rating:
    """Index, rate and compound every row of ``task`` under one session's settings. The index
    depends on the reference and scale only, and a whole rating on the task's part of the
    settings: both are remembered, so the callbacks of one slider move rate once."""
    table = data.table(task)
    boundaries = settings["boundaries"][task]
    weights = settings["weights"][task]
    reference, mode, scale = settings["reference"], settings["mode"], settings.get("scale", "reference")
    key = ("rating", reference, scale, mode, orjson.dumps(boundaries, option=orjson.OPT_SORT_KEYS),
           orjson.dumps(weights, option=orjson.OPT_SORT_KEYS))

    def compute() -> Rating:
        engine.check_mode(mode)
        found = basis(table, reference, scale)
        levels = frozen(_levels(table, found.indices, (reference, scale), boundaries))
        weight_vector = np.array([float(weights.get(k, 0.0)) for k in table.metrics])
        # a row's compound is a function of its levels: the engine compounds each distinct row of
        # levels once (a few hundred, not every row), as the core's resampling does
        compound = uncertainty.compound_levels(levels, weight_vector, functools.partial(engine.compound_levels,
                                                                                        mode=mode))
        return Rating(table, found.indices, levels, frozen(np.asarray(compound, dtype=np.int8)), boundaries,
                      weights, reference, mode, scale, found)

    return remembered(table, key, compute)


LEVEL_COLUMNS_KEPT = 64  # one metric's levels under one reference and boundaries: one byte a row


def _levels(table: TaskTable, index: np.ndarray, basis_key: tuple, boundaries: Mapping) -> np.ndarray:
    """(n, m) levels of the engine (:func:`mlel.ratings.engine.rating_levels`), one metric at a time: a
    slider move changes one metric's boundaries, and the other columns are remembered."""
    columns = []
    for j, key in enumerate(table.metrics):
        bounds = tuple(float(b) for b in boundaries.get(key, engine.NO_BOUNDARIES))
        columns.append(remembered(
            table, ("levels", basis_key, key, bounds),
            lambda j=j, bounds=bounds: frozen(engine.rating_levels(index[:, j:j + 1], np.array([bounds]))[:, 0]),
            bucket="levels", limit=LEVEL_COLUMNS_KEPT))
    return np.stack(columns, axis=1) if columns else np.zeros((len(table), 0), dtype=np.int8)


def _arrays(rating: Rating) -> tuple[np.ndarray, np.ndarray]:
    """The rating's (m, 4) boundaries and (m,) weights, as the pipeline hands them to the engine."""
    metrics = rating.table.metrics
    bounds = np.array([rating.boundaries.get(k, engine.NO_BOUNDARIES) for k in metrics], dtype=float)
    return bounds.reshape(-1, 4), np.array([float(rating.weights.get(k, 0.0)) for k in metrics])


def odds(rating: Rating) -> Odds:
    """Table row -> rating probabilities, of the rows the pipeline resamples
    (:func:`mlel.ratings.odds.task_odds`, over the task's entries in the pipeline's order: the
    seeded draws then give the CLI's probabilities). Remembered with the rating."""
    table = rating.table
    pooled = remembered(table, "pooled", lambda: frozen(pools_runs(table.results)), bucket="entries")
    if not pooled.any():  # nothing is resampled: no draw, no array work per slider move
        return {}

    bounds, weights = _arrays(rating)

    def compute() -> Odds:
        order = table.pipeline_order
        position = np.empty(len(table), dtype=np.int64)
        position[order] = np.arange(len(table))
        refs = rating.basis.reference_rows[order]
        refs = np.where(refs == NO_REFERENCE, NO_REFERENCE, position[np.maximum(refs, 0)])
        found = task_odds([table.results[i] for i in order.tolist()], table.metrics, table.graded[order], refs,
                          rating.basis.against[order], table.higher_is_better, bounds, weights, rating.mode,
                          pooled[order])
        return {int(order[k]): p for k, p in found.items()}

    key = ("odds", rating.reference, rating.scale, rating.mode, bounds.tobytes(), weights.tobytes())
    return remembered(table, key, compute, bucket="odds")


def record(rating: Rating, row: int) -> RatedResult:
    """The rated result of one row under these settings (with the settings it was rated by), as
    the pipeline makes it: where the entry or its reference pools several runs, its letters are
    the most likely ones of the pipeline's resampling, with their probabilities."""
    table = rating.table
    supports = table.properties.supports()
    built = RatedResult.build(table.results[row], table.metrics, rating.indices[row].tolist(),
                              rating.levels[row].tolist(), int(rating.compound[row]), rating.against,
                              mode=rating.mode, weights=dict(rating.weights),
                              boundaries={k: list(b) for k, b in rating.boundaries.items()},
                              supports=supports)
    drawn = odds(rating).get(row)
    return built if drawn is None else with_odds(built, table.metrics, *drawn, supports)


def environment_scale(rating: Rating, environment: str) -> np.ndarray:
    """(m,) the values an environment's models are indexed against, for a plot in real units: the
    best values (best scale), or the pipeline's reference row of the environment (the first
    candidate in the pipeline's order; NaN where there is none)."""
    table, found = rating.table, rating.basis
    code = table.environments.index(environment)
    rows = np.flatnonzero(table.env_code == code)
    if rating.scale == "reference":
        rows = rows[found.reference_rows[rows] == rows]  # the reference's own rows index against themselves
        rows = rows[np.argsort(table.origin[rows])] if table.origin is not None else rows
    return found.against[rows[0]] if len(rows) else np.full(len(table.metrics), np.nan)


def environments_without_reference(rating: Rating) -> set[str]:
    """The environments where the pipeline found no graded reference (their models get no index)."""
    table = rating.table
    has = np.zeros(len(table.environments), dtype=bool)
    has[table.env_code[rating.basis.reference_rows != NO_REFERENCE]] = True
    return {env for env, found in zip(table.environments, has.tolist()) if not found}


def summary(rating: Rating, row: int) -> dict:
    """The rated summary (SPEC §7 plus the settings labels show) of one row."""
    return record(rating, row).to_dict(settings=True)


def rating_counts(rating: Rating, rows: np.ndarray | None = None) -> dict[str, list[int]]:
    """Per environment: how many rows got each compound rating A..E."""
    table = rating.table
    rows = np.arange(len(table)) if rows is None else rows
    rows = rows[table.graded[rows]] if table.graded is not None else rows  # not graded: no letter
    letters = len(engine.RATINGS)  # one bincount over (environment, letter) pairs: no np.add.at
    pairs = table.env_code[rows] * letters + rating.compound[rows]
    counts = np.bincount(pairs, minlength=len(table.environments) * letters).reshape(-1, letters)
    return {env: counts[i].tolist() for i, env in enumerate(table.environments)}
