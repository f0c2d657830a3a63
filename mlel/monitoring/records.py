"""Typed records of a measurement (frozen dataclasses, unit-suffixed fields).

- :class:`Sample`: one reading of one meter — a time and, per device, its quantities.
- :class:`SourceMeta`: what a meter measures (the ``_meta`` of its series file).
- :class:`SourceEnergy`: the energy one power source measured over its window.
- :class:`MeasurementResult`: what ``measure()`` yields at the end of a block; ``to_dict()`` is the
  content of ``<prefix>energy.json`` (its keys unchanged since the first release).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from mlel.base.units import MS_PER_S

# _meta keys that SourceMeta holds as fields; any other key a meter reports is kept in `extra`
_META_FIELDS = ("source", "estimated", "interval", "power_keys", "energy_key", "interval_energy_key")


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Sample:
    """One reading: ``time_s`` (unix s) and ``devices``: device key -> quantity -> value."""

    time_s: float
    devices: Mapping[str, Mapping[str, Any]]

    @classmethod
    def from_reading(cls, time_s: float, reading: Mapping) -> "Sample":
        """Wrap a meter's reading (a fresh dict per call, owned by the sample from then on: not
        copied, as this runs every interval beside the workload)."""
        return cls(time_s, reading)

    @property
    def timestamp_ms(self) -> float:
        """The time in the unit of the 2022 series files (ms since the epoch)."""
        return self.time_s * MS_PER_S

    def to_line(self) -> dict:
        """The sample as one line of a ``.jsonl`` series file."""
        return {"timestamp": self.timestamp_ms, **self.devices}


@dataclass(frozen=True)
class SourceMeta:
    """What one meter measures: its source name, whether it is an estimate, the sampling interval,
    which quantities are powers in W (``power_keys``) and which one is a cumulative energy counter
    in J (``energy_key``); ``extra`` keeps whatever else the meter describes (units, devices, ...)."""

    source: str
    estimated: bool
    interval_s: float
    power_keys: tuple[str, ...] = ()
    energy_key: str | None = None  # a cumulative counter in J
    interval_energy_key: str | None = None  # J measured in each interval
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_meter(cls, meter, interval_s: float) -> "SourceMeta":
        meta = dict(meter.meta())
        return cls(source=meter.source, estimated=bool(meter.estimated), interval_s=float(interval_s),
                   power_keys=tuple(meta.get("power_keys") or ()), energy_key=meta.get("energy_key"),
                   interval_energy_key=meta.get("interval_energy_key"),
                   extra=_frozen({k: v for k, v in meta.items() if k not in _META_FIELDS}))

    @property
    def measures_power(self) -> bool:
        return bool(self.power_keys or self.energy_key or self.interval_energy_key)

    def to_dict(self) -> dict:
        """The ``_meta`` object of a series file."""
        out = {"source": self.source, "estimated": self.estimated, "interval": self.interval_s,
               "power_keys": list(self.power_keys)}
        if self.energy_key:
            out["energy_key"] = self.energy_key
        if self.interval_energy_key:
            out["interval_energy_key"] = self.interval_energy_key
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class SourceEnergy:
    """Energy of one power source over its measured window."""

    source: str
    energy_j: float
    duration_s: float
    estimated: bool

    @property
    def kind(self) -> str:
        return "estimated" if self.estimated else "measured"


@dataclass(frozen=True)
class MeasurementResult:
    """The outcome of one measured block. ``energy_j`` sums every power source once;
    ``dynamic_energy_j`` is the part above the idle baseline (None without ``idle_seconds``)."""

    start_s: float
    end_s: float
    energy_j: float
    sources: tuple[SourceEnergy, ...]
    summaries: Mapping[str, Any]  # source -> SPEC §3 summary (None: no samples), psutil included
    idle_seconds: float = 0.0
    baseline_power_w: Mapping[str, float] = field(default_factory=dict)
    dynamic_energy_j: float | None = None
    country: str | None = None
    carbon_intensity_g_per_kwh: float | None = None
    carbon_intensity_source: str | None = None
    gco2e: float | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None
    problems: tuple[str, ...] = ()  # energies left out of a sum (not finite, overflow)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def source_kinds(self) -> dict[str, str]:
        """source -> "measured" | "estimated", the power sources only."""
        return {s.source: s.kind for s in self.sources}

    @property
    def energy_by_source_j(self) -> dict[str, float]:
        return {s.source: s.energy_j for s in self.sources}

    def to_dict(self) -> dict:
        """The content of ``<prefix>energy.json`` (energies in Ws = J, as their names say)."""
        rec = {"energy_ws": self.energy_j, "sources": self.source_kinds,
               "energy_by_source_ws": self.energy_by_source_j,
               "start": self.start_s, "end": self.end_s, "idle_seconds": self.idle_seconds}
        if self.baseline_power_w:
            rec["baseline_power_w"] = dict(self.baseline_power_w)
            rec["dynamic_energy_ws"] = self.dynamic_energy_j
        rec.update({"country": self.country, "carbon_intensity_g_per_kwh": self.carbon_intensity_g_per_kwh,
                    "carbon_intensity_source": self.carbon_intensity_source, "gco2e": self.gco2e,
                    "notes": list(self.notes), "error": self.error})
        if self.problems:
            rec["problems"] = list(self.problems)
        return rec
