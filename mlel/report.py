"""Rate a directory of merged logs: the I/O edge around the rating core, and the text table."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

from pathlib import Path

import orjson

from mlel.logs import Problem, RunLog, load_logs
from mlel.metrics import TASKS
from mlel.properties import builtin_tasks, load_property_set
from mlel.rated import MetricRating, ModelResult, RatedResult, entries_from_records
from mlel.ratings import RatingOptions, aggregate_runs, rate_entries


@dataclass
class RatingReport:
    records: list[RatedResult]  # one per (task, environment, model)
    problems: list[Problem] = field(default_factory=list)  # files skipped, with the reason
    warnings: list[str] = field(default_factory=list)  # e.g. a reference model absent somewhere
    runs: list[RunLog] = field(default_factory=list)

    @cached_property
    def rated(self) -> list[dict]:
        """The records as rated summaries (SPEC §7 dicts)."""
        return [record.to_dict() for record in self.records]


def _result_records(directory: Path, problems: list[Problem]) -> tuple[list[ModelResult], list[Problem]]:
    """Among the files that are not merged logs, the generic result records (``mlee-result/1``,
    what ``python -m mlel.importers`` writes) as entries; the rest stay problems. Only files the
    log reader refused are read again."""
    from mlel.results import SCHEMA, RecordError, ResultRecord

    found, left = [], []
    for problem in problems:
        try:
            data = (directory / problem.file).read_bytes()
        except OSError:
            left.append(problem)
            continue
        if b'"mlee-result/' not in data:
            left.append(problem)
            continue
        try:
            obj = orjson.loads(data)
            if not isinstance(obj, dict) or obj.get("schema") != SCHEMA:
                raise RecordError("schema", f"this version reads {SCHEMA!r}")
            found.append((problem.file, ResultRecord.from_dict(obj)))
        except orjson.JSONDecodeError as error:
            left.append(Problem(problem.file, f"not valid JSON ({error})"))
        except RecordError as error:
            left.append(Problem(problem.file, f"not a valid result record: {error}"))
    return entries_from_records(found), left


def load_entries(directory: str | os.PathLike, property_sets=None
                 ) -> tuple[list[ModelResult], list[Problem], list[RunLog]]:
    """Every merged log (aggregated per (task, environment, model)) and every generic result record
    of ``directory`` as entries to rate; files that are neither, or records of a task without a
    property set, become problems. Returns (entries, problems, the merged logs' runs)."""
    runs, problems = load_logs(directory)
    imported, problems = _result_records(Path(directory), problems) if problems else ([], problems)
    known = set(builtin_tasks()) | set(property_sets or ())
    problems += [Problem(name, f"task '{entry.task}' has no property set: give --properties FILE")
                 for entry in imported if entry.task not in known for name in entry.logs]
    # merged logs first: training entries take the accuracy of inference entries
    return aggregate_runs(runs) + [e for e in imported if e.task in known], problems, runs


def rate_directory(directory: str | os.PathLike, options: RatingOptions | None = None,
                   task: str | None = None) -> RatingReport:
    """Load every merged log and every generic result record (SPEC §9) in ``directory`` and rate
    them, each task by its property set. Files that are neither become problems."""
    entries, problems, runs = load_entries(directory, options.property_sets if options else None)
    records, warnings = rate_entries(entries, options)
    if task:
        records = [record for record in records if record.task == task]
        warnings = [w for w in warnings if f" {task} " in w]
    return RatingReport(records, problems, warnings, runs)


def _cell(metric: MetricRating) -> str:
    if metric.value is None:
        return "n.a. (E)"
    return f"{metric.value:.4g} ({metric.rating})"


def format_table(records: list[RatedResult], options: RatingOptions | None = None) -> str:
    """A readable table per task: model, environment, compound, then each metric's value (rating)."""
    sets = (options.property_sets if options else None) or {}
    lines = []
    tasks = list(TASKS) + sorted({r.task for r in records} - set(TASKS))
    for task in tasks:
        rows = [r for r in records if r.task == task]
        if not rows:
            continue
        prop_set = sets.get(task) or load_property_set(task)
        header = ["model", "environment", "rating"] + [f"{p.key} [{p.unit}]" for p in prop_set.properties]
        body = [[r.model, r.environment + (" (estimated)" if r.estimated else ""), r.compound]
                + [_cell(r.metrics[k]) for k in prop_set.keys] for r in rows]
        widths = [max(len(str(row[i])) for row in [header] + body) for i in range(len(header))]
        lines.append(f"{task} — {len(rows)} rated")
        for row in [header] + body:
            lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
