"""The generic result record ``mlee-result/1`` (SPEC §9): what an importer or a user's own experiment
writes, one JSON object per rated entry, and the reader that finds such records in a directory.

A record names one entry (a model in one configuration) of one task in one environment, its
property values with unit and source, and where they came from::

    {"schema": "mlee-result/1", "task": "lm-arena-chat", "model": "Qwen/Qwen3-14B",
     "name": "Qwen/Qwen3-14B (max_num_seqs 8)", "dataset": "...",
     "configuration": {"max_num_seqs": 8}, "environment": {"hardware": "1 x B200",
     "software": "vLLM", "name": "1 x B200 - vLLM"},
     "properties": {"energy_per_token": {"value": 0.699, "unit": "J/token", "source": "reported"}},
     "runs": 1, "provenance": {"tool": "ML.ENERGY leaderboard", "file": "tasks/lm-arena-chat.json", "row": 0}}

``name`` (the entry's distinguishing name; defaults to ``model``) and ``notes`` are optional. A
record marked ``"incomplete": true`` (a recorded run that ended early, see :mod:`mlel.record`) is
refused with its ``incomplete_reason``, as merged logs of incomplete runs are. The directory reader
decodes well-formed files in one typed pass (:mod:`mlel.results_decode`) and validates the rest here.
Validation errors name the field (``properties.energy_per_token.source``).
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import sys
from collections import abc
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Iterator, Literal, Mapping

_NUMBER = (int, float)
_new = object.__new__
_setattr = object.__setattr__  # frozen dataclasses: how the hot paths fill a validated instance

import msgspec
import orjson

from mlel.errors import InputError

SCHEMA = "mlee-result/1"
SOURCES = ("measured", "estimated", "reported", "computed")
_SCHEMA_MARK = b'"mlee-result/'  # cheap pre-check before parsing a candidate file


class RecordError(InputError):
    """A record that is not a valid ``mlee-result/1`` object; ``field`` is the dotted path at fault."""

    def __init__(self, field_path: str, reason: str):
        super().__init__(f"{field_path}: {reason}")
        self.field = field_path
        self.reason = reason


@dataclass(frozen=True)
class Problem:
    """Something that could not be read or imported: which file, row and field, and why."""

    file: str
    reason: str
    field: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = self.file + (f", row {self.row}" if self.row is not None else "")
        return f"{where}: {self.field + ': ' if self.field else ''}{self.reason}"

    def to_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "field": self.field, "reason": self.reason}


def _text(data: Mapping, key: str, where: str, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise RecordError(f"{where}{key}", f"must be a non-empty string, got {value!r}")
    return value


def _object(data: Mapping, key: str, where: str) -> Mapping:
    value = data.get(key)
    if not isinstance(value, dict):
        raise RecordError(f"{where}{key}", f"must be an object, got {type(value).__name__}")
    return value


_Finite = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]
_Source = Literal["measured", "estimated", "reported", "computed"]  # = SOURCES


class PropertyValue(msgspec.Struct, frozen=True, gc=False):
    """One property's value (None: not available, shown as n.a., rated E), its unit and how it was
    obtained (one of SOURCES). A frozen msgspec struct, so the directory reader decodes files straight
    into it, in C, types checked; a record built directly checks its values (ResultRecord)."""

    value: _Finite | None
    unit: str
    source: _Source

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit, "source": self.source}

    @classmethod
    def from_dict(cls, data: Any, key: str = "") -> "PropertyValue":
        """From ``{"value", "unit", "source"}``; errors name ``properties.<key>.<field>``."""
        if type(data) is not dict:  # JSON objects are dicts (and exact type checks are fast)
            raise RecordError(f"properties.{key}", "must be an object {value, unit, source}")
        value = data.get("value")
        if value is not None:
            if type(value) not in _NUMBER or not math.isfinite(value):
                raise RecordError(f"properties.{key}.value", f"must be a finite number or null, got {value!r}")
            value = float(value)
        unit = data.get("unit", "")
        if type(unit) is not str:
            raise RecordError(f"properties.{key}.unit", f"must be a string, got {unit!r}")
        source = data.get("source")
        if source not in SOURCES:
            raise RecordError(f"properties.{key}.source",
                              f"must be one of {', '.join(SOURCES)}, got {source!r}")
        return cls(value, unit, source)


@dataclass(frozen=True)
class Provenance:
    tool: str  # e.g. "ML.ENERGY leaderboard", "CodeCarbon", "MLflow"
    file: str  # the source file (or tracking URI) as the user named it
    row: int | None = None  # 0-based entry in that file; None where the source has no rows

    def to_dict(self) -> dict:
        return {"tool": self.tool, "file": self.file, "row": self.row}

    @classmethod
    def from_dict(cls, data: Any, where: str = "provenance.") -> "Provenance":
        if not isinstance(data, dict):
            raise RecordError(where.rstrip("."), "must be an object {tool, file, row}")
        row = data.get("row")
        if row is not None and (type(row) is not int or row < 0):
            raise RecordError(f"{where}row", f"must be a non-negative integer or null, got {row!r}")
        made = _new(cls)  # validated: skip the frozen __init__ (hot path)
        _setattr(made, "__dict__", {"tool": _text(data, "tool", where),
                                    "file": _text(data, "file", where, required=False), "row": row})
        return made


@dataclass(frozen=True)
class Environment:
    hardware: str
    software: str = ""
    name: str = ""  # defaults to "<hardware> - <software>" (or the hardware alone)

    def __post_init__(self):
        if not self.name:
            default = f"{self.hardware} - {self.software}" if self.software else self.hardware
            object.__setattr__(self, "name", default)

    def to_dict(self) -> dict:
        return {"hardware": self.hardware, "software": self.software, "name": self.name}

    @classmethod
    def from_dict(cls, data: Any, where: str = "environment.") -> "Environment":
        if not isinstance(data, dict):
            raise RecordError(where.rstrip("."), "must be an object {hardware, software, name}")
        hardware = _text(data, "hardware", where)
        software = _text(data, "software", where, required=False)
        name = _text(data, "name", where, required=False)
        if not name:
            return cls(hardware, software)
        made = _new(cls)  # validated: skip the frozen __init__ (hot path)
        _setattr(made, "__dict__", {"hardware": hardware, "software": software, "name": name})
        return made


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ResultRecord:
    """One entry of one task in one environment, with its property values."""

    task: str
    model: str
    environment: Environment
    properties: Mapping[str, PropertyValue]
    provenance: Provenance
    name: str = ""  # the entry's distinguishing name (model + configuration); defaults to model
    dataset: str = ""
    configuration: Mapping[str, Any] = field(default_factory=dict)
    runs: int = 1
    notes: str = ""

    def __post_init__(self):
        object.__setattr__(self, "properties", _frozen(self.properties))
        object.__setattr__(self, "configuration", _frozen(self.configuration))
        if not self.name:
            object.__setattr__(self, "name", self.model)
        for key, prop in self.properties.items():
            if not isinstance(prop, PropertyValue):
                raise RecordError(f"properties.{key}", "must be a PropertyValue")
            if prop.source not in SOURCES:
                raise RecordError(f"properties.{key}.source",
                                  f"must be one of {', '.join(SOURCES)}, got {prop.source!r}")
            value = prop.value
            if value is not None and (type(value) not in _NUMBER or not math.isfinite(value)):
                raise RecordError(f"properties.{key}.value", f"must be a finite number or null, got {value!r}")

    def value(self, key: str) -> float | None:
        prop = self.properties.get(key)
        return None if prop is None else prop.value

    def to_row(self) -> dict:
        """One flat row for tables and plots: identity columns, then each property's value under
        its key and its source under ``<key>.source``."""
        row = {"task": self.task, "model": self.model, "name": self.name, "dataset": self.dataset,
               "environment": self.environment.name, "hardware": self.environment.hardware,
               "software": self.environment.software, "tool": self.provenance.tool, "runs": self.runs}
        for key, prop in self.properties.items():
            row[key] = prop.value
            row[f"{key}.source"] = prop.source
        return row

    def to_dict(self) -> dict:
        out = {"schema": SCHEMA, "task": self.task, "dataset": self.dataset, "model": self.model,
               "name": self.name, "configuration": dict(self.configuration),
               "environment": self.environment.to_dict(),
               "properties": {k: v.to_dict() for k, v in self.properties.items()},
               "runs": self.runs, "provenance": self.provenance.to_dict()}
        if self.notes:
            out["notes"] = self.notes
        return out

    @classmethod
    def from_dict(cls, data: Any) -> "ResultRecord":
        """Validate and build; raises :class:`RecordError` naming the first field at fault."""
        from mlel.results_decode import converted_record

        made = converted_record(data)  # a well-formed record: checked by types, in C
        return made if made is not None else cls.validated_from_dict(data)

    @classmethod
    def validated_from_dict(cls, data: Any) -> "ResultRecord":
        """:meth:`from_dict` checked field by field in Python: the path that names what is wrong."""
        if not isinstance(data, dict):
            raise RecordError("(record)", "must be a JSON object")
        if data.get("schema") != SCHEMA:
            raise RecordError("schema", f"must be {SCHEMA!r}, got {data.get('schema')!r}")
        if data.get("incomplete"):  # a recorded run that ended early (mlel.record): not rated
            raise RecordError("incomplete", f"incomplete run: {data.get('incomplete_reason') or 'no results'}")
        from_dict = PropertyValue.from_dict
        properties = {k: from_dict(v, k) for k, v in _object(data, "properties", "").items()}
        configuration = data.get("configuration") or {}
        if not isinstance(configuration, dict):
            raise RecordError("configuration", "must be an object")
        runs = data.get("runs", 1)
        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
            raise RecordError("runs", f"must be a positive integer, got {runs!r}")
        model = _text(data, "model", "")
        made = _new(cls)  # every field validated here: skip the frozen __init__ (hot path)
        made.__dict__.update(
            task=_text(data, "task", ""), model=model,
            environment=Environment.from_dict(data.get("environment")),
            properties=MappingProxyType(properties), provenance=Provenance.from_dict(data.get("provenance")),
            name=_text(data, "name", "", required=False) or model,
            dataset=_text(data, "dataset", "", required=False),
            configuration=MappingProxyType(dict(configuration)), runs=runs,
            notes=_text(data, "notes", "", required=False))
        return made


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-._")[:limit] or "x"


def record_file_name(record: ResultRecord, occurrence: int = 0) -> str:
    """A file-safe, stable file name for a record: readable slugs of task, name and environment,
    plus a short hash of the full identity, so entries that slug alike never collide and the same
    entry always gets the same name (re-import overwrites, never duplicates). ``occurrence`` tells
    apart repeated measurements of one entry in one source (the 2nd is 1, ...)."""
    parts = [record.task, record.name, record.model, record.environment.name, dict(record.configuration)]
    identity = orjson.dumps(parts + [occurrence] if occurrence else parts, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha1(identity).hexdigest()[:10]
    return (f"{_slug(record.task, 40)}__{_slug(record.name, 80)}__"
            f"{_slug(record.environment.name, 40)}__{digest}.json")


class RecordPaths(abc.Sequence):
    """The valid records of a scan as (path, record) pairs. Each Path is made when a pair is read:
    100,000 of them cost 0.7 s of CPU, more than rating the records (``bench/records_rating.py``);
    :meth:`named` gives (file name, record) pairs without them."""

    __slots__ = ("_folder", "_names", "_records")

    def __init__(self, folder: Path, names: tuple[str, ...], records: tuple[ResultRecord, ...]):
        self._folder, self._names, self._records = folder, names, records

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        return self._folder / self._names[i], self._records[i]

    def __eq__(self, other) -> bool:
        return isinstance(other, abc.Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # a sequence compared by content, like a list

    def named(self) -> list[tuple[str, ResultRecord]]:
        return list(zip(self._names, self._records))


@dataclass(frozen=True)
class RecordScan:
    """What :func:`read_result_records` found: valid records (with their file), problems with files
    that claim the schema, and files that are not result records at all (left to other readers)."""

    records: RecordPaths  # a sequence of (Path, ResultRecord)
    problems: tuple[Problem, ...]
    foreign: tuple[Path, ...]


def _scan(directory: str | os.PathLike) -> Iterator[tuple[str, ResultRecord | Problem | None]]:
    from mlel.io import read_file_bytes
    from mlel.logs import json_file_names

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
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        return Problem(name, f"not valid JSON ({error})")
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
    """Every ``mlee-result/1`` record in ``directory``; invalid ones become named problems."""
    from mlel.bulk import collector_paused

    folder = Path(directory)
    names, records, problems, foreign = [], [], [], []
    with collector_paused():  # many small acyclic records: see mlel.bulk
        for name, found in _scan(directory):
            if type(found) is ResultRecord:
                names.append(name)
                records.append(found)
            elif found is None:
                foreign.append(folder / name)
            else:
                problems.append(found)
    return RecordScan(RecordPaths(folder, tuple(names), tuple(records)), tuple(problems), tuple(foreign))


# The typed fast path builds on this module's types, so it is imported after them.
from mlel import results_decode as _decode  # noqa: E402
