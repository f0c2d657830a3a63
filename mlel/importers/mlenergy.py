"""Import the ML.ENERGY leaderboard's published data: ``tasks/<task>.json`` (a ``configurations`` list)
and the ``index.json`` beside them.

Rules (documented here because rating depends on them):

- Environment: the hardware ``"<num_gpus> x <gpu_model>"`` with the serving software the leaderboard
  used for the task's architecture (LLM / multimodal LLM: vLLM; diffusion: diffusers), named
  ``"1 x B200 - vLLM"``. Entries of different GPU counts are thus never indexed against each other.
- Entry: one per configuration. ``model`` stays the model id; ``configuration`` holds the settings
  (max_num_seqs or batch_size, tensor / expert / data parallel or ring / ulysses degrees, precision,
  num_gpus and the workload's size); ``name`` is the model id plus the settings that distinguish it,
  e.g. ``"Qwen/Qwen3-14B (max_num_seqs 8)"``, ``"black-forest-labs/FLUX.1-dev (batch 4, ulysses 2)"``.
  To compare a configuration with the reference model's, match on the batch setting
  (``max_num_seqs`` / ``batch_size``) in the same environment.
- ``best_under_latency_ms``: per model and environment keep only the configuration with the lowest
  energy (per token / image / video) whose latency (median inter-token latency; diffusion: batch
  latency) is at most the limit; a model with none under it is left out and named in the notes.
- Every property is ``reported``, provenance tool ``ML.ENERGY leaderboard``, the task file and row.
- Hostile input: files are read by :func:`mlel.base.io.read_json` (regular files only, size and depth
  caps); a refused task file is named and skipped, the others read. A setting that is not a plain
  value (a nested list, an integer beyond 2**53) skips its row, named; so does an ``index.json``
  field of the wrong type (ignored, named).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping

from mlel.base.errors import UsageError
from mlel.base.io import read_json
from mlel.importers.common import ImportReport, parse_number
from mlel.results import Environment, PropertyValue, Provenance, ResultRecord

TOOL = "ML.ENERGY leaderboard"
SOFTWARE = {"llm": "vLLM", "mllm": "vLLM", "diffusion": "diffusers"}

# leaderboard field -> (property key, unit)
PROPERTY_FIELDS: dict[str, tuple[str, str]] = {
    "energy_per_token_joules": ("energy_per_token", "J/token"),
    "energy_per_request_joules": ("energy_per_response", "J/response"),
    "energy_per_image_joules": ("energy_per_image", "J/image"),
    "energy_per_video_joules": ("energy_per_video", "J/video"),
    "median_itl_ms": ("median_itl", "ms"),
    "p90_itl_ms": ("p90_itl", "ms"),
    "p95_itl_ms": ("p95_itl", "ms"),
    "p99_itl_ms": ("p99_itl", "ms"),
    "batch_latency_s": ("batch_latency", "s"),
    "output_throughput_tokens_per_sec": ("output_throughput", "tokens/s"),
    "throughput_images_per_sec": ("throughput", "images/s"),
    "throughput_videos_per_sec": ("throughput", "videos/s"),
    "avg_power_watts": ("avg_power", "W"),
    "avg_output_len": ("avg_output_len", "tokens/response"),
    "total_params_billions": ("total_params", "billion"),
    "activated_params_billions": ("active_params", "billion"),
}
# settings kept in "configuration"; the first group also names the entry (label, shown when != 1)
_NAMED_SETTINGS = (("max_num_seqs", "max_num_seqs"), ("batch_size", "batch"), ("tensor_parallel", "TP"),
                   ("expert_parallel", "EP"), ("data_parallel", "DP"), ("ring_degree", "ring"),
                   ("ulysses_degree", "ulysses"))
_WORKLOAD_SETTINGS = ("weight_precision", "num_gpus", "image_height", "image_width", "inference_steps",
                      "num_frames", "fps", "video_height", "video_width")
_ENERGY_KEYS = ("energy_per_token", "energy_per_image", "energy_per_video")


def task_files(source: str | os.PathLike) -> tuple[Path, list[Path]]:
    """(root, task files) of a leaderboard data folder (``DIR/tasks/*.json``, or ``DIR/*.json``), or
    of one task file. Raises UsageError when there is none."""
    path = Path(source)
    if path.is_file():
        return path.parent, [path]
    if not path.is_dir():
        raise UsageError(f"{source}: no such file or directory")
    folder = path / "tasks" if (path / "tasks").is_dir() else path
    files = sorted(p for p in folder.glob("*.json") if p.name != "index.json" and not p.is_dir())
    if not files:
        raise UsageError(f"{source}: no leaderboard task files (expected tasks/<task>.json)")
    return path, files


def _load_index(root: Path, report: ImportReport) -> dict:
    for candidate in (root / "index.json", root.parent / "index.json"):
        if os.path.lexists(candidate):
            try:
                index = read_json(candidate)
            except (OSError, ValueError) as error:
                report.skip(candidate.name, f"unreadable, ignored ({error})")
                return {}
            return _checked_index(index, candidate.name, report)
    return {}


def _checked_index(index: Any, name: str, report: ImportReport) -> dict:
    """The index's fields this importer uses, each of the right type; a wrong one is ignored, named."""
    if not isinstance(index, dict):
        report.skip(name, f"not a JSON object ({type(index).__name__}), ignored")
        return {}
    checked = {}
    for key, inner, what in (("architectures", list, "lists of tasks"), ("models", dict, "objects")):
        value = index.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, inner) for v in value.values()):
            report.skip(name, f"must be an object of {what}, got {type(value).__name__}: ignored", key)
            continue
        checked[key] = value
    return checked


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 80 else text[:79] + "…"


def _architecture(task: str, data: Mapping, index: Mapping) -> str:
    for arch, tasks in (index.get("architectures") or {}).items():
        if task in (tasks or ()):
            return arch
    if isinstance(data.get("architecture"), str):
        return data["architecture"]
    configurations = data.get("configurations") or [{}]
    return "llm" if isinstance(configurations[0], dict) and "max_num_seqs" in configurations[0] else "diffusion"


def entry_name(model: str, configuration: Mapping[str, Any], default_precision: str | None) -> str:
    """The model id plus the settings that tell its configurations apart."""
    parts = []
    for key, label in _NAMED_SETTINGS:
        value = configuration.get(key)
        if value is not None and (key in ("max_num_seqs", "batch_size") or value != 1):
            parts.append(f"{label} {value}")
    precision = configuration.get("weight_precision")
    if precision and default_precision and precision != default_precision:
        parts.append(str(precision))
    return f"{model} ({', '.join(parts)})" if parts else model


_MAX_INT = 2 ** 53  # a setting beyond it is no GPU count or batch size (and no JSON reader keeps it exact)
_MAX_TEXT = 200


def _settings(row: Mapping) -> dict[str, Any]:
    """The configuration's settings; ValueError(field, reason) for one that is not a plain value."""
    keys = [k for k, _ in _NAMED_SETTINGS] + list(_WORKLOAD_SETTINGS)
    settings = {k: row[k] for k in keys if row.get(k) is not None}
    for key, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(key, f"must be a number or a string, got {type(value).__name__}")
        if isinstance(value, int) and abs(value) > _MAX_INT:
            raise ValueError(key, f"an integer beyond 2**53 ({len(str(abs(value)))} digits)")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(key, f"not a finite number: {value!r}")
        if isinstance(value, str) and len(value) > _MAX_TEXT:
            raise ValueError(key, f"a string of {len(value)} characters (at most {_MAX_TEXT})")
    return settings


def _properties(row: Mapping) -> dict[str, PropertyValue]:
    """Reported property values of one configuration; ValueError names the field at fault."""
    properties = {}
    for field_name, (key, unit) in PROPERTY_FIELDS.items():
        if field_name not in row:
            continue
        try:
            value = parse_number(row[field_name])
        except (TypeError, ValueError):
            raise ValueError(field_name, f"not a number: {_shown(row[field_name])}") from None
        properties[key] = PropertyValue(value, unit, "reported")
    return properties


def _record(row: Any, context: dict, number: int) -> ResultRecord:
    """One configuration as a record; ValueError(field, reason) when the row cannot be one."""
    if not isinstance(row, Mapping):
        raise ValueError(None, f"a configuration must be an object, got {type(row).__name__}")
    for required in ("model_id", "gpu_model"):
        if not isinstance(row.get(required), str) or not row[required].strip():
            raise ValueError(required, f"missing or not a string: {_shown(row.get(required))}")
    num_gpus = row.get("num_gpus")
    if isinstance(num_gpus, bool) or not isinstance(num_gpus, int) or not 1 <= num_gpus <= _MAX_INT:
        shown = "an integer beyond 2**53" if isinstance(num_gpus, int) and num_gpus > _MAX_INT else _shown(num_gpus)
        raise ValueError("num_gpus", f"must be a positive integer, got {shown}")
    properties = _properties(row)
    if not properties:
        raise ValueError(None, "no measured property (no energy, latency or throughput field)")
    model = row["model_id"]
    configuration = _settings(row)
    default_precision = (context["index_models"].get(model) or {}).get("weight_precision")
    hardware = f"{num_gpus} x {row['gpu_model']}"
    return ResultRecord(
        task=context["task"], model=model, environment=Environment(hardware, context["software"]),
        properties=properties, provenance=Provenance(TOOL, context["file"], number),
        name=entry_name(model, configuration, default_precision), dataset=context["dataset"],
        configuration=configuration)


def _import_task_file(path: Path, root: Path, index: Mapping, report: ImportReport) -> list[ResultRecord]:
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    try:
        data = read_json(path)
    except (OSError, ValueError) as error:
        report.skip(shown, f"unreadable: {error}")
        return []
    if not isinstance(data, dict) or not isinstance(data.get("configurations"), list):
        report.skip(shown, "not a leaderboard task file (no 'configurations' list)", "configurations")
        return []
    task = data.get("task") if isinstance(data.get("task"), str) else path.stem
    architecture = _architecture(task, data, index)
    context = {"task": task, "file": shown, "software": SOFTWARE.get(architecture, architecture),
               "dataset": str(data.get("task_display_name") or task),
               "index_models": index.get("models") or {}}
    records = []
    for number, row in enumerate(data["configurations"]):
        try:
            records.append(_record(row, context, number))
        except ValueError as error:
            field_name, reason = error.args if len(error.args) == 2 else (None, str(error))
            report.skip(shown, reason, field_name, number)
    return records


def _latency_ms(record: ResultRecord) -> float | None:
    if record.value("median_itl") is not None:
        return record.value("median_itl")
    latency_s = record.value("batch_latency")
    return None if latency_s is None else latency_s * 1000.0


def _energy(record: ResultRecord) -> float | None:
    return next((record.value(k) for k in _ENERGY_KEYS if record.value(k) is not None), None)


def best_under_latency(records: list[ResultRecord], limit_ms: float, report: ImportReport) -> list[ResultRecord]:
    """Per (task, model, environment) the lowest-energy configuration with latency <= limit_ms."""
    groups: dict[tuple[str, str, str], list[ResultRecord]] = {}
    for record in records:
        groups.setdefault((record.task, record.model, record.environment.name), []).append(record)
    kept = []
    for (task, model, environment), group in groups.items():
        eligible = [r for r in group if _latency_ms(r) is not None and _latency_ms(r) <= limit_ms
                    and _energy(r) is not None]
        if eligible:
            kept.append(min(eligible, key=_energy))
        else:
            report.notes.append(f"{task}: {model} on {environment}: no configuration under {limit_ms:g} ms")
    return kept


def _note_repeats(records: list[ResultRecord], report: ImportReport) -> None:
    """The published data holds a few configurations twice with different values (repeated
    measurements): both are kept, under one entry name, so ratings average them as runs."""
    rows: dict[tuple[str, str, str], list[ResultRecord]] = {}
    for record in records:
        rows.setdefault((record.provenance.file, record.name, record.environment.name), []).append(record)
    for (file, name, environment), group in rows.items():
        if len(group) > 1:
            numbers = ", ".join(str(r.provenance.row) for r in group)
            report.notes.append(f"{file} rows {numbers}: {name} on {environment} appears {len(group)} times "
                                "(kept each, as repeated runs of one entry)")


def import_mlenergy(source: str | os.PathLike, best_under_latency_ms: float | None = None) -> ImportReport:
    """Records of every configuration in the leaderboard data at ``source`` (folder or task file)."""
    root, files = task_files(source)
    report = ImportReport()
    index = _load_index(root, report)
    records = []
    for path in files:
        records.extend(_import_task_file(path, root, index, report))
    _note_repeats(records, report)
    if best_under_latency_ms is not None:
        records = best_under_latency(records, best_under_latency_ms, report)
    report.records.extend(records)
    return report
