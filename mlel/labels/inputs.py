"""What a label is drawn from: merged logs and generic result records (``mlee-result/1``) of one
directory, as entries to rate, and the provenance a record names. The I/O edge of the label tool.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from mlel.runlog.logs import RunLog, read_log
from mlel.ratings.rated import ModelResult, entries_from_records
from mlel.ratings import aggregate_runs
from mlel.ratings.report import load_entries
from mlel.results import SCHEMA, Problem, RecordError, ResultRecord, parse_record_bytes

_RECORD_MARK = b'"mlee-result/'


def is_result_record(path: str | os.PathLike) -> bool:
    """Whether the file claims the generic result schema (a cheap look, no parsing)."""
    with open(path, "rb") as handle:
        return _RECORD_MARK in handle.read()


def read_record(path: str | os.PathLike) -> ResultRecord:
    """One ``mlee-result/1`` record, read as a directory's records are
    (:func:`mlel.results.parse_record_bytes`); raises ValueError or :class:`RecordError` saying why."""
    found = parse_record_bytes(Path(path).name, Path(path).read_bytes())
    if found is None:
        raise ValueError(f"not a {SCHEMA} record")
    if isinstance(found, Problem):
        raise RecordError(found.field or "(record)", found.reason)
    return found


def read_named(path: Path) -> RunLog | ResultRecord:
    """The file a user named: a result record or a merged log."""
    return read_record(path) if is_result_record(path) else read_log(path)


@dataclass(frozen=True)
class Loaded:
    entries: list[ModelResult]  # to rate, merged logs first
    problems: list  # files skipped, with the reason
    runs: list[RunLog]  # the merged logs among them


def load_with(directory: Path, named: RunLog | ResultRecord | None, path: Path | None,
              property_sets=None) -> Loaded:
    """Every entry of ``directory``; a named file from elsewhere joins them (replacing one of the
    same name), so it is rated against the directory's reference."""
    entries, problems, runs = load_entries(directory, property_sets)
    if named is None or path is None or path.resolve().parent == directory.resolve():
        return Loaded(entries, problems, runs)
    log_files = {run.file for run in runs}
    imported = [e for e in entries if not set(e.logs) & log_files and path.name not in e.logs]
    if isinstance(named, ResultRecord):
        imported += entries_from_records([(path.name, named)])
    else:
        runs = [r for r in runs if r.file != named.file] + [named]
    return Loaded(aggregate_runs(runs) + imported, problems, runs)


def provenance_of(summary: Mapping, places: Sequence[Path]) -> dict | None:
    """The provenance (``{"tool", "file", "row"}``) of the first record the summary was rated from,
    looked up by file name in ``places`` (the directory, the named file's folder)."""
    logs = summary.get("logs") or []
    for name in logs[:1]:
        for place in places:
            candidate = place / str(name)
            try:
                if candidate.is_file() and is_result_record(candidate):
                    return read_record(candidate).provenance.to_dict()
            except (OSError, ValueError):
                continue
    return None
