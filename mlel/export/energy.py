"""Which energy of a rated entry an export states, in kWh, and where it came from.

A merged log's entry has the energy its power sources measured (or estimated) over the run: the
rated entry's ``energy.total_ws`` (the mean of its runs). An imported entry has no such total; it
has the energy properties its tool published: a total (``energy_per_run``, J) is taken first, else
the energy of one request, image, video, query or sample (``energy_per_response``, J/response;
``gpu_energy_per_query``, Wh/query). Energy per token or per epoch is no request: an entry with only
those has no energy to state, and the export says so. Pure functions: no file is read here.
"""
from __future__ import annotations

from dataclasses import dataclass

from mlel.base import units
from mlel.importers.property_units import UnitError, convert, parse_unit
from mlel.monitoring.sources import device_of
from mlel.ratings.rated import RatedResult
from mlel.tasks.properties import PropertySet

# counted things one of which is one request of a model (BoAmps' nbRequest): the unit's noun, singular
REQUEST_NOUNS = frozenset({"request", "response", "query", "prompt", "image", "video", "sample"})
_ENERGY = (("energy", 1),)


@dataclass(frozen=True)
class EnergyFigure:
    """The energy an export states: ``energy_kwh`` of the whole run (``per`` None) or of one
    ``per`` (one response, one image); ``key`` the property it is (None: the runs' measured total);
    ``source``: measured | estimated | reported | computed; ``meters``: the power sources summed
    into it, each with how it got its energy, (``"pynvml", "measured"``) (merged logs only)."""

    energy_kwh: float
    source: str
    key: str | None = None
    per: str | None = None
    meters: tuple[tuple[str, str], ...] = ()

    def meters_of(self, device: str) -> tuple[str, ...]:
        """The power sources of this figure that measure ``device`` ("GPU", "CPU")."""
        return tuple(name for name, _ in self.meters if device in device_of(name))

    def how(self) -> str:
        """The power sources by how they got their energy: "measured: pynvml, pyrapl; estimated: estimate"."""
        ways = {}
        for name, way in self.meters:
            ways.setdefault(way, []).append(name)
        return "; ".join(f"{way}: {', '.join(names)}" for way, names in ways.items())


def energy_figure(rated: RatedResult, properties: PropertySet) -> EnergyFigure | None:
    """The entry's energy (see the module's note); None where it has none to state."""
    entry = rated.entry
    if entry.energy_ws is not None:  # Ws is J
        return EnergyFigure(units.j_to_kwh(entry.energy_ws), "estimated" if entry.estimated else "measured",
                            meters=tuple(entry.sources.items()))
    totals, per_request = [], []
    for prop in properties.properties:
        metric = rated.metrics.get(prop.key)
        if metric is None or metric.value is None:
            continue
        try:
            parsed = parse_unit(prop.unit)
        except UnitError:
            continue
        if parsed.dims != _ENERGY:
            continue
        if not parsed.nouns:
            totals.append((prop, None))
        elif len(parsed.nouns) == 1 and parsed.nouns[0][1] == -1 and parsed.nouns[0][0] in REQUEST_NOUNS:
            per_request.append((prop, parsed.nouns[0][0]))
    for prop, per in totals + per_request:
        try:  # "Wh/1000 queries" -> J per one query
            energy_j = convert(rated.metrics[prop.key].value, prop.unit, f"J/{per}" if per else "J")
        except UnitError:
            continue
        return EnergyFigure(units.j_to_kwh(energy_j), entry.sources.get(prop.key, "reported"), prop.key, per)
    return None


def no_energy_reason(properties: PropertySet) -> str:
    """Why an entry has no energy figure, for the note that names it."""
    energies = [f"{p.key} ({p.unit})" for p in properties.properties if _is_energy(p.unit)]
    if not energies:
        return f"task {properties.task} has no energy property"
    return ("no measured total, and no energy of a run or of one request with a value (its energy properties: "
            + ", ".join(energies) + ")")


def _is_energy(unit: str) -> bool:
    try:
        return parse_unit(unit).dims == _ENERGY
    except UnitError:
        return False
