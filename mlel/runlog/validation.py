"""Check a merged log at the boundary: every field a reader uses, checked once, each violation named.

Two kinds of problem, kept apart on purpose:

- **Structure** (the log cannot be placed): ``config`` or ``execution_platform`` not an object, no
  model or backend name, ``requirements`` not a list of strings, a GPU entry that is not an object,
  nesting deeper than :data:`MAX_DEPTH`. The file is skipped: :class:`InvalidLogError` names the JSON
  path and the value. The shape of the containers is declared once as msgspec structs, whose errors
  carry the JSON path.
- **Values** (one metric cannot be computed): an energy that is negative, NaN, infinite or a string;
  accuracy outside [0, 1] (a percentage); ``n_samples`` that is not a positive integer; a duration
  that is not > 0; a count too large for a float. The field becomes ``None`` and a
  :class:`FieldProblem` says why, so the metric that needs it is reported invalid — never a default
  substituted silently.

Nothing here reads files; :func:`parse_json` turns bytes into the object that :func:`check_merged_log`
checks.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import msgspec
import orjson

from mlel.base.errors import InputError
from mlel.base.io import MAX_JSON_DEPTH, json_depth_exceeds
from mlel.base.values import nonnegative_problem

MAX_DEPTH = MAX_JSON_DEPTH  # merged logs nest 6 levels; anything far deeper is not one
_SHOWN_CHARS = 60  # how much of a bad value a message quotes


STRUCTURE = "log"  # the key of a structure problem: it affects the whole log
TRUST = "trust"  # the key of a problem with validation.trust as a whole (infer.py --trust, issue 28)


@dataclass(frozen=True)
class FieldProblem:
    """One field of one merged log that could not be used: the run field (metric input) it affects
    (``key``: ``"n_samples"``, ``"energy"``, …; :data:`STRUCTURE` where the log cannot be placed),
    where it is (``json_path``), the value as quoted (``None``: no single value to quote), why, and
    the file (set by the reader that knows it)."""

    key: str
    json_path: str
    value: str | None
    reason: str
    file: str = ""

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.json_path}: {self.reason}"
        return f"{self.json_path} = {self.value}: {self.reason}"


def _structure_problem(json_path: str, value: str, reason: str) -> FieldProblem:
    return FieldProblem(STRUCTURE, json_path, value, reason)


class InvalidLogError(InputError):
    """The log's structure is broken; ``problems`` names each broken field."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in problems))


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS - 1] + "…"


# --------------------------------------------------------------------------------------------
# parsing with bounded work


_DECODER = msgspec.json.Decoder()  # untyped: integers of any size stay exact integers


def parse_json(raw: bytes) -> Any:
    """Bytes -> object: the one decoder of merged logs (every reader of them comes here).
    msgspec first; what it refuses but logs hold (NaN, Infinity, 1e400) the stdlib parser reads;
    a file neither reads is named by orjson's words (line and column). Raises ValueError naming
    why; never RecursionError."""
    try:
        return _DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        first_error = error
    if json_depth_exceeds(raw, MAX_DEPTH):  # mlel.base.io's rule, scanned only where the fast parsers refused
        raise ValueError(f"not a merged log: nested deeper than the depth cap of {MAX_DEPTH} levels")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError(f"not valid JSON ({first_error})") from None


# --------------------------------------------------------------------------------------------
# structure: the containers a reader walks, declared once


class _Gpu(msgspec.Struct):
    Name: str = "unknown GPU"


_GPUS = Optional[dict[str, _Gpu]]


class _Platform(msgspec.Struct):
    Processor: Optional[str] = None
    GPU: Optional[dict[str, Any]] = None  # entries checked at once; one by one where one fails (named)


class _Config(msgspec.Struct):
    backend: str
    model: Optional[str] = None
    infer_model: Optional[str] = None
    dataset: Optional[str] = None
    full_epochs: Any = None


class _Source(msgspec.Struct):
    total: Optional[dict[str, Any]] = None


class _ModelStats(msgspec.Struct):
    params: Any = None
    flops: Any = None
    fsize: Any = None


class _History(msgspec.Struct):
    loss: Optional[list[Any]] = None


class _Results(msgspec.Struct):
    start: Any = None
    end: Any = None
    model: Optional[_ModelStats] = None
    metrics: Optional[dict[str, Any]] = None
    history: Optional[_History] = None


class _Energy(msgspec.Struct):
    baseline_power_w: Optional[dict[str, Any]] = None
    gco2e: Any = None


class _Split(msgspec.Struct):
    results: Optional[_Results] = None
    duration: Any = None
    energy: Optional[_Energy] = None


class _Log(msgspec.Struct):
    config: _Config
    execution_platform: _Platform
    requirements: Optional[list[str]] = None


_MISSING_FIELD = re.compile(r"Object missing required field `([^`]+)`")


def _convert(value: Any, shape: type, where: str, key: str = STRUCTURE):
    try:
        return msgspec.convert(value, shape, strict=False)
    except msgspec.ValidationError as error:
        reason, _, path = str(error).partition(" - at `$")
        path = where + path.rstrip("`")
        missing = _MISSING_FIELD.match(reason)
        if missing:  # msgspec places a missing field at its parent
            path = f"{path}.{missing.group(1)}"
        return FieldProblem(key, path.lstrip(".") or where.rstrip(".") or "$",
                            _shown(_lookup(value, path, where)), reason)


def _lookup(root: Any, path: str, where: str) -> Any:
    """The value at a msgspec path (``.a.b[0]``) below ``where``, for quoting it in a message."""
    value = root
    for part in path[len(where):].replace("[", ".").replace("]", "").split("."):
        if not part:
            continue
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return value
    return value


# --------------------------------------------------------------------------------------------
# values: one rule per kind of field


Rule = Callable[[Any], Optional[str]]  # value -> None when fine, else the reason


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _number_rule(minimum: float | None = None, strict: bool = False, maximum: float | None = None) -> Rule:
    def check(value: Any) -> str | None:
        number = _as_float(value)
        if number is None:
            return "not a finite number"
        if minimum is not None and (number <= minimum if strict else number < minimum):
            return f"must be {'>' if strict else '≥'} {minimum:g}"
        if maximum is not None and number > maximum:
            return f"must be ≤ {maximum:g}" + (" (a percentage? accuracy is a fraction)" if maximum == 1 else "")
        return None
    return check


def _positive_integer(value: Any) -> str | None:
    number = _as_float(value)
    if number is None or number != int(number) or number <= 0:
        return "not a positive integer"
    return None


NON_NEGATIVE = nonnegative_problem  # energies, times, powers: the one rule records share (mlel.base.values)
POSITIVE = _number_rule(0.0, strict=True)
FRACTION = _number_rule(0.0, maximum=1.0)
TIMESTAMP = _number_rule(0.0)


@dataclass
class _Checker:
    """Collects value problems while the checked values are read out."""

    problems: list[FieldProblem] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)  # value keys whose field was present but bad

    def value(self, value: Any, rule: Rule, path: str, key: str) -> Any:
        if value is None:
            return None
        reason = rule(value)
        if reason is None:
            return int(value) if rule is _positive_integer else float(value)
        self.problems.append(FieldProblem(key, path, _shown(value), reason))
        self.invalid.add(key)
        return None


# --------------------------------------------------------------------------------------------
# the checked log


@dataclass(frozen=True)
class CheckedLog:
    """A merged log's usable fields: structure checked, each value valid or None with a problem."""

    task: str  # "inference" | "training"
    model: str
    backend: str
    dataset: str
    platform: dict
    requirements: tuple[str, ...]
    sources: dict[str, dict]  # "monitoring_<source>" -> {"total": {...}} of the measured split
    values: dict[str, float | int | None]
    baseline_power_w: dict[str, float]  # idle power per source (W), valid entries only
    problems: tuple[FieldProblem, ...] = ()
    invalid: frozenset[str] = frozenset()  # keys of ``values`` (or "energy") that were present but bad
    trust_sources: dict[str, dict] = field(default_factory=dict)  # as ``sources``, of validation.trust


def _structure(data: Any) -> tuple[_Log, str, str, _Split]:
    if not isinstance(data, dict):
        raise InvalidLogError([_structure_problem("$", _shown(data), "top level is not an object")])
    if data.get("incomplete"):
        raise InputError(f"incomplete run: {data.get('incomplete_reason') or 'no results'}")
    for key in ("config", "execution_platform"):
        if key not in data:
            raise InvalidLogError([_structure_problem(key, "missing", "not a merged log: field missing")])
    if isinstance(data.get("validation"), dict):
        task, where, split_data = "inference", "validation.", data["validation"]
    elif "results" in data:
        task, where, split_data = "training", "", data
    else:
        raise InvalidLogError([_structure_problem("validation", "missing",
                                                  "not a merged log: neither 'validation' (inference) nor 'results' (training)")])
    log, split = _convert(data, _Log, ""), _convert(split_data, _Split, where.rstrip("."))
    gpus = log.execution_platform.GPU if isinstance(log, _Log) else None
    gpu_checks = [] if isinstance(_convert(gpus, _GPUS, ""), dict) else [  # all at once; one by one to name it
        _convert(gpu, _Gpu, f"execution_platform.GPU.{key}") for key, gpu in (gpus or {}).items()]
    problems = [p for p in (log, split, *gpu_checks) if isinstance(p, FieldProblem)]
    if problems:
        raise InvalidLogError(problems)
    if split.results is None:
        raise InputError(f"no results in '{where}results' (run incomplete?)")
    model = log.config.model or log.config.infer_model
    if not model:
        raise InvalidLogError([_structure_problem("config.model", "missing", "no model name")])
    return log, task, where, split


def _check_sources(split_data: dict, where: str, checker: _Checker, key_of: str = "energy") -> dict[str, dict]:
    """Each ``monitoring_<source>`` must be an object whose ``total`` is one. Returns
    ``{key: {"total": total}}`` for the well-formed ones; their energies are checked and summed in
    one place, :func:`mlel.runlog.logs.split_energy`. A bad one makes ``key_of`` invalid."""
    sources = {}
    for key, summary in split_data.items():
        if not key.startswith("monitoring_"):
            continue
        source = _convert(summary, Optional[_Source], f"{where}{key}", key_of)
        if isinstance(source, FieldProblem):
            checker.problems.append(source)
            checker.invalid.add(key_of)
        elif source is not None:
            sources[key] = {"total": source.total}
    return sources


# the rated trust metrics of infer.py --trust (validation.trust.results.metrics) and their rules
TRUST_RULES: dict[str, Rule] = {"ece": FRACTION, "nll": NON_NEGATIVE, "corruption_top1": FRACTION,
                                "robustness": NON_NEGATIVE}


def _check_trust(data: Any, where: str, checker: _Checker, values: dict) -> dict[str, dict]:
    """validation.trust, infer.py --trust's own window: its metrics and duration into ``values``
    (absent: None, "not measured", never 0), its sources returned. A broken one costs the trust
    values only, never the run's efficiency values."""
    trust = _convert(data, Optional[_Split], where, TRUST)
    if isinstance(trust, FieldProblem):
        checker.problems.append(trust)
        checker.invalid.add(TRUST)
        return {}
    if trust is None:
        return {}
    metrics = (trust.results.metrics if trust.results is not None else None) or {}
    for key, rule in TRUST_RULES.items():
        values[key] = checker.value(metrics.get(key), rule, f"{where}.results.metrics.{key}", key)
    values["trust_duration_s"] = checker.value(trust.duration, POSITIVE, f"{where}.duration", "trust_duration_s")
    return _check_sources(data, f"{where}.", checker, "trust_energy")


def check_merged_log(data: Any) -> CheckedLog:
    """Check a parsed merged log (SPEC §3). Raises :class:`InvalidLogError` (structure) or
    :class:`~mlel.base.errors.InputError` (incomplete run); value problems are returned, not raised."""
    log, task, where, split = _structure(data)
    split_data = data["validation"] if task == "inference" else data
    checker = _Checker()
    results, stats = split.results, split.results.model or _ModelStats()
    at = f"{where}results."
    values: dict[str, float | int | None] = {
        "params": checker.value(stats.params, NON_NEGATIVE, f"{at}model.params", "params"),
        "flops": checker.value(stats.flops, NON_NEGATIVE, f"{at}model.flops", "flops"),
        "fsize": checker.value(stats.fsize, NON_NEGATIVE, f"{at}model.fsize", "fsize"),
        "duration_s": checker.value(split.duration, POSITIVE, f"{where}duration", "duration_s"),
    }
    if values["duration_s"] is None and split.duration is None:
        start = checker.value(results.start, TIMESTAMP, f"{at}start", "duration_s")
        end = checker.value(results.end, TIMESTAMP, f"{at}end", "duration_s")
        if start is not None and end is not None:
            values["duration_s"] = checker.value(end - start, POSITIVE, f"{at}end - {at}start", "duration_s")
    trust_sources = {}
    if task == "inference":
        trust_sources = _check_trust(split_data.get("trust"), f"{where}trust", checker, values)
        metrics = results.metrics or {}
        values["accuracy"] = checker.value(metrics.get("accuracy"), FRACTION, f"{at}metrics.accuracy", "accuracy")
        values["top5_accuracy"] = checker.value(metrics.get("top_5_accuracy"), FRACTION,
                                                f"{at}metrics.top_5_accuracy", "top5_accuracy")
        values["n_samples"] = checker.value(metrics.get("n_samples"), _positive_integer, f"{at}metrics.n_samples", "n_samples")
    else:
        losses = results.history.loss if results.history else None
        values["epochs"] = len(losses) if losses else None
        values["full_epochs"] = checker.value(log.config.full_epochs, _positive_integer, "config.full_epochs", "full_epochs")
    energy = split.energy or _Energy()
    values["gco2e"] = checker.value(energy.gco2e, NON_NEGATIVE, f"{where}energy.gco2e", "gco2e")
    baseline = {k: checker.value(w, NON_NEGATIVE, f"{where}energy.baseline_power_w.{k}", "baseline")
                for k, w in (energy.baseline_power_w or {}).items()}
    sources = _check_sources(split_data, where, checker)
    return CheckedLog(
        task=task, model=str(log.config.model or log.config.infer_model), backend=log.config.backend,
        dataset=log.config.dataset or "ImageNet", platform=data["execution_platform"],
        requirements=tuple(log.requirements or ()), values=values,
        sources=sources, baseline_power_w={k: w for k, w in baseline.items() if w is not None},
        problems=tuple(checker.problems), invalid=frozenset(checker.invalid), trust_sources=trust_sources)
