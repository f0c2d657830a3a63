"""Merged logs (SPEC §3) — the only module that knows their JSON shape, reading and writing.

Reading: a merged log is reduced at once to a :class:`RunLog` holding just what the metrics need,
so a directory of tens of thousands of logs loads in little memory. Files that are not readable
merged logs are reported as :class:`Problem` records (file name + reason) and skipped. Every log takes
one path: its bytes decoded by :func:`mlel.runlog.validation.parse_json` (the one decoder of merged logs),
then the one boundary check (:func:`mlel.runlog.validation.check_merged_log`), which names each invalid
value as a :class:`~mlel.runlog.validation.FieldProblem` record.

Writing: ``mlel.runlog.merge`` reads run folders and hands the parts to :class:`MergedLog` /
:class:`Split`, whose ``to_dict()`` is the 2022 layout. The energy of a split (all power sources,
each once) and its dynamic part are computed by :mod:`mlel.monitoring.energy` — the same functions
the monitor uses — through :func:`split_energy`.
"""
from __future__ import annotations

import math
import os
from dataclasses import MISSING, dataclass, field, replace
from dataclasses import fields as dataclass_fields
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from mlel.base.environment import environment_key
from mlel.base.names import backend_key
from mlel.base.errors import InputError
from mlel.base.io import FileRefused, json_file_names, read_file_bytes
from mlel.runlog.run_facts import (SourceWindow, configuration_of, devices_of, source_totals, warmup_of,
                                   windows_of)
from mlel.runlog.validation import FieldProblem, check_merged_log, parse_json
from mlel.monitoring.sources import NO_POWER, NO_POWER_SOURCES, SOURCES_2022
from mlel.monitoring.energy import as_float, baseline_energy_j, dynamic_energy_j, is_number, sum_energy

# The 2022 sources, always present in a split (null when missing), then ours.
MONITORING = "monitoring_"


class LogFormatError(InputError, ValueError):
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
    baseline_energy_ws: float | None = None  # idle baseline power × each source's measured window
    dynamic_energy_ws: float | None = None  # energy_ws - baseline_energy_ws, where measured
    duration_s: float | None = None
    n_samples: int | None = None
    epochs: int | None = None
    full_epochs: int | None = None
    accuracy: float | None = None
    top5_accuracy: float | None = None
    gco2e: float | None = None
    sources: dict[str, str] = field(default_factory=dict)  # source -> "measured" | "estimated"
    problems: tuple[FieldProblem, ...] = ()  # each invalid value: key, JSON path, value, why
    invalid: frozenset[str] = frozenset()  # fields present but invalid: "energy", "n_samples", …
    configuration: tuple[tuple[str, str], ...] = ()  # what must match for runs to pool (run_facts)
    warmup: int | None = None  # warm-up batches before the measured window, where recorded
    windows: tuple[SourceWindow, ...] = ()  # each power source's measured window
    # infer.py --trust (issue 28), None where not measured: calibration, robustness, and the trust
    # passes' own window (outside energy_ws / duration_s)
    ece: float | None = None
    nll: float | None = None
    corruption_top1: float | None = None
    robustness: float | None = None
    trust_energy_j: float | None = None
    trust_duration_s: float | None = None


@dataclass(frozen=True)
class Problem:
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


def _number(value) -> float | None:
    return float(value) if is_number(value) else None


@dataclass(frozen=True)
class SplitEnergy:
    """The power sources of one split: total energy (J; None without a usable source), which source
    measured what, each source's measured window (s), and energies left out of the sum (why)."""

    energy_j: float | None
    sources: dict[str, str]
    duration_s: dict[str, float]
    energy_by_source_j: dict[str, float] = field(default_factory=dict)
    problems: tuple[FieldProblem, ...] = ()  # key "energy", each


def _float(value) -> float | None:
    """:func:`mlel.monitoring.energy.as_float`, a JSON float taken as it is (most of a log's numbers)."""
    return value if type(value) is float else as_float(value)


def split_energy(split: dict) -> SplitEnergy:
    """Energy of all power sources of a split (GPU and CPU, each once) — the one sum of a log's
    sources, overflow-safe; a source whose total is not a finite number >= 0 is named, not added."""
    draws, sources, durations, by_source, problems = [], {}, {}, {}, []
    for key, summary in split.items():
        if not key.startswith(MONITORING) or not isinstance(summary, dict):
            continue
        total = summary.get("total")
        if not isinstance(total, dict):
            continue
        draw, name = total.get("total_power_draw"), key[len(MONITORING):]
        if draw is None or (draw == NO_POWER and name in NO_POWER_SOURCES and not isinstance(draw, bool)):
            continue  # the source measures no power by design (psutil)
        value = _float(draw)
        if value is None or not value >= 0 or value == math.inf:
            problems.append(FieldProblem("energy", f"{key}.total.total_power_draw", str(draw)[:40],
                                         "not a finite energy >= 0"))
            continue
        sources[name] = "estimated" if total.get("estimated") else "measured"
        draws.append(value)
        by_source[name] = value
        duration = _float(total.get("total_duration"))
        if duration is not None:
            durations[name] = duration
    summed = sum_energy(draws)
    problems += [FieldProblem("energy", "energy sum", None, reason) for reason in summed.rejected]
    return SplitEnergy(summed.total_j if draws else None, sources, durations, by_source, tuple(problems))


def _dynamic(energy: SplitEnergy, baseline_w: dict[str, float]) -> float | None:
    """Energy above the idle baseline, by the monitor's own definition (each source's window)."""
    return dynamic_energy_j(energy.energy_by_source_j, energy.duration_s, baseline_w) if baseline_w else None


def _gpu_names(platform: dict) -> tuple[tuple[str, str], ...]:
    return tuple((index, gpu.get("Name", "unknown GPU")) for index, gpu in (platform.get("GPU") or {}).items())


@lru_cache(maxsize=4096)
def _environment(processor: str | None, gpus: tuple[tuple[str, str], ...], backend: str,
                 requirements: tuple[str, ...], devices: tuple[str, ...] = ()) -> str:
    # Thousands of logs share a few platforms: name each distinct one once.
    platform = {"Processor": processor, "GPU": {index: {"Name": name} for index, name in gpus}}
    return environment_key(platform, backend, list(requirements), devices)



def _measured_how(config: dict, sources: dict[str, dict], counted: Iterable[str]) -> dict:
    """Configuration, warm-up and power-source windows of a checked log (mlel.runlog.run_facts)."""
    counted = tuple(counted)
    totals = source_totals({name: sources.get(MONITORING + name) for name in counted}, counted)  # as records
    return dict(configuration=configuration_of(config.get), warmup=warmup_of(config.get("warmup")),
                windows=windows_of(totals, config.get("gpu_monitor_interval"),
                                   config.get("cpu_monitor_interval")))


def parse_log(data, file: str) -> RunLog:
    """A parsed merged log -> RunLog, through the one boundary check (:mod:`mlel.runlog.validation`).

    Raises LogFormatError naming the field when the log cannot be placed; a value that is present
    but invalid becomes None, is named in ``RunLog.problems`` and its key in ``RunLog.invalid``."""
    try:
        checked = check_merged_log(data)
    except InputError as error:
        raise LogFormatError(str(error)) from None
    energy, trust = split_energy(checked.sources), split_energy(checked.trust_sources)
    values = checked.values
    trust_problems = tuple(replace(p, key="trust_energy", json_path=f"validation.trust.{p.json_path}")
                           for p in trust.problems)
    problems = tuple(replace(p, file=file) for p in (*checked.problems, *energy.problems, *trust_problems))
    invalid = set(checked.invalid) | ({"energy"} if energy.problems else set()) \
        | ({"trust_energy"} if trust_problems else set())
    # A source left out of the sum would lower the energy silently: the energy is then invalid.
    energy_j = None if "energy" in invalid else energy.energy_j
    baseline_w = {} if "baseline" in invalid else checked.baseline_power_w
    fields = dict(
        file=file, task=checked.task, model=checked.model,
        environment=_environment(checked.platform.get("Processor"), _gpu_names(checked.platform),
                                 checked.backend, checked.requirements, devices_of(data["config"].get("devices"))),
        backend=backend_key(checked.backend), dataset=checked.dataset,
        params=values["params"], flops=values["flops"], fsize=values["fsize"],
        energy_ws=energy_j,
        baseline_energy_ws=baseline_energy_j(energy.duration_s, baseline_w) if baseline_w else None,
        dynamic_energy_ws=None if energy_j is None else _dynamic(energy, baseline_w),
        duration_s=values["duration_s"], sources=energy.sources, gco2e=values["gco2e"],
        problems=problems, invalid=frozenset(invalid),
        **_measured_how(data["config"], checked.sources, energy.sources),
    )
    if checked.task == "inference":
        fields.update(accuracy=values["accuracy"], top5_accuracy=values["top5_accuracy"],
                      n_samples=values["n_samples"], ece=values.get("ece"), nll=values.get("nll"),
                      corruption_top1=values.get("corruption_top1"), robustness=values.get("robustness"),
                      trust_duration_s=values.get("trust_duration_s"),
                      trust_energy_j=None if "trust_energy" in invalid else trust.energy_j)
    else:
        fields.update(epochs=values["epochs"], full_epochs=values["full_epochs"])
    return _run_log(fields)


# Every RunLog field, in order, with its default.
_RUN_TEMPLATE = {f.name: None if f.default is MISSING else f.default for f in dataclass_fields(RunLog)}


def _run_log(fields: dict) -> RunLog:
    """A RunLog of checked fields, built without the frozen dataclass's per-field
    ``object.__setattr__`` (a fifth of the cost, at 20,000 logs a second it counts)."""
    run = object.__new__(RunLog)
    run.__dict__.update(_RUN_TEMPLATE)
    run.__dict__.update(fields)
    return run


def read_log(path: str | os.PathLike) -> RunLog:
    """Read one merged log file. Raises OSError, ValueError (bad JSON) or LogFormatError."""
    return parse_log_bytes(read_file_bytes(path), os.path.basename(path))


def parse_log_bytes(raw: bytes, file: str) -> RunLog:
    """A merged log's bytes -> RunLog: the one decoder, then the one boundary check (:func:`parse_log`)."""
    return parse_log(parse_json(raw), file)


def iter_log_files(directory: str | os.PathLike) -> Iterator[Path]:
    return (Path(directory, name) for name in json_file_names(directory))


def _read_all(files: Iterable[tuple[str | os.PathLike, str]]) -> tuple[list[RunLog], list[Problem]]:
    """Read (path, file name) pairs; unreadable files become problems."""
    runs, problems = [], []
    for path, name in files:
        try:
            runs.append(parse_log_bytes(read_file_bytes(path), name))
        except (OSError, ValueError) as error:  # LogFormatError is a ValueError
            problems.append(Problem(name, str(error)))
    return runs, problems


def load_logs(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> tuple[list[RunLog], list[Problem]]:
    """Read a directory (or an iterable of files) of merged logs.

    Returns the readable logs and one Problem per file that was skipped, with the reason.
    Raises FileNotFoundError / NotADirectoryError if a directory argument does not exist.
    """
    if not isinstance(paths, (str, os.PathLike)):
        return _read_all((path, os.path.basename(path)) for path in paths)
    names = json_file_names(paths)
    return _read_all((os.path.join(paths, name), name) for name in names)


@dataclass(frozen=True)
class PlatformInfo:
    """What a merged log says about its machine and software, for tables of environments."""

    environment: str
    cpu: str
    gpus: tuple[str, ...]
    python: str
    packages: dict[str, str]  # normalised distribution name -> version


def read_platform(path: str | os.PathLike) -> PlatformInfo:
    """The platform part of one merged log, read like :func:`read_log` (a regular file under the size
    cap: a FIFO or device is refused, never waited on; :class:`FileRefused` names the file)."""
    try:
        raw = read_file_bytes(path)
    except FileRefused as error:
        raise FileRefused(f"{os.path.basename(path)}: {error}") from None
    try:
        checked = check_merged_log(parse_json(raw))
    except InputError as error:
        raise LogFormatError(str(error)) from None
    return platform_info(checked)


def platform_info(checked) -> PlatformInfo:
    """The platform part of a merged log the one decoder (``check_merged_log``) has checked."""
    from mlel.base.environment import package_versions

    platform, requirements = checked.platform, list(checked.requirements)
    gpus = tuple(str(gpu.get("Name", "")) for _, gpu in sorted((platform.get("GPU") or {}).items()))
    python = next((line.lstrip("# ").split()[0] for line in requirements if line.startswith("#")), "")
    return PlatformInfo(environment_key(platform, checked.backend, requirements),
                        str(platform.get("Processor") or ""), gpus, python, package_versions(requirements))


# --- writing: the records merge builds, and their 2022 layout --------------------------------------

@dataclass(frozen=True)
class Split:
    """One split of a merged log: each monitoring source's SPEC §3 summary (None: not measured),
    the results file, ``duration`` (results end - start, s) and our ``energy.json``."""

    monitoring: dict[str, dict | None]
    results: dict | None
    duration_s: float | None
    energy: dict | None = None

    def to_dict(self) -> dict:
        out = {f"{MONITORING}{s}": self.monitoring.get(s) for s in SOURCES_2022}
        out.update({f"{MONITORING}{s}": v for s, v in self.monitoring.items() if s not in SOURCES_2022})
        out.update({"results": self.results, "duration": self.duration_s, "energy": self.energy})
        return out


@dataclass(frozen=True)
class LogOverview:
    """One line about a merged log, for merge's table."""

    model: str
    backend: str
    duration_s: float | None
    accuracy: float | None
    energy: SplitEnergy
    incomplete: bool

    @property
    def kinds(self) -> str:
        return "+".join(sorted(set(self.energy.sources.values()))) or "-"


@dataclass(frozen=True)
class MergedLog:
    """A merged log (SPEC §3) as merge assembles it; ``to_dict()`` is the 2022 layout plus ours."""

    directory_name: str
    config: dict
    execution_platform: dict | None
    requirements: tuple[str, ...]
    task: str  # "inference" | "training"
    split: Split
    training: dict | None = None  # the merged log of the training run an inference run used
    incomplete_reason: str | None = None
    trust: Split | None = None  # infer.py --trust: its own window, merged as validation.trust

    def to_dict(self) -> dict:
        log = {"directory_name": self.directory_name, "config": self.config,
               "execution_platform": self.execution_platform, "requirements": list(self.requirements)}
        if self.task == "inference":
            log["train"] = {f"{MONITORING}{s}": None for s in SOURCES_2022} | {"results": None, "duration": None}
            log["validation"] = self.split.to_dict()
            if self.trust is not None:
                log["validation"]["trust"] = self.trust.to_dict()
            if self.training is not None:
                log["training"] = self.training
        else:
            log.update(self.split.to_dict())
        if self.incomplete_reason:
            log["incomplete"] = True
            log["incomplete_reason"] = self.incomplete_reason
        return log

    def overview(self) -> LogOverview:
        results = self.split.results if isinstance(self.split.results, dict) else {}
        model = self.config.get("model") or self.config.get("infer_model") or "?"
        if isinstance(model, str) and os.sep in model:
            model = Path(model).name
        accuracy = (results.get("metrics") or {}).get("accuracy")
        history = results.get("history")
        if accuracy is None and isinstance(history, dict):
            values = history.get("val_accuracy") or history.get("accuracy") or []
            accuracy = values[-1] if isinstance(values, list) and values else None
        return LogOverview(str(model), str(self.config.get("backend", "?")), self.split.duration_s,
                           _number(accuracy), split_energy(self.split.to_dict()),
                           bool(self.incomplete_reason))
