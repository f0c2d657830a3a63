"""The format of a recorded experiment (:mod:`mlel.experiment.record`): its run folder -> one generic
result record (``mlee-result/1``, SPEC §9) by ``merge_results.py``.

    from mlel.runlog.recorded import experiment
    with experiment(task="lm-arena-chat", model="tiny-gpt", dataset="prompts",
                    output_dir="runs", backend="torch", max_new_tokens=16) as run:
        for prompt in prompts:
            run.add(tokens=len(generate(prompt)), responses=1)
        run.log(total_params=0.000_2)          # a property's value, as you report it
    run.folder  # runs/lm-arena-chat_<YYYY_MM_DD_HH_MM_SS>

The folder holds ``config.json`` (task, model, dataset, your keyword settings under
``configuration``; ``kind`` marks it as a recorded experiment), ``execution_platform.json``,
``requirements.txt``, the monitor's ``monitoring_<source>.json`` and ``energy.json``, and
``results.json`` (``start``, ``end``, ``metrics``: what you logged). A block that raises (or is
interrupted) keeps its folder with ``incomplete.json`` instead of the results, metrics logged so far
included; merge then writes the record marked incomplete, which ratings skip, naming why.

How merge computes properties (:func:`derive_properties`), by each property's unit in the task's
property set: ``J/<x>`` = energy / logged count of ``<x>`` (``tokens``, ``responses``, ``samples``,
``images``, ...); ``ms/<x>`` = duration / count; ``<x>/s`` = count / duration; ``<x>/<y>`` = count
ratio; ``energy_per_run`` = energy, ``runtime`` = duration, ``avg_power`` = energy / duration,
``gpu_energy`` / ``cpu_energy`` = the GPU's / CPU's sources. Sources: anything from the energy is
``estimated`` where a monitor source estimated it, else ``measured``; the runtime is ``measured``;
other derived values are ``computed``; a value you log under a property's own key is ``reported``
and wins over a derived one.

The record keeps how long it was measured (``window``: the results window and each power source's
duration, samples and interval, read as a merged log's are, :mod:`mlel.runlog.run_facts`), so ratings
gate it as they gate an ``infer.py`` run: a block shorter than 1 s is "not graded".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from mlel.base.units import unit_parts
from mlel.tasks.properties import Property, PropertySet
from mlel.monitoring.sources import sources_of
from mlel.results import Environment, PropertyValue, Provenance, ResultRecord
from mlel.results.record import MeasuredWindow, SourceWindow

PROPERTIES_FILE = "properties.json"  # a user's property set, kept with the run for merge
RUN_KIND = "mlee-experiment/1"  # config.json "kind" of a recorded experiment's run folder
TOOL = "MLEE"
_ENERGY_UNITS = ("J", "Ws")


def is_recorded_config(config: Any) -> bool:
    """Whether a run folder's config.json is a recorded experiment's (not infer.py / train.py)."""
    return isinstance(config, dict) and config.get("kind") == RUN_KIND


def entry_name(model: str, configuration: Mapping[str, Any]) -> str:
    """The entry's name: the model plus its settings, so configurations rate as distinct entries."""
    parts = [f"{k} {v}" for k, v in sorted(configuration.items())]
    return f"{model} ({', '.join(parts)})" if parts else model


@dataclass(frozen=True)
class Measured:
    """What the run folder says was measured: energy (J, None without a power source), each power
    source's energy and kind, the measured window (s), the counts / values the user logged and each
    power source's window (:func:`mlel.runlog.run_facts.windows_of`; None: not known)."""

    energy_j: float | None
    energy_by_source_j: Mapping[str, float]
    source_kinds: Mapping[str, str]  # source -> "measured" | "estimated"
    duration_s: float | None
    metrics: Mapping[str, float] = field(default_factory=dict)
    windows: tuple[SourceWindow, ...] | None = None

    @property
    def energy_kind(self) -> str:
        return "estimated" if "estimated" in self.source_kinds.values() else "measured"


def _count(metrics: Mapping[str, float], unit_word: str) -> float | None:
    """The logged count for a unit word: ``token`` -> ``tokens`` (or ``token``); > 0 only."""
    word = unit_word.strip()
    for key in (word + "s", word, word.rstrip("s")):
        value = metrics.get(key)
        if value is not None and value > 0:
            return value
    return None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def _by_key(prop: Property, m: Measured) -> tuple[float | None, str] | None:
    """Properties known by key: absolute energies, runtime, average power."""
    energy, kind = m.energy_j, m.energy_kind
    if prop.key == "energy_per_run":
        return energy, kind
    if prop.key == "runtime" and prop.unit == "s":
        return m.duration_s, "measured"
    if prop.key == "avg_power":
        return _ratio(energy, m.duration_s), kind
    for key, sources in (("gpu_energy", sources_of("GPU")), ("cpu_energy", sources_of("CPU"))):
        if prop.key == key:
            present = [s for s in sources if s in m.energy_by_source_j]
            if not present:
                return None, kind
            estimated = any(m.source_kinds.get(s) == "estimated" for s in present)
            return math.fsum(m.energy_by_source_j[s] for s in present), (
                "estimated" if estimated else "measured")
    return None


def _by_unit(prop: Property, m: Measured) -> tuple[float | None, str] | None:
    """Per-count properties by unit: ``J/x``, ``ms/x``, ``x/s``, ``x/y``."""
    parts = unit_parts(prop.unit)
    if parts.slashes != 1 or len(parts.numerator) != 1 or len(parts.denominator) != 1:
        return None  # "J/token" has one word on each side; "Wh/1000 queries" names no logged count
    (numerator,), (denominator,) = parts.numerator, parts.denominator
    if numerator in _ENERGY_UNITS:
        return _ratio(m.energy_j, _count(m.metrics, denominator)), m.energy_kind
    if numerator == "ms":
        seconds = _ratio(m.duration_s, _count(m.metrics, denominator))
        return (None if seconds is None else seconds * 1000.0), "computed"
    if denominator == "s":
        return _ratio(_count(m.metrics, numerator), m.duration_s), "computed"
    return _ratio(_count(m.metrics, numerator), _count(m.metrics, denominator)), "computed"


def derive_properties(prop_set: PropertySet, measured: Measured) -> dict[str, PropertyValue]:
    """Every property of the task that can be had from the measurement and the logged values
    (see the module's docstring); properties neither logged nor derivable are left out."""
    out = {}
    for prop in prop_set.properties:
        logged = measured.metrics.get(prop.key)
        if logged is not None:
            out[prop.key] = PropertyValue(float(logged), prop.unit, "reported")
            continue
        found = _by_key(prop, measured) or _by_unit(prop, measured)
        if found is not None and found[0] is not None and math.isfinite(found[0]):
            out[prop.key] = PropertyValue(float(found[0]), prop.unit, found[1])
    return out


def numeric_metrics(raw: Any) -> dict[str, float]:
    """The logged values that are finite numbers (others are kept in the folder, not rated)."""
    if not isinstance(raw, dict):
        return {}
    return {k: float(v) for k, v in raw.items() if isinstance(k, str) and not isinstance(v, bool)
            and isinstance(v, (int, float)) and math.isfinite(v)}


def build_record(config: Mapping, measured: Measured, prop_set: PropertySet, hardware: str,
                 software: str, folder_name: str) -> ResultRecord:
    """The generic result record of one recorded run folder (pure: the caller reads the files)."""
    configuration = dict(config.get("configuration") or {})
    model = str(config.get("model") or "?")
    name = str(config.get("name") or "") or entry_name(model, configuration)
    # the window facts travel with the record, so ratings gate it as they gate a merged log
    window = None if measured.windows is None else MeasuredWindow(measured.duration_s, measured.windows)
    return ResultRecord(
        task=prop_set.task, model=model, environment=Environment(hardware, software),
        properties=derive_properties(prop_set, measured),
        provenance=Provenance(TOOL, folder_name), name=name, dataset=str(config.get("dataset") or ""),
        configuration=configuration, window=window)


@dataclass(frozen=True)
class MergedRecord:
    """What merge made of a recorded run folder: the record, and why it is incomplete (if so).
    ``to_dict()`` is the file merge writes; ``overview()`` is its row in merge's table."""

    record: ResultRecord
    measured: Measured
    incomplete_reason: str | None = None

    def to_dict(self) -> dict:
        out = self.record.to_dict()
        if self.incomplete_reason:
            out["incomplete"] = True
            out["incomplete_reason"] = self.incomplete_reason
        return out

    def overview(self):
        from mlel.runlog.logs import LogOverview, SplitEnergy

        m = self.measured
        energy = SplitEnergy(m.energy_j, dict(m.source_kinds), {}, dict(m.energy_by_source_j))
        return LogOverview(self.record.name, self.record.environment.software or "-", m.duration_s,
                           None, energy, bool(self.incomplete_reason))


__all__ = ["PROPERTIES_FILE", "RUN_KIND", "Measured", "MergedRecord", "build_record", "derive_properties", "entry_name",
           "is_recorded_config", "numeric_metrics"]
