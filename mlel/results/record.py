"""The generic result record ``mlee-result/1`` (SPEC §9): its typed parts and their field-by-field
validation, each error naming the field."""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Mapping, NamedTuple

_NUMBER = (int, float)

import msgspec
from msgspec.structs import force_setattr
import orjson

from mlel.base.errors import InputError
from mlel.base.names import file_safe_name
from mlel.base.values import finite_float, quantity_problem

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
            number = finite_float(value) if type(value) in _NUMBER else None  # an int of 400 digits: no float
            if number is None:
                raise RecordError(f"properties.{key}.value", f"must be a finite number or null, got {value!r:.60}")
            value = number
        unit = data.get("unit", "")
        if type(unit) is not str:
            raise RecordError(f"properties.{key}.unit", f"must be a string, got {unit!r}")
        problem = quantity_problem(value, unit)  # a negative energy, time or power (one rule, mlel.base.values)
        if problem:
            raise RecordError(f"properties.{key}.value", problem)
        source = data.get("source")
        if source not in SOURCES:
            raise RecordError(f"properties.{key}.source",
                              f"must be one of {', '.join(SOURCES)}, got {source!r}")
        return cls(value, unit, source)


_Count = Annotated[int, msgspec.Meta(ge=0)]


class SourceWindow(msgspec.Struct, frozen=True, gc=False):
    """One power source's measured window: its length, how many samples, at which interval. The one
    type of both routes: merged logs' runs (:mod:`mlel.runlog.run_facts`) and records (``window``)."""

    source: str
    duration_s: _Finite | None
    samples: _Count | None
    interval_s: _Finite | None

    def to_dict(self) -> dict:
        return {"source": self.source, "duration_s": self.duration_s, "samples": self.samples,
                "interval_s": self.interval_s}


class MeasuredWindow(msgspec.Struct, frozen=True, gc=False):
    """A record's optional ``window``: how long its values were measured (the run's results window)
    and each power source's window — what the validity gates check (:mod:`mlel.ratings.gates`).
    Written by merge for a recorded experiment; absent where the source tool does not say (imports,
    records merged before windows were kept): then the window cannot be checked."""

    duration_s: _Finite | None
    sources: tuple[SourceWindow, ...] = ()

    def to_dict(self) -> dict:
        return {"duration_s": self.duration_s, "sources": [s.to_dict() for s in self.sources]}

    @classmethod
    def from_dict(cls, data: Any, where: str = "window") -> "MeasuredWindow":
        """Validated field by field; errors name ``window.sources[i].<field>``."""
        try:
            return msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:  # "... - at `$.sources[0].samples`": name the field
            reason, _, path = str(exc).partition(" - at `$")
            raise RecordError(where + path.rstrip("`"), reason) from None


# Records, their provenance and environment are frozen msgspec structs that the collector never
# tracks (gc=False): 100,000 records hold no reference cycle (their dicts hold strings, numbers and
# PropertyValues), and tracked ones made every full collection walk them again (issue 23).


class Provenance(msgspec.Struct, frozen=True, gc=False):
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
        return cls(_text(data, "tool", where), _text(data, "file", where, required=False), row)


class Environment(msgspec.Struct, frozen=True, gc=False):
    hardware: str
    software: str = ""
    name: str = ""  # defaults to "<hardware> - <software>" (or the hardware alone)

    def __post_init__(self):
        if not self.name:
            default = f"{self.hardware} - {self.software}" if self.software else self.hardware
            force_setattr(self, "name", default)

    def to_dict(self) -> dict:
        return {"hardware": self.hardware, "software": self.software, "name": self.name}

    @classmethod
    def from_dict(cls, data: Any, where: str = "environment.") -> "Environment":
        if not isinstance(data, dict):
            raise RecordError(where.rstrip("."), "must be an object {hardware, software, name}")
        return cls(_text(data, "hardware", where), _text(data, "software", where, required=False),
                   _text(data, "name", where, required=False))


def check_properties(properties: Mapping) -> None:
    """Raise :class:`RecordError` naming the first property that is not a valid PropertyValue."""
    for key, prop in properties.items():
        if not isinstance(prop, PropertyValue):
            raise RecordError(f"properties.{key}", "must be a PropertyValue")
        if prop.source not in SOURCES:
            raise RecordError(f"properties.{key}.source",
                              f"must be one of {', '.join(SOURCES)}, got {prop.source!r}")
        value = prop.value
        if value is not None and (type(value) not in _NUMBER or finite_float(value) is None):
            raise RecordError(f"properties.{key}.value", f"must be a finite number or null, got {value!r:.60}")
        problem = quantity_problem(value, prop.unit)
        if problem:
            raise RecordError(f"properties.{key}.value", problem)


def _check_signs(properties: Mapping) -> None:
    """A reader's decoded properties: a negative energy, time or power is refused (RecordError; the
    reader then takes the slow path, whose error names the field). Only negative values look further."""
    for key, prop in properties.items():
        value = prop.value
        if value is not None and value < 0:
            problem = quantity_problem(value, prop.unit)
            if problem:
                raise RecordError(f"properties.{key}.value", problem)


class ResultRecord(msgspec.Struct, frozen=True, gc=False):
    """One entry of one task in one environment, with its property values. ``properties`` and
    ``configuration`` are the record's own plain dicts (copied when it is built directly; nothing
    changes them: read them, never write them)."""

    task: str
    model: str
    environment: Environment
    properties: Mapping[str, PropertyValue]
    provenance: Provenance
    name: str = ""  # the entry's distinguishing name (model + configuration); defaults to model
    dataset: str = ""
    configuration: Mapping[str, Any] = msgspec.field(default_factory=dict)
    runs: int = 1
    notes: str = ""
    window: MeasuredWindow | None = None  # None: not recorded, so not checkable (old records, imports)

    def __post_init__(self):
        properties = self.properties
        if properties.__class__ is _Checked:  # validated by the reader (from_dict, decode): its own dict
            force_setattr(self, "properties", properties.data)
        else:  # built directly: the record's own copy, checked
            properties = dict(properties or {})
            check_properties(properties)
            force_setattr(self, "properties", properties)
            force_setattr(self, "configuration", dict(self.configuration or {}))
        if not self.name:
            force_setattr(self, "name", self.model)

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
        if self.window is not None:
            out["window"] = self.window.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Any) -> "ResultRecord":
        """Validate and build, field by field; raises :class:`RecordError` naming the first field at
        fault. (A directory's files go through :mod:`mlel.results.decode` first: the same checks
        by types, in C.)"""
        if not isinstance(data, dict):
            raise RecordError("(record)", "must be a JSON object")
        if data.get("schema") != SCHEMA:
            raise RecordError("schema", f"must be {SCHEMA!r}, got {data.get('schema')!r}")
        if data.get("incomplete"):  # a recorded run that ended early (mlel.runlog.recorded): not rated
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
        window = data.get("window")
        if window is not None:
            window = MeasuredWindow.from_dict(window)
        return trusted_record(
            _text(data, "task", ""), model, Environment.from_dict(data.get("environment")), properties,
            Provenance.from_dict(data.get("provenance")), _text(data, "name", "", required=False) or model,
            _text(data, "dataset", "", required=False), dict(configuration), runs,
            _text(data, "notes", "", required=False), window)


class _Checked(NamedTuple):
    """A reader's validated properties, marked so the record takes them as they are (:func:`trusted_record`)."""

    data: dict


def trusted_record(task: str, model: str, environment: Environment, properties: dict, provenance: Provenance,
                   name: str, dataset: str, configuration: dict, runs: int, notes: str,
                   window: MeasuredWindow | None) -> ResultRecord:
    """A record of fields a reader has validated, in the record's field order: ``properties`` and
    ``configuration`` are fresh dicts that become the record's own (not copied, not checked again:
    100,000 records); only their signs are checked here, the one check types cannot make."""
    _check_signs(properties)
    return ResultRecord(task, model, environment, _Checked(properties), provenance, name, dataset,
                        configuration, runs, notes, window)


def record_file_name(record: ResultRecord, occurrence: int = 0) -> str:
    """A file-safe, stable file name for a record: readable slugs of task, name and environment,
    plus a short hash of the full identity, so entries that slug alike never collide and the same
    entry always gets the same name (re-import overwrites, never duplicates). ``occurrence`` tells
    apart repeated measurements of one entry in one source (the 2nd is 1, ...)."""
    parts = [record.task, record.name, record.model, record.environment.name, dict(record.configuration)]
    identity = orjson.dumps(parts + [occurrence] if occurrence else parts, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha1(identity).hexdigest()[:10]
    slugs = (file_safe_name(text, "x", sep="-", limit=limit) for text, limit in
             ((record.task, 40), (record.name, 80), (record.environment.name, 40)))
    return f"{'__'.join(slugs)}__{digest}.json"
