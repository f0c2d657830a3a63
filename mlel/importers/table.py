"""Import any table (a CSV, or MLflow runs as ``mlflow.search_runs()`` names their fields) with a
small mapping: which column names the model, which the environment, and which columns hold which
property of the task, in which unit.

A mapping entry ``PROPERTY=COLUMN[:UNIT]`` converts the column's values from UNIT to the unit of the
task's property (``inference_time=metrics.running_time:s`` -> ms / sample); a cell may also carry
its own unit (``"12.5 kWh"``), which wins. An empty cell leaves the property without a value (n.a.).
A row whose model or environment cell is empty, or with a cell that is not a number or whose unit
cannot be converted, is skipped and reported by file, row and field; the other rows are imported.
Runs whose ``status`` column is not FINISHED are skipped and reported, or, with
``include_unfinished``, imported and marked in the record's notes.

:func:`stream_csv` and :func:`stream_rows` yield the records one at a time as the rows are read, so a
table of any length is imported in bounded memory (the command line writes each as it comes);
:func:`import_csv` and :func:`import_rows` collect them in an :class:`ImportReport`.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from mlel.base.errors import InputError, UsageError
from mlel.base.values import number_problem, parse_number
from mlel.importers.common import ImportReport
from mlel.importers.property_units import UnitError, convert, parse_unit
from mlel.base.io import read_json
from mlel.tasks.properties import PropertySet, load_property_set, read_property_set
from mlel.results import SOURCES, Environment, PropertyValue, Provenance, RecordError, ResultRecord

_CELL_WITH_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s+(\S.*?)\s*$")
OPEN_TASKS = ("generic",)  # tasks whose mapping may name properties beyond the built-in set


@dataclass(frozen=True)
class ColumnMap:
    property: str
    column: str
    unit: str | None = None  # unit of the column's values; None: already the property's unit

    @classmethod
    def parse(cls, text: str) -> "ColumnMap":
        """``PROPERTY=COLUMN[:UNIT]``; raises UsageError."""
        key, sep, rest = text.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise UsageError(f"--map {text!r}: expected PROPERTY=COLUMN[:UNIT]")
        column, colon, unit = rest.rpartition(":")
        if not colon:
            column, unit = rest, ""
        return cls(key.strip(), column.strip(), unit.strip() or None)


@dataclass(frozen=True)
class TableMapping:
    task: str
    model: str  # column naming the model
    environment: tuple[str, ...]  # columns: hardware first, then software parts
    properties: tuple[ColumnMap, ...]
    name: str | None = None  # column naming the entry (default: the model)
    dataset: str | None = None  # column naming the dataset
    configuration: tuple[str, ...] = ()  # columns kept as the entry's configuration
    source: str = "reported"  # how the values were obtained (see mlel.results.SOURCES)

    def __post_init__(self):
        if not self.properties:
            raise UsageError("no property mapped: give at least one --map PROPERTY=COLUMN")
        if not self.environment:
            raise UsageError("no environment column: give --environment COLUMN[,COLUMN...]")
        if self.source not in SOURCES:
            raise UsageError(f"--source must be one of {', '.join(SOURCES)}")


def mapping_from_file(path: str | os.PathLike, **overrides: Any) -> TableMapping:
    """A mapping file (JSON): ``{"task", "model", "environment": [..], "properties": {PROPERTY:
    "COLUMN" | {"column", "unit"}}, "name", "dataset", "configuration": [..], "source"}``; keyword
    arguments that are not None override the file."""
    try:
        data = read_json(path)
    except (OSError, ValueError) as error:
        raise UsageError(f"mapping file {path}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("properties"), dict):
        raise UsageError(f"mapping file {path}: expected an object with a 'properties' object")
    maps = []
    for key, spec in data["properties"].items():
        spec = {"column": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or not isinstance(spec.get("column"), str):
            raise UsageError(f"mapping file {path}: properties.{key} must name a column")
        maps.append(ColumnMap(key, spec["column"], spec.get("unit")))
    environment = data.get("environment") or ()
    values = {"task": data.get("task"), "model": data.get("model"),
              "environment": tuple([environment] if isinstance(environment, str) else environment),
              "properties": tuple(maps), "name": data.get("name"), "dataset": data.get("dataset"),
              "configuration": tuple(data.get("configuration") or ()), "source": data.get("source", "reported")}
    values.update({k: v for k, v in overrides.items() if v not in (None, (), [])})
    if not values["task"] or not values["model"]:
        raise UsageError(f"mapping file {path}: 'task' and 'model' are required (or --task/--model)")
    return TableMapping(**values)


def resolve_property_set(task: str, properties_file: str | os.PathLike | None) -> PropertySet | None:
    """The property set values are converted to: the user's file, or the built-in set of the task.
    None only for an open task without a built-in set."""
    if properties_file is not None:
        return read_property_set(properties_file)
    try:
        return load_property_set(task)
    except UsageError:
        if task in OPEN_TASKS:
            return None
        raise


def _target_units(mapping: TableMapping, property_set: PropertySet | None) -> dict[str, str]:
    """Property -> the unit its values are stored in; UsageError for a property the task lacks or
    a mapping unit that is not a unit at all."""
    targets = {}
    for column_map in mapping.properties:
        known = property_set.get(column_map.property) if property_set is not None else None
        if known is None and mapping.task not in OPEN_TASKS:
            keys = ", ".join(property_set.keys) if property_set is not None else ""
            raise UsageError(f"--map {column_map.property}: task '{mapping.task}' has no such property"
                             f" (its properties: {keys})")
        if column_map.unit is not None:
            try:
                parse_unit(column_map.unit)
            except UnitError as error:
                raise UsageError(f"--map {column_map.property}: {error}") from None
        targets[column_map.property] = known.unit if known is not None else (column_map.unit or "")
    return targets


def _cell_value(raw: Any, unit: str | None, target: str) -> float | None:
    """A cell's number in the target unit; ValueError / UnitError say why not."""
    if isinstance(raw, str):
        match = _CELL_WITH_UNIT.match(raw)
        if match:
            raw, unit = match.group(1), match.group(2)
    if raw is None or (isinstance(raw, float) and raw != raw) or (
            isinstance(raw, str) and raw.strip().lower() in ("", "nan", "none", "null")):
        return None  # an empty cell: no value
    value = parse_number(raw)  # the one strict rule: no "1_000", no non-ASCII digits, no bool, no inf
    if value is None:
        raise ValueError(number_problem(raw))
    if unit is None or not target:
        return value
    return convert(value, unit, target)


def _text_cell(row: Mapping, column: str) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value).strip()
    return "" if text.lower() == "nan" else text


@dataclass
class _Context:
    mapping: TableMapping
    targets: dict[str, str]
    file: str
    tool: str
    include_unfinished: bool
    report: ImportReport = field(default_factory=ImportReport)


def _row_record(row: Mapping, number: int, ctx: _Context) -> ResultRecord | None:
    mapping, report = ctx.mapping, ctx.report
    status = _text_cell(row, "status")
    notes = ""
    if status and status.upper() != "FINISHED":
        if not ctx.include_unfinished:
            report.skip(ctx.file, f"run status {status} (not FINISHED; --include-unfinished imports it)",
                        "status", number)
            return None
        notes = f"unfinished run (status {status})"
    model = _text_cell(row, mapping.model)
    if not model:
        report.skip(ctx.file, "no model name (empty or missing)", mapping.model, number)
        return None
    parts = [_text_cell(row, column) for column in mapping.environment]
    missing = [c for c, p in zip(mapping.environment, parts) if not p]
    if missing:
        report.skip(ctx.file, "no environment value (empty or missing)", missing[0], number)
        return None
    properties = {}
    for column_map in mapping.properties:
        target = ctx.targets[column_map.property]
        try:
            value = _cell_value(row.get(column_map.column), column_map.unit, target)
        except (UnitError, ValueError, TypeError) as error:
            shown = row.get(column_map.column)
            report.skip(ctx.file, f"{column_map.property}: value {shown!r:.60}: {error}", column_map.column, number)
            return None
        properties[column_map.property] = PropertyValue(value, target, mapping.source)
    if all(p.value is None for p in properties.values()):
        report.skip(ctx.file, "none of the mapped columns has a value",
                    ",".join(m.column for m in mapping.properties), number)
        return None
    configuration = {c: row.get(c) for c in mapping.configuration if _text_cell(row, c)}
    try:
        return _record(row, number, ctx, model, parts, properties, configuration, notes)
    except RecordError as error:  # a value the record refuses (a negative energy, say): this row only
        key = error.field.split(".")[1] if error.field.startswith("properties.") else None
        column = next((m.column for m in mapping.properties if m.property == key), error.field)
        report.skip(ctx.file, f"{key or error.field}: value {row.get(column)!r:.60}: {error.reason}", column, number)
        return None


def _record(row: Mapping, number: int, ctx: _Context, model: str, parts: list[str], properties: dict,
            configuration: dict, notes: str) -> ResultRecord:
    mapping = ctx.mapping
    return ResultRecord(
        task=mapping.task, model=model,
        environment=Environment(parts[0], " ".join(parts[1:]), " - ".join(parts)),
        properties=properties, provenance=Provenance(ctx.tool, ctx.file, number),
        name=_text_cell(row, mapping.name) if mapping.name else "",
        dataset=_text_cell(row, mapping.dataset) if mapping.dataset else "",
        configuration=configuration, notes=notes)


def stream_rows(rows: Iterable[Mapping], columns: Iterable[str], mapping: TableMapping, report: ImportReport,
                *, file: str, tool: str, property_set: PropertySet | None, include_unfinished: bool = False,
                malformed: Callable[[int, Mapping], str | None] | None = None) -> Iterator[ResultRecord]:
    """The records of table rows, one at a time as ``rows`` yields them (0-based row numbers in
    reports); skipped rows go to ``report``. ``columns`` is the table's header: a mapped column it
    lacks is reported once, by file and field. ``malformed(number, row)``: why the reader could not
    split that row (skipped and reported), or None. A mapping the task refuses raises UsageError
    here, before any row is read."""
    ctx = _Context(mapping, _target_units(mapping, property_set), file, tool, include_unfinished, report)
    header = set(columns)
    for column in (mapping.model, *mapping.environment, *(m.column for m in mapping.properties)):
        if column not in header:
            report.skip(file, "column not in the table", column)
    return _records(rows, ctx, malformed)


def _records(rows: Iterable[Mapping], ctx: _Context, malformed) -> Iterator[ResultRecord]:
    for number, row in enumerate(rows):
        why = malformed(number, row) if malformed is not None else None
        if why is not None:
            ctx.report.skip(ctx.file, why, None, number)
            continue
        record = _row_record(row, number, ctx)
        if record is not None:
            yield record


def import_rows(rows: Iterable[Mapping], columns: Iterable[str], mapping: TableMapping, *, file: str,
                tool: str, property_set: PropertySet | None, include_unfinished: bool = False,
                malformed: Mapping[int, str] | None = None) -> ImportReport:
    """Records from table rows, all in the report (:func:`stream_rows` yields them one at a time).
    ``malformed``: row number -> why the reader could not split that row (skipped and reported)."""
    report = ImportReport()
    why = (lambda number, row: malformed.get(number)) if malformed else None
    report.records.extend(stream_rows(rows, columns, mapping, report, file=file, tool=tool,
                                      property_set=property_set, include_unfinished=include_unfinished,
                                      malformed=why))
    return report


Progress = Callable[[int, int], Any]  # (bytes read so far, bytes in all)
_PROGRESS_EVERY = 4096  # rows between progress calls


def stream_csv(path: str | os.PathLike, mapping: TableMapping, report: ImportReport, *, properties_file=None,
               include_unfinished: bool = False, tool: str = "CSV",
               progress: Progress | None = None) -> Iterator[ResultRecord]:
    """The records of a CSV file (any table; e.g. one written by ``mlflow.search_runs().to_csv()``),
    read row by row as they are taken: memory stays bounded whatever the file's length. Skipped rows
    go to ``report`` (give it a ``problem_limit`` to bound it too). The property set, the mapping,
    the file and its header are checked here, before any row is read (UsageError, InputError); a row
    the csv reader cannot read later raises InputError when reached. ``progress(done, size)`` is
    called every few thousand rows and at the end, in bytes of the file."""
    property_set = resolve_property_set(mapping.task, properties_file)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror or error}") from None
    try:
        reader = csv.DictReader(handle)
        columns = _read_header(reader, path)
        records = stream_rows(reader, columns, mapping, report, file=Path(path).name, tool=tool,
                              property_set=property_set, include_unfinished=include_unfinished,
                              malformed=lambda number, row: _malformed(row, len(columns)))
    except BaseException:
        handle.close()
        raise
    return _read_through(records, handle, path, progress)


def _read_header(reader: csv.DictReader, path) -> list[str]:
    try:
        return list(reader.fieldnames or [])
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror or error}") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable CSV ({error})") from None


def _read_through(records: Iterator[ResultRecord], handle, path, progress: Progress | None) -> Iterator[ResultRecord]:
    """``records`` as they come, the file closed at the end (or when the consumer stops)."""
    size = os.fstat(handle.fileno()).st_size
    with handle:
        try:
            for count, record in enumerate(records, 1):
                if progress is not None and count % _PROGRESS_EVERY == 0:
                    progress(handle.buffer.tell(), size)
                yield record
        except OSError as error:
            raise UsageError(f"{path}: {error.strerror or error}") from None
        except (csv.Error, UnicodeDecodeError) as error:
            raise InputError(f"{path}: not a readable CSV ({error})") from None
        if progress is not None:
            progress(size, size)


def import_csv(path: str | os.PathLike, mapping: TableMapping, *, properties_file=None,
               include_unfinished: bool = False, tool: str = "CSV") -> ImportReport:
    """Records from a CSV file, all in the report (:func:`stream_csv` yields them one at a time)."""
    report = ImportReport()
    report.records.extend(stream_csv(path, mapping, report, properties_file=properties_file,
                                     include_unfinished=include_unfinished, tool=tool))
    return report


def _malformed(row: Mapping, width: int) -> str | None:
    """Why the reader could not split a row to the header's width, or None."""
    if None not in row and None not in row.values():
        return None
    # DictReader puts surplus cells in a list under the key None, and fills missing ones with None
    extra = len(row.get(None) or ())
    cells = sum(1 for k, v in row.items() if k is not None and v is not None) + extra
    return f"malformed row: {cells} fields, the header has {width}"
