"""What every importer shares: the import report, idempotent writing of records, and value parsing."""
from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from mlel.base.errors import OutputError
from mlel.base.io import dumps, write_atomic
from mlel.results import Problem, ResultRecord, record_file_name


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

    @property
    def total(self) -> int:
        return len(self.written) + len(self.unchanged)


def write_records(records: Iterable[ResultRecord], output_dir: str | os.PathLike) -> WriteSummary:
    """One JSON file per record under ``output_dir`` (created), named by :func:`record_file_name`.
    A file whose content is already the same is left untouched, so re-import is idempotent. Records of
    one entry repeated in the input (the same task, name and environment: repeated measurements) each
    get their own file, numbered by order of occurrence."""
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {out}: {error.strerror or error}") from error
    written, unchanged, occurrences = [], [], Counter()
    for record in records:
        identity = (record.task, record.name, record.environment.name)
        path = out / record_file_name(record, occurrences[identity])
        occurrences[identity] += 1
        data = dumps(record.to_dict())
        try:
            if path.is_file() and path.read_bytes() == data:
                unchanged.append(path)
                continue
        except OSError:
            pass  # unreadable: rewrite it
        write_atomic(path, data)
        written.append(path)
    return WriteSummary(tuple(written), tuple(unchanged))


def parse_number(raw: Any) -> float | None:
    """A finite float from a JSON or CSV cell; None for empty / NaN cells; ValueError otherwise."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"not a number: {raw!r}")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).strip()
        if text == "" or text.lower() in ("nan", "none", "null"):
            return None
        value = float(text)
    if math.isnan(value):
        return None
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {raw!r}")
    return value
