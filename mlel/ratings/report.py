"""Rate a directory of merged logs: the I/O edge around the rating core, and the text table."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

from mlel.base.io import read_file_bytes
from mlel.base.io import json_file_names
from mlel.runlog.logs import Problem, RunLog, parse_log_bytes
from mlel.tasks.properties import builtin_tasks
from mlel.ratings.rated import ModelResult, RatedResult, entries_from_records
from mlel.ratings import DEFAULT_GATES, Gates, RatingOptions, aggregate_runs, rate_entries
from mlel.ratings.table import format_table as _format_table


@dataclass
class RatingReport:
    records: list[RatedResult]  # one per (task, environment, model)
    problems: list[Problem] = field(default_factory=list)  # files skipped, with the reason
    warnings: list[str] = field(default_factory=list)  # e.g. a reference model absent somewhere
    runs: list[RunLog] = field(default_factory=list)  # the merged logs read
    results: list[tuple[str, "ResultRecord"]] = field(default_factory=list)  # the result records read

    @cached_property
    def rated(self) -> list[dict]:
        """The records as rated summaries (SPEC §7 dicts), each owning its dicts."""
        return [record.to_dict() for record in self.records]


def _record_problem(problem) -> Problem:
    """A result record's problem in the words of the merged-log reader's problems."""
    if problem.field is None:
        return Problem(problem.file, problem.reason)
    return Problem(problem.file, f"not a valid result record: {problem.field}: {problem.reason}")


def read_directory(directory: str | os.PathLike) -> tuple[list[RunLog], list[tuple[str, "ResultRecord"]],
                                                          list[Problem]]:
    """Every ``*.json`` of ``directory``, each read once: (merged logs, generic result records
    (``mlee-result/1``, what ``python -m mlel.importers`` writes) with their file names, one
    problem per file that is neither, with the reason). Raises FileNotFoundError /
    NotADirectoryError as :func:`mlel.runlog.logs.load_logs`."""
    from mlel.results import ResultRecord, parse_record_bytes

    names = json_file_names(directory)
    runs, records, problems = [], [], []
    folder = os.path.join(directory, "")  # joined by concatenation below: 100,000 names
    for name in names:
        try:
            data = read_file_bytes(folder + name)
            found = parse_record_bytes(name, data)
            if found is None:  # not a result record: a merged log, or a problem of the log reader
                runs.append(parse_log_bytes(data, name))
            elif isinstance(found, ResultRecord):
                records.append((name, found))
            else:
                problems.append(_record_problem(found))
        except (OSError, ValueError) as error:  # LogFormatError is a ValueError
            problems.append(Problem(name, str(error)))
    return runs, records, problems


def load_entries(directory: str | os.PathLike, property_sets=None, gates: Gates | None = DEFAULT_GATES
                 ) -> tuple[list[ModelResult], list[Problem], list[RunLog]]:
    """Every merged log (aggregated per (task, environment, model)) and every generic result record
    of ``directory`` as entries to rate; files that are neither, or records of a task without a
    property set, become problems. Returns (entries, problems, the merged logs' runs)."""
    return _load(directory, property_sets, gates)[:3]


def _load(directory, property_sets, gates) -> tuple[list[ModelResult], list[Problem], list[RunLog], list]:
    """:func:`load_entries`, and the result records read (name, record)."""
    runs, records, problems = read_directory(directory)
    imported = entries_from_records(records, gates)  # one gate setting for both routes
    known = set(builtin_tasks()) | set(property_sets or ())
    problems += [Problem(name, f"task '{entry.task}' has no property set: give --properties FILE")
                 for entry in imported if entry.task not in known for name in entry.logs]
    # merged logs first: training entries take the accuracy of inference entries
    return aggregate_runs(runs, gates) + [e for e in imported if e.task in known], problems, runs, records


def rate_directory(directory: str | os.PathLike, options: RatingOptions | None = None,
                   task: str | None = None) -> RatingReport:
    """Load every merged log and every generic result record (SPEC §9) in ``directory`` and rate
    them, each task by its property set. Files that are neither become problems. The report keeps
    what it read, merged logs and result records, for callers that want more of them than the rating;
    so freeing 100,000 records (0.45 s) is the caller's choice: the CLI leaves it to its exit."""
    options = options or RatingOptions()
    entries, problems, runs, results = _load(directory, options.property_sets, options.gates)
    records, warnings = rate_entries(entries, options)
    if task:
        records = [record for record in records if record.task == task]
        warnings = [w for w in warnings if f" {task} " in w]
    return RatingReport(records, problems, warnings, runs, results)


def format_table(records: list[RatedResult], options: RatingOptions | None = None, wide: bool = False) -> str:
    """The readable table (:func:`mlel.ratings.table.format_table`): fits 120 columns unless ``wide``."""
    return _format_table(records, options.property_sets if options else None, wide)
