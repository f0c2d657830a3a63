"""Typed records of the rating core: an entry to rate, and a rated result.

An *entry* (:class:`ModelResult`) is generic — (task, environment, model, {property key: value},
sources, ...) — so results of merged logs and results imported from other tools rate alike.
A :class:`RatedResult` is what the engine made of one entry; its :meth:`RatedResult.to_dict` is
the one place the rated-summary JSON of SPEC §7 is built.
"""
from __future__ import annotations

import math
import os
from pathlib import PurePath
from dataclasses import dataclass, field
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Callable, NamedTuple

from mlel.ratings.engine import RATINGS
from mlel.ratings.gates import DEFAULT_GATES, Gates, pooled_facts, record_facts
from mlel.base.environment import environment_label

if TYPE_CHECKING:  # the record type only; reading records is mlel.results' job
    from mlel.results import ResultRecord


@dataclass(frozen=True)
class ModelResult:
    """One (task, environment, model) to rate: its runs' property values averaged (SPEC §5).
    From merged logs (:func:`mlel.ratings.aggregate_runs`) or from generic result records
    (:func:`entries_from_records`); ``sources`` maps a source to how it was obtained."""

    task: str
    environment: str
    model: str
    logs: list[str]
    values: dict[str, float | None]
    spread: dict[str, float] = field(default_factory=dict)  # std over runs, where > 1 run
    dataset: str = ""
    backend: str = ""
    sources: dict[str, str] = field(default_factory=dict)  # source -> measured | estimated | ...
    energy_ws: float | None = None
    dynamic_energy_ws: float | None = None
    gco2e: float | None = None
    # what changes what is measured (weights, classes, input size, …): runs pool only within one
    configuration: tuple[tuple[str, str], ...] = ()
    variant: str = ""  # what tells this entry from others of the model: "untrained, 1000 classes"
    run_values: tuple[Mapping[str, float | None], ...] = ()  # per run; empty: one run = ``values``
    invalid: Mapping[str, str] = field(default_factory=dict)  # property -> "<file>: <problem>"
    problems: tuple[str, ...] = ()  # every invalid value of its runs, "<file>: <problem>"
    not_graded: str | None = None  # why the measurement cannot carry a grade (validity gates)
    window_unchecked: str | None = None  # why the gates could not check it (a record without a window)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.task, self.environment, self.name

    @property
    def name(self) -> str:
        """The model, and what differs from its other configurations where it has several."""
        return f"{self.model} ({self.variant})" if self.variant else self.model

    @property
    def runs(self) -> tuple[Mapping[str, float | None], ...]:
        """Each pooled run's property values (one run: the entry's own values)."""
        return self.run_values or (self.values,)

    @property
    def n_runs(self) -> int:
        return max(len(self.run_values), 1)

    @property
    def estimated(self) -> bool:
        return "estimated" in self.sources.values()


# P(A)..P(E) of a certain letter, per level; and as JSON dicts, templates that each summary copies
# (a summary owns every dict it holds: changing one never changes another).
_CERTAIN = tuple(tuple(1.0 if i == level else 0.0 for i in range(len(RATINGS))) for level in range(len(RATINGS)))
# by identity, no tuple hashing: _CERTAIN's rows live as long as the module, no other object has their ids
_CERTAIN_DICTS = {id(row): dict(zip(RATINGS, row)) for row in _CERTAIN}
_LEVEL_DICTS = tuple(_CERTAIN_DICTS[id(row)] for row in _CERTAIN)


def _p_dict(p: Sequence[float] | None) -> dict | None:
    """P(A)..P(E) as a new JSON dict (None stays None)."""
    certain = _CERTAIN_DICTS.get(id(p))
    if certain is not None:
        return certain.copy()
    return p and dict(zip(RATINGS, p))



def _metrics_json(metrics: Mapping[str, "MetricRating"]) -> dict:
    """Every metric's JSON (runs once per (entry, property): 150,000 times for 20,000 logs)."""
    if type(metrics) is CertainMetrics:
        return metrics.json()
    return {key: metric.to_dict() for key, metric in metrics.items()}


class MetricRating(NamedTuple):  # immutable and cheap: a rated result holds one per property
    value: float | None
    index: float | None
    rating: str | None  # "A".."E" (the most likely letter); None: not graded
    n: int = 1  # runs with a value
    ci95: tuple[float, float] | None = None  # of the value; None with one run
    rating_p: tuple[float, ...] | None = None  # P(A)..P(E); None: not graded
    invalid: str | None = None  # the invalid input that made the value null

    def to_dict(self) -> dict:
        value, index, rating, n, ci95, p, invalid = self  # one unpacking: thousands per output
        out = {"value": value, "index": index, "rating": rating, "n": n, "ci95": ci95 and list(ci95),
               "rating_p": _p_dict(p)}
        if invalid:
            out["invalid"] = invalid
        return out

    @property
    def probability(self) -> float | None:
        """How likely the letter shown is (None: not graded)."""
        return _chance(self.rating, self.rating_p)


def _chance(letter: str | None, odds) -> float | None:
    """The probability of the letter shown, from P(A..E); None where there is no letter or odds."""
    return None if letter is None or odds is None else odds[RATINGS.index(letter)]


class CertainMetrics(Mapping):
    """The metrics of the common entry — graded, one run, every input valid, each letter certain —
    kept as the engine's row: :class:`MetricRating` records are made only when read, and the JSON
    is written from the row (20,000 logs: 150,000 records never built)."""

    __slots__ = ("_values", "_keys", "_indices", "_levels")

    def __init__(self, values: Mapping[str, float | None], keys: Sequence[str], indices: Sequence[float],
                 levels: Sequence[int]):
        self._values, self._keys, self._indices, self._levels = values, keys, indices, levels

    def __getitem__(self, key: str) -> MetricRating:
        try:
            j = self._keys.index(key)
        except ValueError:
            raise KeyError(key) from None
        value, index, level = self._values.get(key), self._indices[j], self._levels[j]
        return MetricRating(value, None if index != index else index, RATINGS[level],
                            0 if value is None else 1, None, _CERTAIN[level], None)

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def json(self) -> dict:
        """The same dicts as each record's ``to_dict()``, written from the row."""
        values, certain = self._values, _LEVEL_DICTS
        out = {}
        for key, index, level in zip(self._keys, self._indices, self._levels):
            value = values.get(key)
            out[key] = {"value": value, "index": None if index != index else index, "rating": RATINGS[level],
                        "n": 0 if value is None else 1, "ci95": None, "rating_p": certain[level].copy()}
        return out


SINGLE_RUN_NOTE = "1 run: no interval"


def uncertainty_note(entry: ModelResult, resampled: bool) -> str:
    """What the intervals and probabilities of an entry rest on, in words."""
    if entry.n_runs == 1:
        return SINGLE_RUN_NOTE + ("; rating probabilities from the reference's runs" if resampled else "")
    return (f"{entry.n_runs} runs: 95% interval of the mean (Student-t); rating probabilities by "
            "resampling the runs of model and reference")


@dataclass(frozen=True)
class RatedResult:
    """One rated entry: per-property value / index / rating, the compound rating, and how it was
    rated (reference; and, where asked for, mode, weights and boundaries). A not graded entry
    (``entry.not_graded``) keeps its values and has no letters."""

    entry: ModelResult
    metrics: Mapping[str, MetricRating]
    compound: str | None
    reference: str
    mode: str = ""
    weights: Mapping[str, float] = field(default_factory=dict)
    boundaries: Mapping[str, Sequence[float]] = field(default_factory=dict)
    compound_p: tuple[float, ...] | None = None  # P(A)..P(E) of the compound rating
    resampled: bool = False  # probabilities from draws (several runs of the model or reference)

    task = property(lambda self: self.entry.task)
    environment = property(lambda self: self.entry.environment)
    model = property(lambda self: self.entry.model)
    name = property(lambda self: self.entry.name)
    logs = property(lambda self: self.entry.logs)
    spread = property(lambda self: self.entry.spread)
    sources = property(lambda self: self.entry.sources)
    estimated = property(lambda self: self.entry.estimated)
    graded = property(lambda self: self.entry.not_graded is None)

    @classmethod
    def build(cls, entry: ModelResult, keys: Sequence[str], indices: Sequence[float],
              levels: Sequence[int], compound: int, reference: str,
              supports: Mapping[str, tuple[float, float]] | None = None, **how) -> "RatedResult":
        """From one row of the engine's arrays (``indices`` NaN where missing, ``levels`` 0..4):
        each letter certain (``rating_p`` 1 for it). A not graded entry gets no letters.
        ``supports``: where a property's values can lie (:attr:`mlel.tasks.properties.Property.support`)."""
        return cls.builder(keys, reference, how, supports)(entry, indices, levels, compound)

    @classmethod
    def builder(cls, keys: Sequence[str], reference: str, how: Mapping,
                supports: Mapping[str, tuple[float, float]] | None = None
                ) -> Callable[[ModelResult, Sequence[float], Sequence[int], int], "RatedResult"]:
        """:meth:`build` for many rows rated alike (one task): what they share is set up once."""
        mode, weights, boundaries = how.get("mode", ""), how.get("weights", {}), how.get("boundaries", {})
        resampled, support = how.get("resampled", False), (supports or {}).get

        def build(entry: ModelResult, indices: Sequence[float], levels: Sequence[int], compound: int):
            graded = entry.not_graded is None
            if graded and not entry.run_values and not entry.invalid:  # the common case, kept as the row
                # tuples: of numbers only, the collector stops tracking them (lists it walks each time)
                metrics = CertainMetrics(entry.values, keys, tuple(indices), tuple(levels))
            else:
                metrics = {key: metric_rating(entry, key, None if index != index else index,
                                              _CERTAIN[level] if graded else None, support(key))
                           for key, index, level in zip(keys, indices, levels)}
            # built by __init__: its fields stay in the instance, no separate __dict__ to track
            return cls(entry, metrics, RATINGS[compound] if graded else None, reference, mode, weights,
                       boundaries, _CERTAIN[compound] if graded else None, resampled)
        return build

    @property
    def compound_probability(self) -> float | None:
        return _chance(self.compound, self.compound_p)

    def to_dict(self, settings: bool = False) -> dict:
        """The rated summary of SPEC §7 (plus energy, spread, runs, intervals and probabilities);
        ``settings`` adds the mode, weights and boundaries it was rated with."""
        entry, compound_p = self.entry, self.compound_p
        single = not entry.run_values and not self.resampled  # the common case: no call for its note
        out = {  # the SPEC §7 keys first, in their order; then what issue 13 adds
            "task": entry.task, "environment": entry.environment, "model": entry.model,
            "logs": list(entry.logs), "metrics": _metrics_json(self.metrics),
            "compound": self.compound, "dataset": entry.dataset, "backend": entry.backend,
            "reference": self.reference,
            "energy": {"total_ws": entry.energy_ws, "dynamic_ws": entry.dynamic_energy_ws,
                       "sources": dict(entry.sources), "estimated": "estimated" in entry.sources.values(),
                       "gco2e": entry.gco2e},
            "spread": dict(entry.spread),
            "environment_label": environment_label(entry.environment, "estimated" in entry.sources.values()),
            "entry": entry.name if entry.variant else entry.model,
            "configuration": dict(entry.configuration) if entry.configuration else {},
            "compound_p": _p_dict(compound_p),
            "n_runs": len(entry.run_values) or 1,
            "uncertainty": SINGLE_RUN_NOTE if single else uncertainty_note(entry, self.resampled),
            "graded": entry.not_graded is None,
        }
        if entry.not_graded is not None:
            out["not_graded"] = entry.not_graded
        if entry.window_unchecked is not None:  # graded, but the gates could not check its window
            out["window_unchecked"] = entry.window_unchecked
        if entry.problems:
            out["problems"] = list(entry.problems)
        if settings:
            out.update(mode=self.mode, weights=dict(self.weights),
                       boundaries={k: list(b) for k, b in self.boundaries.items()})
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> "RatedResult":
        """A rated summary (SPEC §7 JSON) back to a record."""
        energy = data.get("energy") or {}
        metrics = {k: _metric_from_dict(m) for k, m in (data.get("metrics") or {}).items()}
        model = data["model"]
        name = data.get("entry") or model
        variant = name[len(model) + 2:-1] if name != model and name.startswith(model + " (") else ""
        entry = ModelResult(
            task=data["task"], environment=data["environment"], model=model,
            logs=list(data.get("logs") or []), values={k: m.value for k, m in metrics.items()},
            spread=dict(data.get("spread") or {}), dataset=data.get("dataset", ""),
            backend=data.get("backend", ""), sources=dict(energy.get("sources") or {}),
            energy_ws=energy.get("total_ws"), dynamic_energy_ws=energy.get("dynamic_ws"),
            gco2e=energy.get("gco2e"), configuration=tuple((data.get("configuration") or {}).items()),
            variant=variant, invalid={k: m.invalid for k, m in metrics.items() if m.invalid},
            problems=tuple(data.get("problems") or ()), not_graded=data.get("not_graded"),
            window_unchecked=data.get("window_unchecked"))
        compound_p = data.get("compound_p")
        return cls(entry, metrics, data.get("compound", "E"), data.get("reference", ""),
                   data.get("mode", ""), dict(data.get("weights") or {}), dict(data.get("boundaries") or {}),
                   tuple(compound_p[r] for r in RATINGS) if compound_p else None)


def metric_rating(entry: ModelResult, key: str, index: float | None, rating_p: Sequence[float] | None,
                  support: tuple[float, float] | None = None) -> MetricRating:
    """One property of an entry, rated: the letter shown is the most likely one (ties: the
    better); its runs' count and 95% interval (cut to the property's ``support``, where its unit
    bounds it); an invalid input named, value and index null."""
    rating = None if rating_p is None else RATINGS[max(range(len(RATINGS)), key=lambda i: (rating_p[i], -i))]
    invalid = entry.invalid.get(key)
    if invalid:
        return MetricRating(None, None, None if rating is None else RATINGS[-1], 0, None,
                            None if rating is None else _CERTAIN[-1], invalid)
    column = [run.get(key) for run in entry.runs]
    present = [v for v in column if v is not None and v == v]
    ci95 = None
    if len(present) > 1:
        from mlel.ratings.uncertainty import value_interval
        ci95 = value_interval(present, support)
    return MetricRating(entry.values.get(key), index, rating, len(present), ci95,
                        None if rating_p is None else tuple(float(p) for p in rating_p))


def _metric_from_dict(data: Mapping) -> MetricRating:
    ci, p = data.get("ci95"), data.get("rating_p")
    return MetricRating(data.get("value"), data.get("index"), data.get("rating", "E"), int(data.get("n") or 1),
                        tuple(ci) if ci else None, tuple(p[r] for r in RATINGS) if p else None,
                        data.get("invalid"))


def _file_name(file: "str | os.PathLike") -> str:
    if type(file) is str:
        return file
    return file.name if isinstance(file, PurePath) else os.path.basename(os.fspath(file))


def _single_entry(task: str, environment: str, name: str, file, record: "ResultRecord", facts: dict) -> ModelResult:
    props = record.properties
    made = _new(ModelResult)  # every field checked: no frozen __init__
    # set one by one, the fields stay in the instance: no __dict__ for the collector to walk (issue 23);
    # the fields left out keep the plain defaults the class holds
    _set(made, "task", task)
    _set(made, "environment", environment)
    _set(made, "model", name)
    _set(made, "logs", [_file_name(file)])
    _set(made, "values", {k: p.value for k, p in props.items()})
    _set(made, "spread", {})
    _set(made, "dataset", record.dataset)
    _set(made, "backend", record.environment.software)
    _set(made, "sources", {k: p.source for k, p in props.items()})
    _set(made, "invalid", {})
    _set(made, "not_graded", facts["not_graded"])
    _set(made, "window_unchecked", facts["window_unchecked"])
    return made


_new, _set = object.__new__, object.__setattr__


def entries_from_records(records: Sequence[tuple["str | os.PathLike", "ResultRecord"]],
                         gates: Gates | None = DEFAULT_GATES) -> list[ModelResult]:
    """Generic result records (``mlee-result/1``, SPEC §9), each with its file (a name, or a path as
    :func:`mlel.results.read_result_records` gives it) -> entries: one per (task, environment name, entry
    name), gated as runs are (:func:`mlel.ratings.gates.record_facts`; ``gates=None``: not), failing records
    pooled apart; repeated records averaged property by property (spread kept), as runs are."""
    # one pass, each record made an entry as it is met (a second pass over 100,000 records
    # that are no longer in the cache cost 0.7 s); an entry met again is pooled at the end
    entries, origins = [], []  # origins: the position of each entry's first record
    first: dict[tuple, int] = {}  # (entry, passed the gates) -> its place in entries
    repeated: dict[tuple, list[int]] = {}  # entry -> its records' positions
    for position, (file, record) in enumerate(records):
        found = record_facts(record, gates)  # failing records pool apart, as failing runs do
        key = (record.task, record.environment.name, record.name, found["not_graded"] is None)
        at = first.setdefault(key, len(entries))
        if at == len(entries):
            entries.append(_single_entry(*key[:3], file, record, found))
            origins.append(position)
        else:
            repeated.setdefault(key, [origins[at]]).append(position)
    for key, positions in repeated.items():
        entries[first[key]] = _pooled_entry(*key[:3], [records[p] for p in positions], gates)
    return entries


def _pooled_entry(task: str, environment: str, name: str, members: list[tuple[str, "ResultRecord"]], gates=None
                  ) -> ModelResult:
    """Repeated records of one entry, averaged property by property (spread kept), gated as runs are."""
    from mlel.ratings.uncertainty import population_std

    members = sorted(((_file_name(file), record) for file, record in members), key=lambda member: member[0])
    values, spread, sources = {}, {}, {}
    for _, record in members:
        for key, prop in record.properties.items():
            values.setdefault(key, []).append(prop.value)
            sources[key] = prop.source
    means = {}
    for key, column in values.items():
        present = [v for v in column if v is not None]
        means[key] = math.fsum(present) / len(present) if present else None
        if len(present) > 1:
            spread[key] = population_std(present)
    first = members[0][1]
    per_record = tuple({k: p.value for k, p in record.properties.items()} for _, record in members)
    return ModelResult(task, environment, name, [file for file, _ in members], means, spread,
                       dataset=first.dataset, backend=first.environment.software, sources=sources,
                       run_values=per_record, **pooled_facts([record for _, record in members], gates))
