"""Typed records of the rating core: an entry to rate, and a rated result.

An *entry* (:class:`ModelResult`) is generic — (task, environment, model, {property key: value},
sources, ...) — so results of merged logs and results imported from other tools rate alike.
A :class:`RatedResult` is what the engine made of one entry; its :meth:`RatedResult.to_dict` is
the one place the rated-summary JSON of SPEC §7 is built.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, NamedTuple, Sequence

from mlel.engine import RATINGS

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

    @property
    def key(self) -> tuple[str, str, str]:
        return self.task, self.environment, self.model

    @property
    def estimated(self) -> bool:
        return "estimated" in self.sources.values()


class MetricRating(NamedTuple):  # immutable and cheap: a rated result holds one per property
    value: float | None
    index: float | None
    rating: str  # "A".."E"

    def to_dict(self) -> dict:
        return {"value": self.value, "index": self.index, "rating": self.rating}


@dataclass(frozen=True)
class RatedResult:
    """One rated entry: per-property value / index / rating, the compound rating, and how it was
    rated (reference; and, where asked for, mode, weights and boundaries)."""

    entry: ModelResult
    metrics: Mapping[str, MetricRating]
    compound: str
    reference: str
    mode: str = ""
    weights: Mapping[str, float] = field(default_factory=dict)
    boundaries: Mapping[str, Sequence[float]] = field(default_factory=dict)

    task = property(lambda self: self.entry.task)
    environment = property(lambda self: self.entry.environment)
    model = property(lambda self: self.entry.model)
    logs = property(lambda self: self.entry.logs)
    spread = property(lambda self: self.entry.spread)
    sources = property(lambda self: self.entry.sources)
    estimated = property(lambda self: self.entry.estimated)

    @classmethod
    def build(cls, entry: ModelResult, keys: Sequence[str], indices: Sequence[float],
              levels: Sequence[int], compound: int, reference: str, **how) -> "RatedResult":
        """From one row of the engine's arrays (``indices`` NaN where missing, ``levels`` 0..4)."""
        values = entry.values
        # index != index: NaN, the engine's "no index"
        metrics = {key: MetricRating(values.get(key), None if index != index else index, RATINGS[level])
                   for key, index, level in zip(keys, indices, levels)}
        return cls(entry, metrics, RATINGS[compound], reference, **how)

    def to_dict(self, settings: bool = False) -> dict:
        """The rated summary of SPEC §7 (plus energy and spread); ``settings`` adds the mode,
        weights and boundaries it was rated with (what ELEx and its label downloads show)."""
        entry = self.entry
        out = {
            "task": entry.task, "environment": entry.environment, "model": entry.model,
            "logs": list(entry.logs), "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "compound": self.compound, "dataset": entry.dataset, "backend": entry.backend,
            "reference": self.reference,
            "energy": {"total_ws": entry.energy_ws, "dynamic_ws": entry.dynamic_energy_ws,
                       "sources": dict(entry.sources), "estimated": entry.estimated,
                       "gco2e": entry.gco2e},
            "spread": dict(entry.spread),
        }
        if settings:
            out.update(mode=self.mode, weights=dict(self.weights),
                       boundaries={k: list(b) for k, b in self.boundaries.items()})
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> "RatedResult":
        """A rated summary (SPEC §7 JSON) back to a record."""
        energy = data.get("energy") or {}
        metrics = {k: MetricRating(m.get("value"), m.get("index"), m.get("rating", "E"))
                   for k, m in (data.get("metrics") or {}).items()}
        entry = ModelResult(
            task=data["task"], environment=data["environment"], model=data["model"],
            logs=list(data.get("logs") or []), values={k: m.value for k, m in metrics.items()},
            spread=dict(data.get("spread") or {}), dataset=data.get("dataset", ""),
            backend=data.get("backend", ""), sources=dict(energy.get("sources") or {}),
            energy_ws=energy.get("total_ws"), dynamic_energy_ws=energy.get("dynamic_ws"),
            gco2e=energy.get("gco2e"))
        return cls(entry, metrics, data.get("compound", "E"), data.get("reference", ""),
                   data.get("mode", ""), dict(data.get("weights") or {}), dict(data.get("boundaries") or {}))


def entries_from_records(records: Sequence[tuple[str, "ResultRecord"]]) -> list[ModelResult]:
    """Generic result records (``mlee-result/1``, SPEC §9) -> entries: one per (task, environment
    name, entry name); repeated records of one entry are averaged property by property (spread
    kept), as repeated runs are. ``sources`` maps each property to its source (measured,
    estimated, reported, computed)."""
    import statistics

    groups: dict[tuple[str, str, str], list[tuple[str, ResultRecord]]] = {}
    for file, record in records:
        groups.setdefault((record.task, record.environment.name, record.name), []).append((file, record))
    entries = []
    for (task, environment, name), members in groups.items():
        members.sort(key=lambda member: member[0])
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
                spread[key] = statistics.pstdev(present)
        first = members[0][1]
        entries.append(ModelResult(task, environment, name, [file for file, _ in members], means, spread,
                                   dataset=first.dataset, backend=first.environment.software,
                                   sources=sources))
    return entries
