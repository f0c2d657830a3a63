"""What every importer shares: the import report, idempotent writing of records, and value parsing."""
from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import orjson

from mlel.base.values import number_problem, parse_number as strict_number
from mlel.base.errors import OutputError
from mlel.base.io import dumps, read_file_bytes, remove_stale_temps, write_atomic
from mlel.results import Problem, ResultRecord, parse_record_bytes, record_file_name


PROBLEMS_KEPT = 1000  # problems a streamed import keeps (and prints); the rest are counted


@dataclass
class ImportReport:
    """Records an importer made and every row it skipped (file, row, field, reason). With
    ``problem_limit`` (a streamed import) only the first that many problems are kept, the rest counted
    in ``dropped``, so a million bad rows cost no memory."""

    records: list[ResultRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # informational lines (e.g. what a filter kept)
    problem_limit: int | None = None  # None: keep every problem
    dropped: int = 0  # problems beyond problem_limit: counted, not kept

    def skip(self, file: str, reason: str, field_name: str | None = None, row: int | None = None) -> None:
        if self.problem_limit is not None and len(self.problems) >= self.problem_limit:
            self.dropped += 1
            return
        self.problems.append(Problem(file, reason, field_name, row))

    @property
    def skipped(self) -> int:
        """Every problem, kept or only counted."""
        return len(self.problems) + self.dropped

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


class RecordWriter:
    """Writes records one at a time, the one rule of :func:`write_records`: a file whose content is
    already the same is left untouched (re-import is idempotent), one from the same source (tool and
    file) is updated, one holding the entry from another source is kept and the record refused.
    Records of one entry repeated in the input (the same task, name and environment: repeated
    measurements) each get their own file, numbered by order of occurrence; telling them apart keeps
    a 16-byte digest per entry seen (about 100 bytes an entry), never the records. The folder is
    created, and the temp files a SIGKILLed import left removed (``cleaned``), at the first record."""

    def __init__(self, output_dir: str | os.PathLike):
        self.out = Path(output_dir)
        self.cleaned: list[str] = []
        self._occurrences: dict[bytes, int] = {}
        self._open = False

    def open(self) -> None:
        if self._open:
            return
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create {self.out}: {error.strerror or error}") from error
        self.cleaned = remove_stale_temps(self.out)
        self._open = True

    def write(self, record: ResultRecord) -> tuple[Path, Problem | None, bool]:
        """The record's file, why it was refused (None: it was not), and whether it was written
        (False: its content was already exactly this, or it was refused)."""
        self.open()
        identity = hashlib.blake2b(orjson.dumps([record.task, record.name, record.environment.name]),
                                   digest_size=16).digest()
        occurrence = self._occurrences.get(identity, 0)
        self._occurrences[identity] = occurrence + 1
        path = self.out / record_file_name(record, occurrence)
        data = dumps(record.to_dict())
        existing = _existing(path)
        if existing == data:
            return path, None, False
        reason = None if existing is None else _other_source(path, existing, record)
        if reason is not None:
            return path, Problem(record.provenance.file or record.provenance.tool, reason,
                                 row=record.provenance.row), False
        write_atomic(path, data)  # each file written whole (write_atomic holds SIGINT / SIGTERM)
        return path, None, True


def write_records(records: Iterable[ResultRecord], output_dir: str | os.PathLike) -> WriteSummary:
    """One JSON file per record under ``output_dir`` (created), named by :func:`record_file_name`,
    by the rule of :class:`RecordWriter` (``refused`` names the records another source's file kept).
    Every path is kept in the summary: for a stream of any length, :func:`write_stream`."""
    writer = RecordWriter(output_dir)
    writer.open()
    written, unchanged, refused = [], [], []
    for record in records:
        path, problem, changed = writer.write(record)
        if problem is not None:
            refused.append(problem)
        else:
            (written if changed else unchanged).append(path)
    return WriteSummary(tuple(written), tuple(unchanged), tuple(refused), tuple(writer.cleaned))


@dataclass
class StreamSummary:
    """What :func:`write_stream` did, as counts: bounded whatever the stream's length."""

    records: int = 0
    by_task: Counter = field(default_factory=Counter)
    written: int = 0
    unchanged: int = 0
    refused: list[Problem] = field(default_factory=list)  # the first PROBLEMS_KEPT
    refused_count: int = 0
    cleaned: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.written + self.unchanged


def write_stream(records: Iterable[ResultRecord], output_dir: str | os.PathLike,
                 summary: StreamSummary | None = None) -> StreamSummary:
    """:func:`write_records` for a stream: each record is written as it comes and dropped, so memory
    stays bounded; the folder is created only when a record comes. ``summary`` (filled in place)
    tells a caller interrupted half-way what was written so far."""
    summary = summary if summary is not None else StreamSummary()
    writer = RecordWriter(output_dir)
    for record in records:
        _, problem, changed = writer.write(record)
        summary.cleaned = writer.cleaned
        summary.records += 1
        summary.by_task[record.task] += 1
        if problem is not None:
            summary.refused_count += 1
            if len(summary.refused) < PROBLEMS_KEPT:
                summary.refused.append(problem)
        elif changed:
            summary.written += 1
        else:
            summary.unchanged += 1
    return summary


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
