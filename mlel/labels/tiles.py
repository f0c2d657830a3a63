"""Label texts beyond the 2022 tasks, and the confidence of a grade (issues 12, 13).

Pure functions over a rated summary (SPEC §7 dict, plus the optional uncertainty fields of the
rating core: per metric ``ci95`` / ``n`` / ``rating_p``, per entry ``compound_p`` / ``n_runs`` /
``graded`` / ``invalid``). Where a field is absent nothing extra is shown.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from mlel.base.units import unit_parts
from mlel.base.formatting import NA, format_quantity
from mlel.tasks.properties import Property, PropertySet
from mlel.base.values import finite_float

SOURCE_WORDS = ("measured", "estimated", "reported", "computed")
ONE_RUN = "1 run: no interval"
_ENERGY_SYMBOLS = ("J", "Ws", "mJ", "kJ", "MJ", "Wh", "mWh", "kWh", "MWh")
_TIME_SYMBOLS = ("ms", "s", "us", "\u00b5s", "min", "h")
_KIND_BY_POSITION = ("power", "runtime", "accuracy", "size")


def tile_kind(prop: Property, position: int) -> str:
    """The pictogram of a property's tile: energy -> power, time/latency/throughput -> runtime, quality ->
    accuracy, parameters/complexity -> size; anything else keeps its tile's usual pictogram."""
    symbol = unit_parts(prop.unit).symbol
    if symbol in _ENERGY_SYMBOLS:
        return "power"
    if symbol in _TIME_SYMBOLS or "latency" in prop.name.lower() or prop.group.lower() == "performance":
        return "runtime"  # latency and throughput: the stopwatch
    if prop.group.lower() == "quality":
        return "accuracy"
    if prop.group.lower() == "complexity" or "param" in prop.key.lower():
        return "size"
    return _KIND_BY_POSITION[position % len(_KIND_BY_POSITION)]


def interval_text(metric: Mapping, unit: str) -> str:
    """ "95 % CI 0.61 – 0.66 Ws" from the metric's ``ci95``; "" where there is none, and where its
    ends read the same (an interval of "4.02 M – 4.02 M" says nothing)."""
    ci = metric.get("ci95") if isinstance(metric, Mapping) else None
    if not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return ""
    low, high = finite_float(ci[0]), finite_float(ci[1])
    if low is None or high is None:
        return ""
    low_text, high_text = format_quantity(low, unit), format_quantity(high, unit)
    if low_text == high_text:
        return ""
    return f"95 % CI {low_text} \u2013 {high_text}"


def run_count(summary: Mapping) -> int | None:
    """How many runs the entry pools: ``n_runs``, else the number of its logs."""
    n = summary.get("n_runs")
    n = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 0
    logs = summary.get("logs")
    pooled = max(n, len(logs) if isinstance(logs, (list, tuple)) else 0)  # each log is a run
    return pooled or None


def runs_text(summary: Mapping) -> str:
    """ "3 runs" / "1 run: no interval" / "" (unknown)."""
    n = run_count(summary)
    if n is None:
        return ""
    return ONE_RUN if n == 1 else f"{n} runs"


def compound_probability(summary: Mapping) -> float | None:
    """The probability of the compound letter shown (``compound_p``: a number, or {letter: p}).
    None where there is nothing to say: a single run whose letter is certain by construction."""
    p = summary.get("compound_p")
    if isinstance(p, Mapping):
        p = p.get(summary.get("compound"))
    p = finite_float(p)
    if p is None or not 0 <= p <= 1:
        return None
    return None if p == 1 and (run_count(summary) or 1) < 2 else p


def reason_text(reason) -> str:
    """A reason in one line: text as it is, a mapping or collection joined with "; "."""
    if isinstance(reason, str):
        return reason.strip()
    if isinstance(reason, Mapping):
        return "; ".join(f"{k}: {v}" if v not in (None, True, "") else str(k) for k, v in reason.items())
    if isinstance(reason, (list, tuple, set, frozenset)):
        return "; ".join(sorted(str(r) for r in reason))
    return ""


def not_graded_reason(summary: Mapping) -> str | None:
    """Why an entry is not graded (a validity gate failed), or None where it is graded.

    ``graded`` may be False (the reason then in ``invalid`` / ``not_graded``) or the reason itself
    as text; a non-empty ``invalid`` alone also means not graded."""
    graded = summary.get("graded", True)
    reason = reason_text(summary.get("not_graded")) or reason_text(summary.get("invalid"))
    if isinstance(graded, str) and graded.strip():
        return graded.strip()
    if graded is False:
        return reason or "failed a validity check"
    return reason or None


def provenance_text(summary: Mapping, tiles_sources: Sequence[str]) -> str:
    """ "reported by ML.ENERGY leaderboard" / "energy estimated by CodeCarbon" / "", followed by
    "window not checked" where the validity gates had no measurement window to judge."""
    provenance = summary.get("provenance")
    tool = provenance.get("tool") if isinstance(provenance, Mapping) else None
    unchecked = "window not checked" if summary.get("window_unchecked") else ""
    if not tool:
        return unchecked
    present = [s for s in tiles_sources if s]
    if present and all(s == "reported" for s in present):
        said = f"reported by {tool}"
    else:
        energy_source = present[0] if present else "reported"
        said = f"energy {energy_source} by {tool}" if energy_source in SOURCE_WORDS else f"from {tool}"
    return f"{said} \u00b7 {unchecked}" if unchecked else said


def property_source(summary: Mapping, key: str) -> str:
    """A property's source word (measured / estimated / reported / computed), or ""."""
    energy = summary.get("energy")
    sources = energy.get("sources") if isinstance(energy, Mapping) else None
    source = sources.get(key) if isinstance(sources, Mapping) else None
    return source if source in SOURCE_WORDS else ""


def tile_keys(prop_set: PropertySet) -> list[str]:
    """The four properties on the label: the set's ``label_tiles``, filled up in table order by
    weighted properties, then by the rest."""
    keys = [k for k in prop_set.label_tiles if prop_set.get(k) is not None][:4]
    for candidate in sorted(prop_set.properties, key=lambda p: p.weight <= 0):
        if len(keys) == 4:
            break
        if candidate.key not in keys:
            keys.append(candidate.key)
    return keys


def index_text(metric: Mapping) -> str:
    index = finite_float(metric.get("index")) if isinstance(metric, Mapping) else None
    return f"Index: {NA}" if index is None else f"Index: {index:.2f}"
