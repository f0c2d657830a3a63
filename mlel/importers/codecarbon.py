"""Import CodeCarbon's ``emissions.csv`` (2.x and 3.x columns): one entry per run.

What the CSV holds and what it does not (CodeCarbon 3.3, ``EmissionsData``): per row the run's
``project_name``, ``experiment_id``, ``run_id``, ``duration`` (s), ``cpu_energy`` / ``gpu_energy`` /
``ram_energy`` / ``energy_consumed`` (kWh), average ``cpu_power`` / ``gpu_power`` / ``ram_power`` (W),
``cpu_model``, ``gpu_model``, ``gpu_count``, ``tracking_mode`` (``machine`` / ``process``: what was
attributed, not how). It does *not* record how CPU power was obtained: RAPL (measured) and the
fallbacks (TDP x load, or half the TDP: estimated) write the same columns; the method is only in the
tracker's log ("CPU Tracking Method: ..."). So:

- GPU energy is ``measured`` (NVML / AMD SMI counters) where ``gpu_count`` > 0;
- RAM energy is always ``estimated`` (CodeCarbon models it from the installed memory size);
- CPU energy is ``estimated`` unless the caller says it was measured (``cpu_source="measured"``, or
  a CodeCarbon log whose CPU tracking method is a sensor: RAPL, Power Gadget, PowerMetrics, Windows
  EMI, Raspberry Pi PMIC);
- total energy is ``estimated`` as soon as one non-zero part is, and the environment name then ends
  in ``(estimated)``, as our own estimated runs do.

A run id written several times (``on_csv_write="append"`` with ``flush()``: cumulative snapshots)
is one run: its last row is kept and the earlier ones are reported as superseded.
"""
from __future__ import annotations

import csv
import math
import os
import re
from pathlib import Path
from typing import Mapping

from mlel.base import units
from mlel.base.errors import InputError, UsageError
from mlel.base.values import number_problem, parse_number
from mlel.importers.common import ImportReport
from mlel.results import Environment, PropertyValue, Provenance, RecordError, ResultRecord

TOOL = "CodeCarbon"
REQUIRED_COLUMNS = ("duration", "energy_consumed")
MEASURING_CPU_METHODS = ("rapl", "power gadget", "powermetrics", "windows emi", "raspberry")
# per-sample energy and runtime under the task's own keys (the 2022 inference set: Ws / ms per sample)
_PER_SAMPLE = {"generic": (("energy_per_sample", "J/sample"), ("runtime_per_sample", "ms/sample")),
               "inference": (("inference_power_draw", "Ws / sample"), ("inference_time", "ms / sample"))}
_CPU_METHOD = re.compile(r"CPU Tracking Method:\s*(.+?)\s*$", re.MULTILINE)


def cpu_source_from_log(text: str) -> str | None:
    """``measured`` / ``estimated`` from CodeCarbon's log lines; None when the log names no method,
    ``estimated`` when runs in it used different methods (we cannot tell which row is which)."""
    methods = {m.lower() for m in _CPU_METHOD.findall(text)}
    if not methods:
        return None
    measured = {any(m.startswith(s) for s in MEASURING_CPU_METHODS) for m in methods}
    return "measured" if measured == {True} else "estimated"


def _number(row: Mapping, column: str) -> float | None:
    """A cell's finite number (the one strict rule, :func:`mlel.base.values.parse_number`); None for an
    empty or "nan" cell; else ValueError(column, reason)."""
    raw = row.get(column)
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "nan", "none", "null")):
        return None
    value = parse_number(raw)
    if value is None:
        raise ValueError(column, f"value {raw!r}: {number_problem(raw)}")
    return value


# property -> the column it comes from, to name a refused value's cell
_COLUMN_OF = {"energy_per_run": "energy_consumed", "runtime": "duration", "avg_power": "energy_consumed",
              "cpu_energy": "cpu_energy", "gpu_energy": "gpu_energy", "ram_energy": "ram_energy"}


def _joules(values: Mapping, column: str, cell) -> float:
    """A column's kWh in joules; ValueError(column, reason) where they are no finite number of joules."""
    energy_j = units.kwh_to_j(values[column])
    if not math.isfinite(energy_j):
        raise ValueError(column, f"value {cell!r:.60}: {values[column]:g} kWh is {energy_j} J, not a finite number")
    return energy_j


def _hardware(row: Mapping) -> str:
    gpu_count = _number(row, "gpu_count") or 0
    gpu_model = (row.get("gpu_model") or "").strip()
    if gpu_count > 0 and gpu_model:
        return gpu_model if re.match(r"^\d+ x ", gpu_model) else f"{int(gpu_count)} x {gpu_model}"
    return (row.get("cpu_model") or "").strip() or "unknown CPU"


def _record(row: Mapping, number: int, file: str, task: str, cpu_source: str,
            model_override: str | None, samples: int | None) -> ResultRecord:
    values = {c: _number(row, c) for c in
              ("duration", "energy_consumed", "cpu_energy", "gpu_energy", "ram_energy")}
    for column in REQUIRED_COLUMNS:
        if values[column] is None:
            raise ValueError(column, "empty")
    gpu_count = _number(row, "gpu_count") or 0
    if gpu_count < 0:
        raise ValueError("gpu_count", f"value {row.get('gpu_count')!r}: must be ≥ 0")
    sources = {"cpu_energy": cpu_source, "gpu_energy": "measured" if gpu_count > 0 else "estimated",
               "ram_energy": "estimated"}
    estimated = any(sources[k] == "estimated" and (values[k] or 0) > 0 for k in sources)
    total_source = "estimated" if estimated else "measured"
    joules = {key: _joules(values, key, row.get(key)) for key in ("energy_consumed", *sources) if values[key] is not None}
    properties = {"energy_per_run": PropertyValue(joules["energy_consumed"], "J", total_source),
                  "runtime": PropertyValue(values["duration"], "s", "measured")}
    for key in sources:
        no_gpu = key == "gpu_energy" and gpu_count == 0 and not values[key]
        if values[key] is not None and not no_gpu:
            properties[key] = PropertyValue(joules[key], "J", sources[key])
    if values["duration"] > 0:
        power = joules["energy_consumed"] / values["duration"]
        properties["avg_power"] = PropertyValue(power, "W", "computed")
    if samples:
        (energy_key, energy_unit), (time_key, time_unit) = _PER_SAMPLE.get(task, _PER_SAMPLE["generic"])
        properties[energy_key] = PropertyValue(
            joules["energy_consumed"] / samples, energy_unit, "computed")
        properties[time_key] = PropertyValue(
            units.s_to_ms(values["duration"]) / samples, time_unit, "computed")
    project = (row.get("project_name") or "").strip() or "codecarbon"
    experiment = (row.get("experiment_id") or "").strip()
    run_id = (row.get("run_id") or "").strip()
    hardware = _hardware(row)
    configuration = {k: row[k] for k in ("project_name", "experiment_id", "run_id", "tracking_mode",
                                         "codecarbon_version", "country_iso_code") if row.get(k)}
    return ResultRecord(
        task=task, model=model_override or project,
        environment=Environment(hardware, "", hardware + (" (estimated)" if estimated else "")),
        properties=properties, provenance=Provenance(TOOL, file, number),
        name=" / ".join(p for p in (model_override or project, experiment, run_id[:8]) if p),
        configuration=configuration,
        notes=f"CPU energy {cpu_source}; RAM energy estimated by CodeCarbon; started {row.get('timestamp', '')}")


def _read(path: str | os.PathLike) -> tuple[list[dict], list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            return list(reader), list(reader.fieldnames or [])
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror or error}") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable CSV ({error})") from None


def import_codecarbon(path: str | os.PathLike, *, task: str = "generic", cpu_source: str | None = None,
                      log_file: str | os.PathLike | None = None, model: str | None = None,
                      samples: int | None = None) -> ImportReport:
    """Records of the runs in a CodeCarbon ``emissions.csv``; see the module notes for sources."""
    if log_file is not None and cpu_source is None:
        try:
            cpu_source = cpu_source_from_log(Path(log_file).read_text(errors="replace"))
        except OSError as error:
            raise UsageError(f"{log_file}: {error.strerror or error}") from None
    cpu_source = cpu_source or "estimated"
    if cpu_source not in ("measured", "estimated"):
        raise UsageError(f"cpu source must be measured or estimated, got {cpu_source!r}")
    rows, columns = _read(path)
    file = Path(path).name
    report = ImportReport()
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        report.skip(file, "column not in the file (is this CodeCarbon's emissions.csv?)", missing[0])
        return report
    last_row = {}
    for number, row in enumerate(rows):
        last_row[(row.get("project_name"), row.get("experiment_id"), row.get("run_id") or number)] = number
    for number, row in enumerate(rows):
        key = (row.get("project_name"), row.get("experiment_id"), row.get("run_id") or number)
        if None in row or None in row.values():
            report.skip(file, "malformed row: its number of fields differs from the header's", None, number)
            continue
        if last_row[key] != number:
            report.skip(file, f"superseded by row {last_row[key]} of the same run", "run_id", number)
            continue
        try:
            report.records.append(_record(row, number, file, task, cpu_source, model, samples))
        except ValueError as error:
            field_name, reason = error.args if len(error.args) == 2 else (None, str(error))
            report.skip(file, reason, field_name, number)
        except RecordError as error:  # a value the record refuses (a negative energy, say): this row only
            key = error.field.split(".")[1] if error.field.startswith("properties.") else ""
            column = _COLUMN_OF.get(key, error.field)
            report.skip(file, f"value {row.get(column)!r:.60}: {error.reason}", column, number)
    return report
