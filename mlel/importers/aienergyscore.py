"""Import Hugging Face's AI Energy Score leaderboard tables: one CSV per task, columns
``model,total_gpu_energy,energy_score`` (text generation adds ``class``, the model's size class).

Rules (documented here because rating depends on them):

- Task: the file's stem names it (:data:`TASKS`: ``image_classification.csv`` -> ``image-classification``);
  ``task=`` (the command's ``--task``) names it for every file instead. A file whose stem names no
  known task is skipped and reported with the known ones.
- Environment: every leaderboard value was measured on one NVIDIA H100 with AI Energy Score's own
  benchmark, so hardware ``H100``, software ``AI Energy Score``, named ``"H100 - AI Energy Score"``.
- Entry: the model id. A model listed twice in one table (the published tables hold a few, measured
  twice) gives two records under one entry name: the ratings pipeline pools them as repeated runs.
- Properties, all ``reported``: ``gpu_energy_per_query`` (``total_gpu_energy``, Wh per query) and,
  where the table has it, ``energy_score``, the published star count (1-5, unit ``stars``). The
  record's provenance holds tool, file and row only, so the stars live among the properties, as the
  value the leaderboard published; no property set rates them.
- Configuration: ``{"class": ...}`` where the table has a ``class`` column (the ``ai-energy-score``
  scheme rates text generation within each class).
- A row without a model, with an energy that is empty, not a number, not finite or not above zero,
  or a star count that is not a whole number from 1 to 5, is skipped and reported by file, row and
  field; the other rows are imported. A table without the ``model`` or ``total_gpu_energy`` column is
  skipped as a whole.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Mapping

from mlel.base.errors import UsageError
from mlel.importers.common import ImportReport
from mlel.results import Environment, PropertyValue, Provenance, ResultRecord

TOOL = "AI Energy Score"
HARDWARE = "H100"
SOFTWARE = "AI Energy Score"
ENERGY_KEY, ENERGY_UNIT = "gpu_energy_per_query", "Wh/query"
STARS_KEY, STARS_UNIT = "energy_score", "stars"
ENERGY_COLUMN, STARS_COLUMN, MODEL_COLUMN, CLASS_COLUMN = "total_gpu_energy", "energy_score", "model", "class"
REQUIRED_COLUMNS = (MODEL_COLUMN, ENERGY_COLUMN)
STARS = range(1, 6)

# AI Energy Score's task (the file's stem) -> our task (a property set in mlel/tasks/data)
TASKS: dict[str, str] = {
    "text_generation": "text-generation",
    "image_generation": "image-generation",
    "text_classification": "text-classification",
    "image_classification": "image-classification",
    "image_captioning": "image-captioning",
    "summarization": "summarization",
    "asr": "asr",
    "object_detection": "object-detection",
    "extractive_qa": "extractive-qa",
    "sentence_similarity": "sentence-similarity",
}


def known_tasks() -> str:
    """The task names a file may be named after, for messages."""
    return ", ".join(TASKS)


def task_of(name: str) -> str | None:
    """Our task for an AI Energy Score task name or our own (``object_detection``, ``object-detection``,
    ``Object_Detection``); None when it is neither."""
    key = name.strip().lower().replace("-", "_")
    return TASKS.get(key)


def table_files(source: str | os.PathLike) -> list[Path]:
    """The CSV file at ``source``, or every ``*.csv`` of the folder, sorted. UsageError when none."""
    path = Path(source)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"{source}: no such file or directory")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    if not files:
        raise UsageError(f"{source}: no AI Energy Score tables (*.csv, one per task: {known_tasks()})")
    return files


def _read(path: Path) -> tuple[list[dict], list[str]]:
    """(rows, header) of a table; ValueError(reason) when it cannot be read."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            reader.fieldnames = columns
            return list(reader), columns
    except OSError as error:
        raise ValueError(f"unreadable: {error.strerror or error}") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise ValueError(f"not a readable CSV ({error})") from None


def _energy(raw: str | None) -> float:
    """Wh per query from its cell; ValueError(reason) when it is not a positive, finite number."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("empty")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    if value <= 0:
        raise ValueError(f"must be above 0 Wh per query, got {text}")
    return value


def _stars(raw: str | None) -> int | None:
    """The published star count from its cell (None: empty); ValueError(reason) when not 1-5."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    if not (math.isfinite(number) and number.is_integer() and int(number) in STARS):
        raise ValueError(f"must be a whole number of stars from 1 to 5, got {text}")
    return int(number)


def _record(row: Mapping[str, str | None], number: int, file: str, task: str, has_class: bool) -> ResultRecord:
    """One table row as a record; ValueError(field, reason) when it cannot be one."""
    model = (row.get(MODEL_COLUMN) or "").strip()
    if not model:
        raise ValueError(MODEL_COLUMN, "empty")
    try:
        energy = _energy(row.get(ENERGY_COLUMN))
    except ValueError as error:
        raise ValueError(ENERGY_COLUMN, str(error)) from None
    try:
        stars = _stars(row.get(STARS_COLUMN))
    except ValueError as error:
        raise ValueError(STARS_COLUMN, str(error)) from None
    configuration = {}
    if has_class:
        size_class = (row.get(CLASS_COLUMN) or "").strip()
        if not size_class:
            raise ValueError(CLASS_COLUMN, "empty (the table rates models within their size class)")
        configuration["class"] = size_class
    properties = {ENERGY_KEY: PropertyValue(energy, ENERGY_UNIT, "reported")}
    if stars is not None:
        properties[STARS_KEY] = PropertyValue(float(stars), STARS_UNIT, "reported")
    return ResultRecord(
        task=task, model=model, environment=Environment(HARDWARE, SOFTWARE), properties=properties,
        provenance=Provenance(TOOL, file, number), name=model, dataset=f"{TOOL} {Path(file).stem}",
        configuration=configuration)


def _import_table(path: Path, task: str | None, report: ImportReport) -> list[ResultRecord]:
    file = path.name
    chosen = task_of(task or path.stem)
    if chosen is None:
        report.skip(file, f"the file name names no AI Energy Score task ({path.stem!r}); known tasks: "
                          f"{known_tasks()} (rename the file, or give --task)")
        return []
    try:
        rows, columns = _read(path)
    except ValueError as error:
        report.skip(file, str(error))
        return []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        report.skip(file, f"column not in the table (expected {','.join(REQUIRED_COLUMNS)}[,{STARS_COLUMN}]"
                          f"[,{CLASS_COLUMN}]; found {','.join(columns) or 'no header'})", missing[0])
        return []
    has_class = CLASS_COLUMN in columns
    records = []
    for number, row in enumerate(rows):
        if None in row or None in row.values():
            report.skip(file, "malformed row: its number of fields differs from the header's", None, number)
            continue
        try:
            records.append(_record(row, number, file, chosen, has_class))
        except ValueError as error:
            field_name, reason = error.args if len(error.args) == 2 else (None, str(error))
            report.skip(file, reason, field_name, number)
    return records


def _note_repeats(records: list[ResultRecord], report: ImportReport) -> None:
    """Say which models a table lists more than once (kept each: repeated runs of one entry)."""
    rows: dict[tuple[str, str], list[int]] = {}
    for record in records:
        rows.setdefault((record.provenance.file, record.name), []).append(record.provenance.row)
    for (file, name), numbers in rows.items():
        if len(numbers) > 1:
            listed = ", ".join(map(str, numbers))
            report.notes.append(f"{file} rows {listed}: {name} appears {len(numbers)} times "
                                "(kept each, as repeated runs of one entry)")


def import_aienergyscore(source: str | os.PathLike, task: str | None = None) -> ImportReport:
    """Records of every row of the AI Energy Score table at ``source`` (a CSV, or a folder of them,
    one per task, named after it); ``task`` names the task of every table instead of its file name."""
    if task is not None and task_of(task) is None:
        raise UsageError(f"unknown AI Energy Score task {task!r}; known tasks: {known_tasks()}")
    report = ImportReport()
    records = []
    for path in table_files(source):
        records.extend(_import_table(path, task, report))
    _note_repeats(records, report)
    report.records.extend(records)
    return report
