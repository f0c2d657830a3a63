"""The fast path of the merged-log reader: one typed msgspec decode of a well-formed log's bytes.

A directory of tens of thousands of logs is read at about the speed of parsing them once. Each log
is decoded in one call into structs that declare exactly the fields :mod:`mlel.logs` uses (the
per-device summaries, most of a log's bytes, are skipped by the decoder without being built).
Value fields are decoded loosely (``Any``) and checked here by the same rules as
:mod:`mlel.validation`.

The fast path only ever *accepts*: it returns the fields of a :class:`mlel.logs.RunLog` for a log
that has no problem at all, and ``None`` for anything else — a NaN literal, a wrong type, a value
out of range, a key not declared here (such as a ``monitoring_<source>`` merge does not write),
an incomplete run. The caller then takes the
one boundary check (:func:`mlel.validation.check_merged_log`), which names every problem. So the
fast path decides nothing the boundary check would decide differently; tests compare both paths
on every hostile case and the reference logs.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Optional, Union

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from mlel.environment import environment_key
from mlel.monitoring.energy import baseline_energy_j, dynamic_energy_j
from mlel.names import backend_key

NO_POWER = -1  # total_power_draw of a source that measures no power by design (psutil)


class _Gpu(Struct):
    Name: str = "unknown GPU"


class _Platform(Struct):
    Processor: Optional[str] = None
    GPU: Optional[dict[str, _Gpu]] = None


class _Config(Struct):
    backend: str
    model: Optional[str] = None
    infer_model: Optional[str] = None
    dataset: Optional[str] = None
    full_epochs: Any = None


class _Total(Struct):
    total_power_draw: Any = None
    total_duration: Any = None
    estimated: Any = None


class _Source(Struct):
    total: Optional[_Total] = None


class _ModelStats(Struct):
    params: Any = None
    flops: Any = None
    fsize: Any = None


class _Metrics(Struct):
    accuracy: Any = None
    top_5_accuracy: Any = None
    n_samples: Any = None


class _History(Struct):
    loss: Optional[list[Any]] = None


class _Results(Struct):
    start: Any = None
    end: Any = None
    model: Optional[_ModelStats] = None
    metrics: Optional[_Metrics] = None
    history: Optional[_History] = None


class _Energy(Struct):
    baseline_power_w: Optional[dict[str, Any]] = None
    gco2e: Any = None


_MaybeSource = Union[_Source, None, UnsetType]


class _Split(Struct, forbid_unknown_fields=True):
    # Every key of a split: a source not declared here (or any other key) makes the log one for
    # the boundary check, so no source is ever skipped. The sources merge writes
    # (mlel.merge.KNOWN_SOURCES), in the order it writes them.
    monitoring_pynvml: _MaybeSource = UNSET
    monitoring_pyrapl: _MaybeSource = UNSET
    monitoring_psutil: _MaybeSource = UNSET
    monitoring_estimate: _MaybeSource = UNSET
    results: Union[_Results, UnsetType] = UNSET  # null: an incomplete run, left to the slow path
    duration: Any = None
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


class _Unclean(Exception):
    """Raised where the log needs the boundary check (a problem to name, or an unusual shape)."""


# --- values: the rules of mlel.validation, as accept-or-raise ------------------------------------

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


def _fraction(value: Any) -> float | None:
    number = _non_negative(value)
    if number is not None and number > 1.0:
        raise _Unclean
    return number


def _positive_integer(value: Any) -> int | None:
    number = _non_negative(value)
    if number is not None and (number <= 0.0 or number != int(number)):
        raise _Unclean
    return None if number is None else int(value)


def _duration(split: _Split) -> float | None:
    """``duration`` (> 0), else ``results.end - results.start`` where both are timestamps >= 0."""
    if split.duration is not None:
        duration = _non_negative(split.duration)
        if duration == 0.0:
            raise _Unclean
        return duration
    start, end = _non_negative(split.results.start), _non_negative(split.results.end)
    if start is None or end is None:
        return None
    duration = end - start
    if not 0.0 < duration < math.inf:
        raise _Unclean
    return duration


def _values(log: _Log, split: _Split, task: str) -> dict:
    results = split.results
    stats = results.model or _ModelStats()
    energy = split.energy or _Energy()
    values = {"params": _non_negative(stats.params), "flops": _non_negative(stats.flops),
              "fsize": _non_negative(stats.fsize), "duration_s": _duration(split),
              "gco2e": _non_negative(energy.gco2e)}
    if task == "inference":
        metrics = results.metrics or _Metrics()
        values["accuracy"] = _fraction(metrics.accuracy)
        values["top5_accuracy"] = _fraction(metrics.top_5_accuracy)
        values["n_samples"] = _positive_integer(metrics.n_samples)
    else:
        losses = results.history.loss if results.history else None
        values["epochs"] = len(losses) if losses else None
        values["full_epochs"] = _positive_integer(log.config.full_epochs)
    return values


def _baseline_w(split: _Split) -> dict[str, float]:
    power = split.energy.baseline_power_w if split.energy else None
    if not power:
        return {}
    baseline = {source: _non_negative(watts) for source, watts in power.items()}
    if None in baseline.values():
        raise _Unclean  # a null entry is dropped by the boundary check; it decides
    return baseline


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
    """The source mappings ordered as the sources appear in the split's bytes."""
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
    platform, requirements = log.execution_platform, log.requirements
    gpus = tuple((index, gpu.Name) for index, gpu in platform.GPU.items()) if platform.GPU else ()
    pins = b"null" if requirements is UNSET else bytes(requirements)
    environment = _environment_of(platform.Processor, gpus, log.config.backend, pins)
    if environment is None:
        raise _Unclean
    return environment


@lru_cache(maxsize=4096)
def _environment_of(processor: str | None, gpus: tuple[tuple[str, str], ...], backend: str,
                    pins: bytes) -> str | None:
    # Thousands of logs share a few platforms and pin lists: each distinct one is named once, and
    # its pins decoded (checked to be a list of strings) only then. None: not a list of strings.
    try:
        lines = _REQUIREMENTS.decode(pins) or []
    except msgspec.DecodeError:
        return None
    platform = {"Processor": processor, "GPU": {index: {"Name": name} for index, name in gpus}}
    return environment_key(platform, backend, lines)


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
    baseline_w = _baseline_w(split)
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
        if baseline_w and energy_j is not None else None)
    return fields


def run_fields(raw: bytes, file: str) -> dict | None:
    """The fields of :class:`mlel.logs.RunLog` for a clean merged log's bytes; None for any log
    that the boundary check must read (anything unusual, any problem to name)."""
    try:
        return _fields(raw, file)
    except _Unclean:
        return None
