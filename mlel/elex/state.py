"""ELEx data: the read-only rated data all sessions share, and one session's view of it.

* :class:`ElexData` — the entries loaded at start-up, as one :class:`TaskTable` of numpy arrays per
  task. It is built once, its arrays are frozen (``writeable=False``), and every session reads it.
* :func:`rate` — one session's settings (reference, mode, boundaries, weights; see
  :mod:`mlel.elex.session`) applied to a table through the rating engine (:mod:`mlel.ratings.engine`):
  the same functions the CLI rates with, so ELEx and ``python -m mlel.ratings`` agree.

Re-rating is cheap because an index does not depend on boundaries or weights (one division of the
value matrix by the reference row of each environment, remembered per reference), a metric's levels
depend on its own boundaries only (a slider move re-rates one column), and a compound depends on a
row's levels only (the engine compounds each distinct row of levels once). What is remembered lives
in the table's ``cache``, bounded per kind (:func:`remembered`), keyed by every input it depends on.
"""
from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
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
from mlel.ratings import aggregate_runs
from mlel.elex.entries import environment_labels, not_graded
from mlel.ratings.rated import metric_rating
from mlel.ratings.odds import NO_REFERENCE, needs_draws, rating_probabilities


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

    def row(self, environment: str, model: str) -> int | None:
        return self.rows.get((environment, model))

    def column(self, metric: str) -> int:
        return self.metrics.index(metric)


def _table(task: str, results: Sequence[ModelResult]) -> TaskTable:
    prop_set = load_property_set(task)
    metrics = prop_set.keys
    environments = tuple(sorted({r.environment for r in results}))
    env_index = {env: i for i, env in enumerate(environments)}
    env_code = frozen(np.array([env_index[r.environment] for r in results], dtype=np.int64))
    values = np.array([[np.nan if r.values.get(k) is None else r.values[k] for k in metrics]
                       for r in results], dtype=float).reshape(len(results), len(metrics))
    return TaskTable(
        task=task, properties=prop_set, metrics=metrics, environments=environments,
        models=tuple(getattr(r, "name", r.model) for r in results),  # "<model> (<variant>)": distinct entries
        env_code=env_code,
        values=frozen(values),
        higher_is_better=frozen(np.array([p.higher_is_better for p in prop_set.properties])),
        results=tuple(results),
        rows={(r.environment, getattr(r, "name", r.model)): i for i, r in enumerate(results)},
        graded=frozen(np.array([not_graded(r) is None for r in results], dtype=bool)),
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
        tables = {task: _table(task, sorted(rs, key=lambda r: (r.environment, getattr(r, "name", r.model))))
                  for task, rs in by_task.items()}
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
# one session's view: the engine over a table


def reference_values(table: TaskTable, reference: str) -> np.ndarray:
    """(n, m): each row's reference values, the reference model's row of its environment (NaN
    where the environment has no such model)."""
    ref_rows = np.array([table.rows.get((env, reference), -1) for env in table.environments],
                        dtype=np.int64)
    per_row = ref_rows[table.env_code] if len(table) else np.zeros(0, dtype=np.int64)
    values = table.values[per_row]
    values[per_row < 0] = np.nan
    return values


def index_matrix(table: TaskTable, reference: str) -> np.ndarray:
    """(n, m) indices against ``reference`` in each row's environment; NaN where there is none."""
    return engine.index_matrix(table.values, reference_values(table, reference), table.higher_is_better)


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

    def letter(self, row: int) -> str:
        return engine.RATINGS[int(self.compound[row])]


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


def indices(table: TaskTable, reference: str) -> np.ndarray:
    """:func:`index_matrix`, remembered and read-only (it depends on the reference only)."""
    return remembered(table, ("index", reference), lambda: frozen(index_matrix(table, reference)))


def rate(data: ElexData, task: str, settings: dict) -> Rating:
    """Index, rate and compound every row of ``task`` under one session's settings. The index
    depends on the reference only, and a whole rating on the task's part of the settings: both are
    remembered, so the callbacks of one slider move rate once."""
    table = data.table(task)
    boundaries = settings["boundaries"][task]
    weights = settings["weights"][task]
    reference, mode = settings["reference"], settings["mode"]
    key = ("rating", reference, mode, orjson.dumps(boundaries, option=orjson.OPT_SORT_KEYS),
           orjson.dumps(weights, option=orjson.OPT_SORT_KEYS))

    def compute() -> Rating:
        engine.check_mode(mode)
        index = indices(table, reference)
        levels = frozen(_levels(table, index, reference, boundaries))
        weight_vector = np.array([float(weights.get(k, 0.0)) for k in table.metrics])
        # a row's compound is a function of its levels: the engine compounds each distinct row of
        # levels once (a few hundred, not every row), as the core's resampling does
        compound = uncertainty.compound_levels(levels, weight_vector, functools.partial(engine.compound_levels,
                                                                                        mode=mode))
        return Rating(table, index, levels, frozen(np.asarray(compound, dtype=np.int8)), boundaries, weights,
                      reference, mode)

    return remembered(table, key, compute)


LEVEL_COLUMNS_KEPT = 64  # one metric's levels under one reference and boundaries: one byte a row


def _levels(table: TaskTable, index: np.ndarray, reference: str, boundaries: Mapping) -> np.ndarray:
    """(n, m) levels of the engine (:func:`mlel.ratings.engine.rating_levels`), one metric at a time: a
    slider move changes one metric's boundaries, and the other columns are remembered."""
    columns = []
    for j, key in enumerate(table.metrics):
        bounds = tuple(float(b) for b in boundaries.get(key, engine.NO_BOUNDARIES))
        columns.append(remembered(
            table, ("levels", reference, key, bounds),
            lambda j=j, bounds=bounds: frozen(engine.rating_levels(index[:, j:j + 1], np.array([bounds]))[:, 0]),
            bucket="levels", limit=LEVEL_COLUMNS_KEPT))
    return np.stack(columns, axis=1) if columns else np.zeros((len(table), 0), dtype=np.int8)


def record(rating: Rating, row: int) -> RatedResult:
    """The rated result of one row under these settings (with the settings it was rated by). Where
    the entry or its reference pools several runs, its letters are the most likely ones of the
    core's resampling (:mod:`mlel.ratings.odds`), with their probabilities, as the CLI shows them."""
    table = rating.table
    supports = table.properties.supports()
    built = RatedResult.build(table.results[row], table.metrics, rating.indices[row].tolist(),
                              rating.levels[row].tolist(), int(rating.compound[row]), rating.reference,
                              mode=rating.mode, weights=dict(rating.weights),
                              boundaries={k: list(b) for k, b in rating.boundaries.items()},
                              supports=supports)
    ref_row = table.row(table.environments[table.env_code[row]], rating.reference)
    # the core reads these at ``row`` only: one entry each, not a list and a matrix of every row
    reference_rows = {row: NO_REFERENCE if ref_row is None else ref_row}
    if not needs_draws(table.results, reference_rows, row):
        return built
    bounds = np.array([rating.boundaries.get(k, engine.NO_BOUNDARIES) for k in table.metrics], dtype=float)
    weights = np.array([float(rating.weights.get(k, 0.0)) for k in table.metrics])
    scale = {row: np.full(len(table.metrics), np.nan)}
    metric_p, compound_p = rating_probabilities(table.results, table.metrics, reference_rows, scale,
                                                table.higher_is_better, bounds.reshape(-1, 4), weights,
                                                rating.mode, [row])
    metrics = {key: metric_rating(built.entry, key, built.metrics[key].index, metric_p[0][j].tolist(),
                                  supports.get(key))
               for j, key in enumerate(table.metrics)}
    probabilities = tuple(float(p) for p in compound_p[0])
    best = max(range(len(engine.RATINGS)), key=lambda i: (probabilities[i], -i))
    return replace(built, metrics=metrics, compound=engine.RATINGS[best], compound_p=probabilities,
                   resampled=True)


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
