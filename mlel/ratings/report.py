"""Rate a directory of merged logs: the I/O edge around the rating core, and the text table."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

from mlel.base.errors import UsageError
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
    origins: list[str] = field(default_factory=list)  # the directory each record's files are in

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
    return rate_directories([directory], options, task)


def rate_directories(directories: Sequence[str | os.PathLike], options: RatingOptions | None = None,
                     task: str | None = None) -> RatingReport:
    """:func:`rate_directory` over several directories rated as one: each directory's runs are pooled
    within it (one directory gives exactly what ``python -m mlel.ratings -d DIR`` shows), and an entry is
    indexed against its task and environment's reference whichever directory holds it. The report's
    ``origins`` name each record's directory; with several, a problem names its file with its directory.
    Raises UsageError for a directory given twice (its entries would be rated twice), FileNotFoundError /
    NotADirectoryError as :func:`mlel.runlog.logs.load_logs`."""
    options = options or RatingOptions()
    named = [os.fspath(directory) for directory in directories]
    seen: dict[str, str] = {}
    for directory in named:
        resolved = os.path.realpath(directory)
        if resolved in seen:
            raise UsageError(f"directory {directory} is given twice (also as {seen[resolved]})")
        seen[resolved] = directory
    entries, origins, problems, runs, results = [], [], [], [], []
    for directory in named:
        found, skipped, read_runs, read_records = _load(directory, options.property_sets, options.gates)
        entries += found
        origins += [directory] * len(found)
        problems += skipped if len(named) == 1 else [Problem(os.path.join(directory, p.file), p.reason)
                                                     for p in skipped]
        runs += read_runs
        results += read_records
    records, warnings = rate_entries(entries, options)  # one record per entry, in the entries' order
    if task:
        kept = [i for i, record in enumerate(records) if record.task == task]
        records, origins = [records[i] for i in kept], [origins[i] for i in kept]
        warnings = [w for w in warnings if f" {task} " in w]
    return RatingReport(records, problems, warnings, runs, results, origins)


def format_table(records: list[RatedResult], options: RatingOptions | None = None, wide: bool = False) -> str:
    """The readable table (:func:`mlel.ratings.table.format_table`): fits 120 columns unless ``wide``."""
    return _format_table(records, options.property_sets if options else None, wide)
