"""ELEx's data: the entries loaded at start-up, as one :class:`TaskTable` of numpy arrays per task
(:class:`ElexData`). It is built once, its arrays are frozen (``writeable=False``), and every session
reads it; what a session's settings make of it is :mod:`mlel.elex.state`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from mlel.ratings import aggregate_runs, value_matrix
from mlel.runlog.logs import RunLog
from mlel.runlog.metrics import TASKS
from mlel.tasks.properties import PropertySet, load_property_set
from mlel.ratings.rated import ModelResult, RatedResult
from mlel.elex.entries import environment_labels


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
