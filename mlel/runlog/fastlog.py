"""The fast path of the merged-log reader: one typed msgspec decode of a well-formed log's bytes.

A directory of tens of thousands of logs is read at about the speed of parsing them once. Each log
is decoded in one call into structs that declare exactly the fields :mod:`mlel.runlog.logs` uses (the
per-device summaries, most of a log's bytes, are skipped by the decoder without being built).
Value fields are decoded loosely (``Any``) and checked here by the same rules as
:mod:`mlel.runlog.validation`.

The fast path only ever *accepts*: it returns the fields of a :class:`mlel.runlog.logs.RunLog` for a log
that has no problem at all, and ``None`` for anything else — a NaN literal, a wrong type, a value
out of range, a key not declared here (such as a ``monitoring_<source>`` merge does not write),
an incomplete run. The caller then takes the
one boundary check (:func:`mlel.runlog.validation.check_merged_log`), which names every problem. So the
fast path decides nothing the boundary check would decide differently; tests compare both paths
on every hostile case and the reference logs.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Annotated, Any, Optional, Union

import msgspec
from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from mlel.base.environment import environment_key
from mlel.monitoring.energy import baseline_energy_j, dynamic_energy_j
from mlel.runlog.run_facts import configuration_of, devices_of, warmup_of, windows_of
from mlel.base.names import backend_key

NO_POWER = -1  # total_power_draw of a source that measures no power by design (psutil)


# The value rules of mlel.runlog.validation that msgspec can state: a JSON number (int or float, not bool)
# read as a float, in range; None where absent or null. Anything else fails the decode.
NonNegative = Optional[Annotated[float, Meta(ge=0.0)]]
Positive = Optional[Annotated[float, Meta(gt=0.0)]]
Fraction = Optional[Annotated[float, Meta(ge=0.0, le=1.0)]]


class _Gpu(Struct):
    Name: str = "unknown GPU"


class _Platform(Struct):
    Processor: Optional[str] = None
    GPU: Union[Raw, UnsetType] = UNSET  # a machine's GPUs: decoded once per distinct list


class _Config(Struct):
    backend: str
    model: Optional[str] = None
    infer_model: Optional[str] = None
    dataset: Optional[str] = None
    full_epochs: Any = None
    # how it was measured (mlel.runlog.run_facts): loosely typed, read by the same rules as the slow path
    weights: Any = None
    num_classes: Any = None
    input_size: Any = None
    batch_size: Any = None
    precision: Any = None
    warmup: Any = None
    gpu_monitor_interval: Any = None
    cpu_monitor_interval: Any = None
    devices: Any = None  # a data-parallel run's devices: the environment counts them


class _Total(Struct):
    total_power_draw: Any = None
    total_duration: Any = None
    nr_measurements: Any = None
    estimated: Any = None


class _Source(Struct):
    total: Optional[_Total] = None


class _ModelStats(Struct):
    params: NonNegative = None
    flops: NonNegative = None
    fsize: NonNegative = None


class _Metrics(Struct):
    accuracy: Fraction = None
    top_5_accuracy: Fraction = None
    n_samples: Any = None  # 128.0 is 128: checked below


class _History(Struct):
    loss: Optional[list[Any]] = None


class _Results(Struct):
    start: NonNegative = None
    end: NonNegative = None
    model: Optional[_ModelStats] = None
    metrics: Optional[_Metrics] = None
    history: Optional[_History] = None


class _Energy(Struct):
    baseline_power_w: Optional[dict[str, Annotated[float, Meta(ge=0.0)]]] = None
    gco2e: NonNegative = None


_MaybeSource = Union[_Source, None, UnsetType]


class _Split(Struct, forbid_unknown_fields=True):
    # Every key of a split: a source not declared here (or any other key) makes the log one for
    # the boundary check, so no source is ever skipped. The sources merge writes
    # (mlel.runlog.merge.KNOWN_SOURCES), in the order it writes them.
    monitoring_pynvml: _MaybeSource = UNSET
    monitoring_pyrapl: _MaybeSource = UNSET
    monitoring_psutil: _MaybeSource = UNSET
    monitoring_estimate: _MaybeSource = UNSET
    results: Union[_Results, UnsetType] = UNSET  # null: an incomplete run, left to the slow path
    duration: Positive = None
    energy: Optional[_Energy] = None


SOURCES = ("pynvml", "pyrapl", "psutil", "estimate")
_SOURCE_FIELDS = tuple(f"monitoring_{s}" for s in SOURCES)
_NAMED_FIELDS = tuple(zip(SOURCES, _SOURCE_FIELDS))
_KEYS = {s: f'"monitoring_{s}"'.encode() for s in SOURCES}


class _Log(_Split, kw_only=True, forbid_unknown_fields=True):
    """Every top-level key of a merged log (a training log's split is the top level)."""

    directory_name: Any = None
    incomplete_reason: Any = None
    config: _Config
    execution_platform: _Platform
    requirements: Union[Raw, UnsetType] = UNSET
    validation: Union[_Split, UnsetType] = UNSET  # inference; not an object: the slow path's call
    train: Union[Raw, UnsetType] = UNSET
    training: Union[Raw, UnsetType] = UNSET
    incomplete: Any = None


class _ValidationBytes(Struct):
    validation: Raw


_LOG = msgspec.json.Decoder(_Log)
_VALIDATION_BYTES = msgspec.json.Decoder(_ValidationBytes)
_REQUIREMENTS = msgspec.json.Decoder(Optional[list[str]])
_GPUS = msgspec.json.Decoder(Optional[dict[str, _Gpu]])


class _Unclean(Exception):
    """Raised where the log needs the boundary check (a problem to name, or an unusual shape)."""


# --- values: the rules of mlel.runlog.validation, as accept-or-raise ------------------------------------

def _non_negative(value: Any) -> float | None:
    """A finite number >= 0 (int or float, not bool) as a float; None stays None."""
    if value is None:
        return None
    kind = type(value)
    if kind is float:
        if 0.0 <= value < math.inf:
            return value
    elif kind is int and value >= 0:
        try:
            return float(value)
        except OverflowError:
            pass
    raise _Unclean


def _positive_integer(value: Any) -> int | None:
    number = _non_negative(value)
    if number is not None and (number <= 0.0 or number != int(number)):
        raise _Unclean
    return None if number is None else int(value)


def _duration(split: _Split) -> float | None:
    """``duration``, else ``results.end - results.start`` where both are given."""
    if split.duration is not None:
        return split.duration
    start, end = split.results.start, split.results.end
    if start is None or end is None:
        return None
    duration = end - start
    if not 0.0 < duration < math.inf:
        raise _Unclean
    return duration


def _values(log: _Log, split: _Split, task: str) -> dict:
    results = split.results
    stats = results.model or _NO_STATS
    values = {"params": stats.params, "flops": stats.flops, "fsize": stats.fsize,
              "duration_s": _duration(split), "gco2e": split.energy.gco2e if split.energy else None}
    if task == "inference":
        metrics = results.metrics or _NO_METRICS
        values["accuracy"] = metrics.accuracy
        values["top5_accuracy"] = metrics.top_5_accuracy
        values["n_samples"] = _positive_integer(metrics.n_samples)
    else:
        losses = results.history.loss if results.history else None
        values["epochs"] = len(losses) if losses else None
        values["full_epochs"] = _positive_integer(log.config.full_epochs)
    return values


_NO_STATS, _NO_METRICS = _ModelStats(), _Metrics()


# --- sources and their energy --------------------------------------------------------------------

def _window(value: Any) -> float | None:
    """A source's measured window as :func:`mlel.monitoring.energy.as_float` reads it."""
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def _sources(split: _Split) -> tuple[dict[str, str], dict[str, float], dict[str, float]]:
    """(how each power source measured, its energy J, its window s), in the declared order."""
    kinds, energy, windows = {}, {}, {}
    for name, field in _NAMED_FIELDS:
        source = getattr(split, field)
        if source is UNSET or source is None or source.total is None:
            continue
        total = source.total
        draw = total.total_power_draw
        if draw is None or (draw == NO_POWER and name == "psutil" and type(draw) is not bool):
            continue  # not measured, or a source that measures no power by design
        energy[name] = _non_negative(draw)
        kinds[name] = "estimated" if total.estimated else "measured"
        window = _window(total.total_duration)
        if window is not None:
            windows[name] = window
    return kinds, energy, windows


def _in_file_order(split_raw: bytes, *mappings: dict) -> tuple:
    """The source mappings ordered as the sources appear in the split's bytes (each key found
    exactly once and spelled without escapes, so the one found is the split's own)."""
    if b"\\" in split_raw:
        raise _Unclean
    positions = {}
    for name in mappings[0]:
        key = _KEYS[name]
        first = split_raw.find(key)
        if first < 0 or split_raw.find(key, first + 1) >= 0:
            raise _Unclean
        positions[name] = first
    order = sorted(positions, key=positions.get)
    return tuple({name: m[name] for name in order if name in m} for m in mappings)


# --- the environment --------------------------------------------------------------------------

def _environment(log: _Log) -> str:
    platform, requirements, gpus = log.execution_platform, log.requirements, log.execution_platform.GPU
    environment = _environment_of(platform.Processor, b"null" if gpus is UNSET else bytes(gpus),
                                  log.config.backend, b"null" if requirements is UNSET else bytes(requirements),
                                  devices_of(log.config.devices))
    if environment is None:
        raise _Unclean
    return environment


@lru_cache(maxsize=4096)
def _environment_of(processor: str | None, gpus: bytes, backend: str, pins: bytes,
                    devices: tuple[str, ...] = ()) -> str | None:
    # Thousands of logs share a few machines and pin lists: each distinct one is named once, and
    # its GPUs and pins decoded (checked: objects with a string Name, strings) only then.
    # None: not of that shape.
    try:
        lines = _REQUIREMENTS.decode(pins) or []
        gpu_names = {index: {"Name": gpu.Name} for index, gpu in (_GPUS.decode(gpus) or {}).items()}
    except msgspec.DecodeError:
        return None
    return environment_key({"Processor": processor, "GPU": gpu_names}, backend, lines, devices)


# --- the log ----------------------------------------------------------------------------------

def _decode(raw: bytes) -> tuple[_Log, _Split, str]:
    try:
        log = _LOG.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        raise _Unclean from None
    if log.incomplete:
        raise _Unclean
    if log.validation is UNSET:
        if log.train is not UNSET or log.training is not UNSET:
            raise _Unclean  # a training log holds no other split
        split, task = log, "training"
    else:
        split, task = log.validation, "inference"
    if split.results is UNSET or not (log.config.model or log.config.infer_model):
        raise _Unclean
    return log, split, task


def _fields(raw: bytes, file: str) -> dict:
    log, split, task = _decode(raw)
    fields = _values(log, split, task)
    baseline_w = (split.energy.baseline_power_w if split.energy else None) or {}
    kinds, energy, windows = _sources(split)
    if len(kinds) > 1:
        split_raw = raw if split is log else bytes(_VALIDATION_BYTES.decode(raw).validation)
        kinds, energy, windows = _in_file_order(split_raw, kinds, energy, windows)
    try:
        energy_j = math.fsum(energy.values()) if energy else None
    except OverflowError:
        raise _Unclean from None
    if energy_j is not None and not math.isfinite(energy_j):
        raise _Unclean
    fields.update(
        file=file, task=task, model=log.config.model or log.config.infer_model,
        environment=_environment(log), backend=backend_key(log.config.backend),
        dataset=log.config.dataset or "ImageNet", energy_ws=energy_j, sources=kinds,
        baseline_energy_ws=baseline_energy_j(windows, baseline_w) if baseline_w else None,
        dynamic_energy_ws=dynamic_energy_j(energy, windows, baseline_w)
        if baseline_w and energy_j is not None else None,
        **_measured_how(log.config, split, kinds))
    return fields


def _measured_how(config: _Config, split: _Split, counted: dict[str, str]) -> dict:
    """Configuration, warm-up and power-source windows, by the slow path's rules (mlel.runlog.run_facts)."""
    totals = [(name, total.total_duration, total.nr_measurements)
              for name in counted for total in [getattr(split, f"monitoring_{name}").total]]
    return dict(configuration=configuration_of(lambda key: getattr(config, key)),
                warmup=warmup_of(config.warmup),
                windows=windows_of(totals, config.gpu_monitor_interval, config.cpu_monitor_interval))


def run_fields(raw: bytes, file: str) -> dict | None:
    """The fields of :class:`mlel.runlog.logs.RunLog` for a clean merged log's bytes; None for any log
    that the boundary check must read (anything unusual, any problem to name)."""
    try:
        return _fields(raw, file)
    except _Unclean:
        return None
