"""Finding ``mlee-result/1`` records in a directory: each file decoded by the typed fast path
(:mod:`mlel.results.decode`), or checked field by field where that path declines, so a bad file
becomes a :class:`Problem` naming the field. Files are read by :func:`mlel.base.io.read_file_bytes`:
a FIFO, device, socket or oversized file among them becomes a Problem naming what it is."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from mlel.base.io import json_file_names, parse_json_bytes, read_file_bytes
from mlel.results import decode as _decode
from mlel.results.record import _SCHEMA_MARK, SCHEMA, Problem, RecordError, ResultRecord


@dataclass(frozen=True)
class RecordScan:
    """What :func:`read_result_records` found: valid records (with their file name), problems with
    files that claim the schema, and files that are not result records at all (left to other readers)."""

    records: tuple[tuple[str, ResultRecord], ...]  # (file name, record), in file-name order
    problems: tuple[Problem, ...]
    foreign: tuple[Path, ...]


def _scan(directory: str | os.PathLike) -> Iterator[tuple[str, ResultRecord | Problem | None]]:

    prefix = os.path.join(directory, "")  # names joined by concatenation: 100,000 of them
    for name in json_file_names(directory):
        try:
            data = read_file_bytes(prefix + name)
        except OSError as error:
            yield name, Problem(name, f"cannot read: {error.strerror or error}")
            continue
        yield name, parse_record_bytes(name, data)


def iter_result_records(directory: str | os.PathLike) -> Iterator[tuple[Path, ResultRecord | Problem | None]]:
    """Each ``*.json`` in ``directory`` (sorted, not recursive) with its record, a :class:`Problem`,
    or None where the file is not an ``mlee-result`` file (e.g. a merged log)."""
    folder = Path(directory)
    for name, found in _scan(directory):
        yield folder / name, found


def parse_record_bytes(name: str, data: bytes) -> ResultRecord | Problem | None:
    """A file's bytes -> its record, a :class:`Problem`, or None where it is not an
    ``mlee-result`` file at all (left to other readers)."""
    if _SCHEMA_MARK not in data:
        return None
    fast = _decode.fast_record(data)
    if fast is not None:
        return fast
    try:
        obj = parse_json_bytes(data)  # the depth cap, named
    except ValueError as error:
        return Problem(name, str(error))
    schema = obj.get("schema") if isinstance(obj, dict) else None
    if not isinstance(schema, str) or not schema.startswith("mlee-result/"):
        return None
    if schema != SCHEMA:
        return Problem(name, f"unsupported schema {schema!r} (this version reads {SCHEMA!r})", "schema")
    try:
        return ResultRecord.from_dict(obj)
    except RecordError as error:
        return Problem(name, error.reason, error.field)


def read_result_records(directory: str | os.PathLike) -> RecordScan:
    """Every ``mlee-result/1`` record in ``directory`` with its file name; invalid ones become named
    problems."""
    folder = Path(directory)
    records, problems, foreign = [], [], []
    for name, found in _scan(directory):
        if type(found) is ResultRecord:
            records.append((name, found))
        elif found is None:
            foreign.append(folder / name)
        else:
            problems.append(found)
    return RecordScan(tuple(records), tuple(problems), tuple(foreign))
