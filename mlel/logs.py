"""Read merged logs (SPEC §3) into plain records — the only module that knows the JSON shape.

A merged log is reduced at once to a :class:`RunLog` holding just what the metrics need, so a
directory of tens of thousands of logs loads in little memory. Files that are not readable merged
logs are reported as :class:`Problem` records (file name + reason) and skipped.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

try:  # orjson parses several times faster than json; plain json is the fallback
    import orjson as _json

    _JSONError = _json.JSONDecodeError
except ImportError:  # pragma: no cover - orjson is in requirements.txt
    import json as _json

    _JSONError = ValueError

from mlel.environment import canonical_backend, environment_key

SOURCE_DEVICES = {"pynvml": "GPU", "pyrapl": "CPU", "estimate": "CPU"}


class LogFormatError(ValueError):
    """A file that is JSON but not a merged log; the message names the missing or bad field."""


@dataclass(frozen=True)
class RunLog:
    """One merged log, reduced to what the metrics need."""

    file: str
    task: str  # "inference" | "training"
    model: str
    environment: str
    backend: str
    dataset: str
    params: float | None = None
    flops: float | None = None
    fsize: float | None = None
    energy_ws: float | None = None  # sum over all power sources (SPEC §4)
    baseline_energy_ws: float | None = None  # idle baseline power × duration, where measured
    duration_s: float | None = None
    n_samples: int | None = None
    epochs: int | None = None
    full_epochs: int | None = None
    accuracy: float | None = None
    top5_accuracy: float | None = None
    gco2e: float | None = None
    sources: dict[str, str] = field(default_factory=dict)  # source -> "measured" | "estimated"


@dataclass(frozen=True)
class Problem:
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _power_sources(split: dict) -> tuple[float | None, dict[str, str]]:
    """Energy of all power sources of a split (GPU and CPU) and which source measured what."""
    energy, sources = None, {}
    for key, summary in split.items():
        if not key.startswith("monitoring_") or not isinstance(summary, dict):
            continue
        total = summary.get("total")
        if not isinstance(total, dict):
            continue
        draw = _number(total.get("total_power_draw"))
        if draw is None or draw < 0:  # -1: the source measures no power (psutil)
            continue
        name = key[len("monitoring_"):]
        sources[name] = "estimated" if total.get("estimated") else "measured"
        energy = draw if energy is None else energy + draw
    return energy, sources


def _baseline_energy(energy_info: dict | None, duration: float | None) -> float | None:
    if not isinstance(energy_info, dict) or duration is None:
        return None
    baseline = energy_info.get("baseline_power_w")
    if not isinstance(baseline, dict) or not baseline:
        return None
    return sum(float(w) for w in baseline.values() if _number(w) is not None) * duration


def _require(mapping: dict, key: str, where: str = ""):
    if not isinstance(mapping, dict) or key not in mapping:
        raise LogFormatError(f"not a merged log: missing field '{where}{key}'")
    return mapping[key]


def parse_log(data, file: str) -> RunLog:
    """A parsed merged log (dict) -> RunLog. Raises LogFormatError naming the bad field."""
    if not isinstance(data, dict):
        raise LogFormatError(f"not a merged log: top level is {type(data).__name__}, not an object")
    if data.get("incomplete"):
        raise LogFormatError(f"incomplete run: {data.get('incomplete_reason') or 'no results'}")
    config = _require(data, "config")
    platform = _require(data, "execution_platform")
    requirements = data.get("requirements") or []
    if "validation" in data:
        task, split, where = "inference", data["validation"], "validation."
    elif "results" in data:
        task, split, where = "training", data, ""
    else:
        raise LogFormatError("not a merged log: neither 'validation' (inference) nor 'results' (training)")
    results = _require(split, "results", where)
    if not isinstance(results, dict):
        raise LogFormatError(f"no results in '{where}results' (run incomplete?)")
    model_name = config.get("model") or config.get("infer_model")
    if not isinstance(model_name, str):
        raise LogFormatError("not a merged log: missing field 'config.model'")
    backend = config.get("backend")
    if not isinstance(backend, str):
        raise LogFormatError("not a merged log: missing field 'config.backend'")
    model = results.get("model") or {}
    duration = _number(split.get("duration"))
    if duration is None and _number(results.get("start")) is not None and _number(results.get("end")) is not None:
        duration = results["end"] - results["start"]
    energy, sources = _power_sources(split)
    energy_info = split.get("energy")
    fields = dict(
        file=file, task=task, model=model_name,
        environment=environment_key(platform, backend, requirements),
        backend=canonical_backend(backend),
        dataset=str(config.get("dataset") or "ImageNet"),
        params=_number(model.get("params")), flops=_number(model.get("flops")),
        fsize=_number(model.get("fsize")),
        energy_ws=energy, baseline_energy_ws=_baseline_energy(energy_info, duration),
        duration_s=duration, sources=sources,
        gco2e=_number(energy_info.get("gco2e")) if isinstance(energy_info, dict) else None,
    )
    if task == "inference":
        metrics = results.get("metrics") or {}
        n_samples = metrics.get("n_samples")
        fields.update(accuracy=_number(metrics.get("accuracy")),
                      top5_accuracy=_number(metrics.get("top_5_accuracy")),
                      n_samples=int(n_samples) if _number(n_samples) else None)
    else:
        history = results.get("history") or {}
        losses = history.get("loss")
        full_epochs = config.get("full_epochs")
        fields.update(epochs=len(losses) if isinstance(losses, list) and losses else None,
                      full_epochs=int(full_epochs) if _number(full_epochs) else None)
    return RunLog(**fields)


def read_log(path: str | os.PathLike) -> RunLog:
    """Read one merged log file. Raises OSError, ValueError (bad JSON) or LogFormatError."""
    path = Path(path)
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        data = _json.loads(raw)
    except _JSONError as error:
        try:  # the stdlib parser also takes NaN/Infinity, which some 2022 training logs hold
            data = json.loads(raw)
        except ValueError:
            raise ValueError(f"not valid JSON ({error})") from None
    return parse_log(data, path.name)


def iter_log_files(directory: str | os.PathLike) -> Iterator[Path]:
    return iter(sorted(p for p in Path(directory).iterdir() if p.suffix == ".json" and p.is_file()))


def load_logs(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> tuple[list[RunLog], list[Problem]]:
    """Read a directory (or an iterable of files) of merged logs.

    Returns the readable logs and one Problem per file that was skipped, with the reason.
    Raises FileNotFoundError / NotADirectoryError if a directory argument does not exist.
    """
    if isinstance(paths, (str, os.PathLike)):
        directory = Path(paths)
        if not directory.exists():
            raise FileNotFoundError(f"no such directory: {directory}")
        if not directory.is_dir():
            raise NotADirectoryError(f"not a directory: {directory}")
        paths = iter_log_files(directory)
    runs, problems = [], []
    for path in paths:
        try:
            runs.append(read_log(path))
        except (OSError, ValueError) as error:  # LogFormatError is a ValueError
            problems.append(Problem(Path(path).name, str(error)))
    return runs, problems


@dataclass(frozen=True)
class PlatformInfo:
    """What a merged log says about its machine and software, for tables of environments."""

    environment: str
    cpu: str
    gpus: tuple[str, ...]
    python: str
    packages: dict[str, str]  # normalised distribution name -> version


def read_platform(path: str | os.PathLike) -> PlatformInfo:
    """The platform part of one merged log (raises like :func:`read_log`)."""
    from mlel.environment import package_versions

    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        data = _json.loads(raw)
    except _JSONError:
        data = json.loads(raw)
    platform = _require(data, "execution_platform")
    config = _require(data, "config")
    requirements = data.get("requirements") or []
    gpus = tuple(str(gpu.get("Name", "")) for _, gpu in sorted((platform.get("GPU") or {}).items()))
    python = next((line.lstrip("# ").split()[0] for line in requirements if line.startswith("#")), "")
    return PlatformInfo(environment_key(platform, config.get("backend", ""), requirements),
                        str(platform.get("Processor") or ""), gpus, python, package_versions(requirements))
