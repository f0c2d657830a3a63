"""What every importer shares: the import report, idempotent writing of records, and value parsing."""
from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from mlel.base.values import number_problem, parse_number as strict_number
from mlel.base.errors import OutputError
from mlel.base.io import dumps, read_file_bytes, remove_stale_temps, write_atomic
from mlel.results import Problem, ResultRecord, parse_record_bytes, record_file_name


@dataclass
class ImportReport:
    """Records an importer made and every row it skipped (file, row, field, reason)."""

    records: list[ResultRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # informational lines (e.g. what a filter kept)

    def skip(self, file: str, reason: str, field_name: str | None = None, row: int | None = None) -> None:
        self.problems.append(Problem(file, reason, field_name, row))

    def counts_by_task(self) -> dict[str, int]:
        return dict(sorted(Counter(r.task for r in self.records).items()))


@dataclass(frozen=True)
class WriteSummary:
    written: tuple[Path, ...]  # new or changed files
    unchanged: tuple[Path, ...]  # files whose content was already exactly this
    refused: tuple[Problem, ...] = ()  # records not written: their file holds the entry from another source
    cleaned: tuple[str, ...] = ()  # temp files an interrupted (SIGKILLed) import had left, removed

    @property
    def total(self) -> int:
        return len(self.written) + len(self.unchanged)


def _source(record: ResultRecord) -> tuple[str, str]:
    return record.provenance.tool, record.provenance.file


def _existing(path: Path) -> bytes | None:
    try:
        return read_file_bytes(path, follow=False)
    except OSError:  # absent or unreadable: (re)written
        return None


def _other_source(path: Path, existing: bytes, record: ResultRecord) -> str | None:
    """Why ``record`` must not replace the file at ``path`` (it holds this entry imported from another
    source), or None where it may (not a record, or one from the same source)."""
    found = parse_record_bytes(path.name, existing)
    if not isinstance(found, ResultRecord) or _source(found) == _source(record):
        return None
    tool, file = _source(found)
    return (f"{path.name} already holds this entry from {tool} {file or '(no file)'}: not replaced by "
            f"{record.provenance.tool} {record.provenance.file or '(no file)'} (import it into another "
            "--output-dir, or remove that file)")


def write_records(records: Iterable[ResultRecord], output_dir: str | os.PathLike) -> WriteSummary:
    """One JSON file per record under ``output_dir`` (created), named by :func:`record_file_name`.
    A file whose content is already the same is left untouched, so re-import is idempotent; one from
    the same source (tool and file) is updated; one holding the entry from another source is kept and
    the new record refused (``refused`` says so). Records of one entry repeated in the input (the same
    task, name and environment: repeated measurements) each get their own file, numbered by order of
    occurrence. Temp files a SIGKILLed import left are removed first (``cleaned``)."""
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {out}: {error.strerror or error}") from error
    cleaned = remove_stale_temps(out)
    written, unchanged, refused, occurrences = [], [], [], Counter()
    for record in records:  # each file written whole (write_atomic holds SIGINT / SIGTERM)
        identity = (record.task, record.name, record.environment.name)
        path = out / record_file_name(record, occurrences[identity])
        occurrences[identity] += 1
        data = dumps(record.to_dict())
        existing = _existing(path)
        if existing == data:
            unchanged.append(path)
            continue
        reason = None if existing is None else _other_source(path, existing, record)
        if reason is not None:
            refused.append(Problem(record.provenance.file or record.provenance.tool, reason,
                                   row=record.provenance.row))
            continue
        write_atomic(path, data)
        written.append(path)
    return WriteSummary(tuple(written), tuple(unchanged), tuple(refused), tuple(cleaned))


def parse_number(raw: Any) -> float | None:
    """A finite float from a JSON or CSV cell by the one strict rule (:func:`mlel.base.values.parse_number`:
    no ``1_000``, no non-ASCII digits, no bool, no inf); None for an empty or NaN cell; ValueError
    (saying why) otherwise."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    if isinstance(raw, str) and raw.strip().lower() in ("", "nan", "none", "null"):
        return None
    value = strict_number(raw)
    if value is None:
        raise ValueError(number_problem(raw))
    return value
