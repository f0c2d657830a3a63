"""The fast path of the merged-log reader: one typed msgspec decode of a well-formed log's bytes.

A directory of tens of thousands of logs is read at about the speed of parsing them once. Each log
is decoded in one call into structs that declare exactly the fields :mod:`mlel.logs` uses (the
per-device summaries, most of a log's bytes, are skipped by the decoder without being built).
Value fields are decoded loosely (``Any``) and checked here by the same rules as
:mod:`mlel.validation`.

The fast path only ever *accepts*: it returns the fields of a :class:`mlel.logs.RunLog` for a log
that has no problem at all, and ``None`` for anything else — a NaN literal, a wrong type, a value
out of range, an undeclared ``monitoring_<source>``, an incomplete run. The caller then takes the
one boundary check (:func:`mlel.validation.check_merged_log`), which names every problem. So the
fast path decides nothing the boundary check would decide differently; tests compare both paths
on every hostile case and the reference logs.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Optional, Union

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from mlel.environment import environment_key
from mlel.monitoring.energy import baseline_energy_j, dynamic_energy_j
from mlel.names import backend_key

MONITORING = b'"monitoring_'
_ASCII_ESCAPE = re.compile(rb"\\u00[2-7][0-9a-fA-F]")
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


class _Split(Struct):
    # The sources merge writes (mlel.merge.KNOWN_SOURCES), in the order it writes them.
    monitoring_pynvml: _MaybeSource = UNSET
    monitoring_pyrapl: _MaybeSource = UNSET
    monitoring_psutil: _MaybeSource = UNSET
    monitoring_estimate: _MaybeSource = UNSET
    results: Union[_Results, UnsetType] = UNSET  # null: an incomplete run, left to the slow path
    duration: Any = None
    energy: Optional[_Energy] = None


SOURCES = ("pynvml", "pyrapl", "psutil", "estimate")
_SOURCE_FIELDS = tuple(f"monitoring_{s}" for s in SOURCES)
_SOURCE_KEYS = tuple(f'"monitoring_{s}"'.encode() for s in SOURCES)


class _Log(_Split, kw_only=True):
    config: _Config
    execution_platform: _Platform
    requirements: Union[Raw, UnsetType] = UNSET
    validation: Union[Raw, UnsetType] = UNSET
    train: Union[Raw, UnsetType] = UNSET
    training: Union[Raw, UnsetType] = UNSET
    incomplete: Any = None


_LOG = msgspec.json.Decoder(_Log)
_SPLIT = msgspec.json.Decoder(_Split)
_REQUIREMENTS = msgspec.json.Decoder(Optional[list[str]])


def _float(value: Any) -> float | None:
    """A finite float of an int or float (not bool); None otherwise."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def _non_negative(value: Any) -> tuple[bool, float | None]:
    """(ok, value) of an optional value that must be a finite number >= 0."""
    if value is None:
        return True, None
    number = _float(value)
    return (number is not None and number >= 0.0), number


def _fraction(value: Any) -> tuple[bool, float | None]:
    ok, number = _non_negative(value)
    return (ok and (number is None or number <= 1.0)), number


def _positive_integer(value: Any) -> tuple[bool, int | None]:
    if value is None:
        return True, None
    number = _float(value)
    if number is None or number <= 0 or number != int(number):
        return False, None
    return True, int(value)


def _counted_sources(split: _Split) -> int:
    return sum(getattr(split, name) is not UNSET for name in _SOURCE_FIELDS)


def _all_sources_declared(raw: bytes, log: _Log, split: _Split) -> bool:
    """Every ``"monitoring_`` in the bytes is a declared key of a struct decoded here, or lies in
    a part this reader skips (``train``, ``training``); else a source would be missed."""
    expected = _counted_sources(log) + (_counted_sources(split) if split is not log else 0)
    for part in (log.train, log.training):
        if part is not UNSET:
            expected += bytes(part).count(MONITORING)
    if raw.count(MONITORING) != expected:
        return False
    # A key may spell an ASCII letter as \\u00XX (writers escape only control and non-ASCII
    # characters): such a log may hold a source that no count above sees.
    return b"\\u00" not in raw or _ASCII_ESCAPE.search(raw) is None


def _energy(split: _Split, split_raw: bytes) -> tuple | None:
    """(energy J or None, sources, durations s, energy by source J) of a clean split; None when a
    source needs the boundary check (a draw that is not a finite number >= 0, a sum that overflows)."""
    sources, durations, by_source = {}, {}, {}
    for name, field in zip(SOURCES, _SOURCE_FIELDS):
        source = getattr(split, field)
        if source is UNSET or source is None or source.total is None:
            continue
        total = source.total
        draw = total.total_power_draw
        if draw is None or (draw == NO_POWER and name == "psutil" and type(draw) is not bool):
            continue
        value = _float(draw)
        if value is None or value < 0.0:
            return None
        sources[name] = "estimated" if total.estimated else "measured"
        by_source[name] = value
        duration = _window(total.total_duration)
        if duration is not None:
            durations[name] = duration
    if len(sources) > 1:
        sources, by_source, durations = _in_file_order(split_raw, sources, by_source, durations)
        if sources is None:
            return None
    try:
        energy = math.fsum(by_source.values()) if by_source else None
    except OverflowError:
        return None
    if energy is not None and not math.isfinite(energy):
        return None
    return energy, sources, durations, by_source


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


def _in_file_order(split_raw: bytes, *mappings: dict) -> tuple:
    """The source mappings ordered as the sources appear in the split (as the boundary check
    reads them); ``(None, ...)`` when a key cannot be placed unambiguously."""
    positions = {}
    for name in mappings[0]:
        key = _SOURCE_KEYS[SOURCES.index(name)]
        first = split_raw.find(key)
        if first < 0 or split_raw.find(key, first + 1) >= 0:
            return (None,) * len(mappings)
        positions[name] = first
    order = sorted(positions, key=positions.get)
    return tuple({name: m[name] for name in order if name in m} for m in mappings)


def _environment(log: _Log) -> str | None:
    """The environment name; None when ``requirements`` is not a list of strings."""
    platform, requirements = log.execution_platform, log.requirements
    gpus = tuple((index, gpu.Name) for index, gpu in (platform.GPU or {}).items())
    pins = b"null" if requirements is UNSET else bytes(requirements)
    return _environment_of(platform.Processor, gpus, log.config.backend, pins)


@lru_cache(maxsize=4096)
def _environment_of(processor: str | None, gpus: tuple[tuple[str, str], ...], backend: str,
                    pins: bytes) -> str | None:
    # Thousands of logs share a few platforms and pin lists: each distinct one is named once, and
    # its pins decoded (checked to be a list of strings) only then.
    try:
        lines = _REQUIREMENTS.decode(pins) or []
    except msgspec.DecodeError:
        return None
    platform = {"Processor": processor, "GPU": {index: {"Name": name} for index, name in gpus}}
    return environment_key(platform, backend, lines)


def _decode(raw: bytes) -> tuple[_Log, _Split, bytes, str] | None:
    """(log, measured split, the split's bytes, task) of a log whose structure is clean."""
    try:
        log = _LOG.decode(raw)
        if log.validation is UNSET:
            split, split_raw, task = log, raw, "training"
            if log.train is not UNSET or log.training is not UNSET:
                return None  # a training log holds no other split
        else:
            split_raw = bytes(log.validation)
            if not split_raw.startswith(b"{"):
                return None  # not an object: the boundary check decides what the log is
            split, task = _SPLIT.decode(split_raw), "inference"
    except (msgspec.DecodeError, RecursionError):
        return None
    if log.incomplete or split.results is UNSET or not _all_sources_declared(raw, log, split):
        return None
    return log, split, split_raw, task


def _values(log: _Log, split: _Split, task: str) -> dict | None:
    """The checked values of a clean log; None as soon as one would be a problem."""
    results = split.results
    stats = results.model or _ModelStats()
    checks = {"params": _non_negative(stats.params), "flops": _non_negative(stats.flops),
              "fsize": _non_negative(stats.fsize)}
    if split.duration is not None:
        ok, duration = _non_negative(split.duration)
        checks["duration_s"] = (ok and duration != 0.0, duration)
    else:
        checks["duration_s"] = _duration_from(results.start, results.end)
    if task == "inference":
        metrics = results.metrics or _Metrics()
        checks.update(accuracy=_fraction(metrics.accuracy), top5_accuracy=_fraction(metrics.top_5_accuracy),
                      n_samples=_positive_integer(metrics.n_samples))
    else:
        losses = results.history.loss if results.history else None
        checks.update(epochs=(True, len(losses) if losses else None),
                      full_epochs=_positive_integer(log.config.full_epochs))
    energy = split.energy or _Energy()
    checks["gco2e"] = _non_negative(energy.gco2e)
    if not all(ok for ok, _ in checks.values()):
        return None
    return {key: value for key, (_, value) in checks.items()}


def _duration_from(start: Any, end: Any) -> tuple[bool, float | None]:
    ok_start, start = _non_negative(start)
    ok_end, end = _non_negative(end)
    if not (ok_start and ok_end) or start is None or end is None:
        return ok_start and ok_end, None
    duration = end - start
    return math.isfinite(duration) and duration > 0.0, duration


def _baseline(split: _Split) -> dict[str, float] | None:
    power = (split.energy.baseline_power_w if split.energy else None) or {}
    checked = {source: _non_negative(watts) for source, watts in power.items()}
    if not all(ok and watts is not None for ok, watts in checked.values()):
        return None  # a null entry is dropped silently by the boundary check: leave it to it
    return {source: watts for source, (_, watts) in checked.items()}


def run_fields(raw: bytes, file: str) -> dict | None:
    """The fields of :class:`mlel.logs.RunLog` for a clean merged log's bytes; None for any log
    that the boundary check must read (anything unusual, any problem to name)."""
    decoded = _decode(raw)
    if decoded is None:
        return None
    log, split, split_raw, task = decoded
    values = _values(log, split, task)
    baseline_w = _baseline(split)
    energy = _energy(split, split_raw)
    model = log.config.model or log.config.infer_model
    if values is None or baseline_w is None or energy is None or not model:
        return None
    environment = _environment(log)
    if environment is None:
        return None
    energy_j, sources, durations, by_source = energy
    values.update(
        file=file, task=task, model=model, environment=environment, backend=backend_key(log.config.backend),
        dataset=log.config.dataset or "ImageNet", energy_ws=energy_j, sources=sources,
        baseline_energy_ws=baseline_energy_j(durations, baseline_w) if baseline_w else None,
        dynamic_energy_ws=dynamic_energy_j(by_source, durations, baseline_w)
        if baseline_w and energy_j is not None else None)
    return values
