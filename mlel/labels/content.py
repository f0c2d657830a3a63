"""What the label says: one rated summary (SPEC §5/§7) -> plain records of ready-to-draw text.

Pure functions, no drawing: the texts can be tested and reused (ELEx, reports) on their own.
"""
from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass, replace
from typing import Mapping

from mlel.base.formatting import NA, format_percent, format_quantity
from mlel.labels.levels import LETTERS, Levels, compound_notes, scheme_text, summary_levels
from mlel.labels.qr import PROJECT_URL, label_link, paper_link
import mlel.labels.tiles as tiles
from mlel.monitoring.sources import device_of
from mlel.runlog.metrics import LABEL_METRICS
from mlel.tasks.properties import TRUST_GROUP, PropertySet, builtin_tasks, load_property_set
from mlel.base.units import MS_PER_S, j_to_wh, unit_parts
from mlel.base.values import finite_float

_DEVICE_ORDER = ("GPU", "CPU")  # the accelerator first, as on the 2022 labels


@dataclass(frozen=True)
class Cell:
    """One pictogram of the 2x2 grid."""

    kind: str  # pictogram: "power" | "runtime" | "accuracy" | "size"; "": an empty place, not drawn
    rating: str  # the level of the cell's metric, tints the pictogram ("": not rated or graded, grey)
    caption: str  # next to the pictogram: the property's own name
    value: str  # the main figure, with its unit
    note: str  # what the main figure is
    second: str  # a second figure
    detail: str = ""  # under the caption: the energy sources, "(estimated ± 15 %)" where estimated
    estimated: bool = False  # detail is drawn as a warning
    interval: str = ""  # under the main figure: "95 % CI 0.61 – 0.66 Ws" where >= 2 runs
    not_rated: str = ""  # why the metric has no level, where the scheme says so


@dataclass(frozen=True)
class TrustCell:
    """One small tile of the trust strip (issue 28): a calibration or robustness property."""

    caption: str  # the property's own name
    value: str  # its value with its unit; NOT_MEASURED where the run has none
    rating: str  # its level ("": none, a grey dash)


TRUST_CAPTION = "Trust: calibration and robustness"
INVALID = "invalid value"  # measured, but the log's value failed its check: not "not measured"


@dataclass(frozen=True)
class LabelContent:
    model: str
    task: str  # "Inference" | "Training"
    dataset: str
    environment: str
    compound: str  # the compound's level label; "": none (not graded, not rated)
    link: str  # what the QR code opens
    link_caption: str
    cells: tuple[Cell, Cell, Cell, Cell]
    footer_left: str
    footer_right: str
    compound_p: str = ""  # "87 %": how likely the compound letter is, where runs allow it
    not_graded: str = ""  # the reason, where a validity gate failed: no letter is drawn then
    provenance: str = ""  # "reported by ML.ENERGY leaderboard", beside the environment
    not_rated: str = ""  # the reason, where the scheme gives the entry no compound: no level is drawn
    levels: Levels = LETTERS  # the scale: A–E letters, or 5…1 stars
    scheme: str = ""  # "Rated by MLEE (honest)"
    compound_notes: tuple[str, ...] = ()  # small print under the compound (what it rests on, boundaries)
    trust: tuple[TrustCell, ...] = ()  # the trust strip under the tiles; (): none drawn
    trust_note: str = ""  # whether the trust properties count in the compound

    @property
    def subtitle(self) -> str:
        """ "Inference  ·  ImageNet"; the task alone where the dataset is not known or only repeats
        the task's words."""
        if self.dataset == NA or repeats(self.dataset, self.task):
            return self.task
        return self.task + TASK_SEPARATOR + self.dataset


TASK_SEPARATOR = "  \u00b7  "  # middle dot, in WinAnsi so the base-14 fonts have it
_REPEAT_SHARE = 0.75  # "AI Energy Score asr" under "Automatic speech recognition (AI Energy Score)"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def repeats(dataset: str, task: str) -> bool:
    """Whether the dataset's name says (nearly) nothing the task's does not: at least three
    quarters of its words are the task's ("LLM Chat (LM Arena)" under "LLM chat (LM Arena prompts)")."""
    words, said = _words(dataset), set(_words(task))
    return bool(words) and sum(word in said for word in words) >= _REPEAT_SHARE * len(words)


# The error of estimated energy, where known: the record's own figure (summary["energy"]:
# "expected_error" as a fraction, as the estimator records it, or "error_pct"), else the estimator's
# figure for the environment's hardware (mlel.monitoring.estimate.expected_error(cpu name) -> fraction).
ERROR_FRACTION_FIELD, ERROR_PCT_FIELD = "expected_error", "error_pct"
_ESTIMATE_MODULE = "mlel.monitoring.estimate"


@functools.lru_cache(maxsize=1)
def _estimator():
    try:  # imported on first need only: labels do not otherwise depend on the monitoring layer
        return importlib.import_module(_ESTIMATE_MODULE)
    except ImportError:
        return None


def _estimator_error_pct(hardware: str) -> float | None:
    """The estimator's expected error (%) for this hardware name, where it publishes one."""
    module = _estimator()
    if module is None:
        return None
    if callable(getattr(module, "expected_error", None)):
        try:
            fraction = finite_float(module.expected_error(hardware))
        except Exception:  # noqa: BLE001 - a figure we cannot get is a figure we do not show
            return None
        return None if fraction is None else 100 * fraction
    return finite_float(getattr(module, "ESTIMATE_ERROR_PCT", None))


def estimate_error_pct(energy: Mapping, environment: str = "") -> float | None:
    """The relative error (%) of estimated energy: the record's figure, else the estimator's for the
    environment's hardware (the part before " - ")."""
    fraction = finite_float(energy.get(ERROR_FRACTION_FIELD))
    if fraction is not None and fraction >= 0:
        return 100 * fraction
    own = finite_float(energy.get(ERROR_PCT_FIELD))
    if own is not None and own >= 0:
        return own
    return _estimator_error_pct(str(environment).split(" - ")[0])


def estimated_text(error_pct: float | None) -> str:
    """ "estimated ± 15 %", or "estimated" where the error is not known: said once per tile."""
    return "estimated" if error_pct is None else f"estimated \u00b1 {error_pct:.3g} %"


def format_sources(sources: Mapping[str, str] | None, estimated: bool = False,
                   error_pct: float | None = None) -> tuple[str, bool]:
    """("Sources: GPU, CPU" | "Sources: CPU (estimated ± 15 %)", any estimated) from energy.sources;
    the error, where known, beside the source it is the error of."""
    word = estimated_text(error_pct)
    parts, any_estimated = [], bool(estimated)
    for name, status in (sources if isinstance(sources, Mapping) else {}).items():
        device = device_of(name)
        is_estimated = status == "estimated" or name == "estimate"
        any_estimated |= is_estimated
        parts.append((device, f"{device} ({word})" if is_estimated else device))
    parts.sort(key=lambda p: (_DEVICE_ORDER.index(p[0]) if p[0] in _DEVICE_ORDER else len(_DEVICE_ORDER), p[1]))
    texts = list(dict.fromkeys(text for _, text in parts))  # e.g. two GPU sources: one "GPU"
    if not texts:
        return f"Sources: {NA}", any_estimated
    if any_estimated and not any(word in t for t in texts):
        texts[-1] += f" ({word})"  # the summary says estimated though no source does
    return "Sources: " + ", ".join(texts), any_estimated


def _entry(summary: Mapping, key: str) -> Mapping:
    metrics = summary.get("metrics")
    entry = metrics.get(key) if isinstance(metrics, Mapping) else None
    return entry if isinstance(entry, Mapping) else {}


def _metric(summary: Mapping, key: str, levels: Levels = LETTERS) -> tuple[float | None, str]:
    """(value, level label); "" where the metric is not graded or not rated (a neutral tile)."""
    entry = _entry(summary, key)
    rating = entry.get("rating")
    if (rating is None and "rating" in entry) or _not_rated(entry):
        return finite_float(entry.get("value")), ""
    # a summary of old, without the key: the worst level (SPEC §5: missing -> E)
    return finite_float(entry.get("value")), rating if rating in levels.labels else levels.worst


def _not_rated(entry: Mapping) -> str:
    """Why a metric has no level (``"not_rated"``), where the scheme says so."""
    return tiles.reason_text(entry.get("not_rated")) if entry.get("rating") is None else ""


def _interval(summary: Mapping, key: str, unit: str) -> str:
    metrics = summary.get("metrics")
    entry = metrics.get(key) if isinstance(metrics, Mapping) else None
    return tiles.interval_text(entry, unit) if isinstance(entry, Mapping) else ""


def _energy_cell(summary: Mapping, task: str, key: str, levels: Levels, caption: str) -> Cell:
    energy = summary.get("energy")
    energy = energy if isinstance(energy, Mapping) else {}
    named = energy.get("sources") if isinstance(energy.get("sources"), Mapping) else {}
    estimated = bool(energy.get("estimated")) or "estimate" in named or "estimated" in named.values()
    _, estimated = format_sources(named, estimated)
    error = estimate_error_pct(energy, summary.get("environment", "")) if estimated else None
    sources, _ = format_sources(named, estimated, error)
    energy_value, rating = _metric(summary, key, levels)
    reason = _not_rated(_entry(summary, key))
    if task == "inference":
        total_j = finite_float(energy.get("total_ws"))  # Ws = J
        run_total = format_quantity(None if total_j is None else j_to_wh(total_j), "Wh")
        return Cell("power", rating, caption, format_quantity(energy_value, "Ws"), "per sample",
                    f"Whole run: {run_total}", sources, estimated, _interval(summary, key, "Ws"), reason)
    epoch_energy, _ = _metric(summary, "train_power_draw_epoch")
    return Cell("power", rating, caption, format_quantity(energy_value, "kWh"), "full training",
                f"Per epoch: {format_quantity(epoch_energy, 'kWh')}", sources, estimated,
                _interval(summary, key, "kWh"), reason)


def _cells(summary: Mapping, task: str, levels: Levels) -> tuple[Cell, Cell, Cell, Cell]:
    """The 2022 tiles: per sample and whole-run figures, each titled with its property's name."""
    energy_key, time_key, accuracy_key, size_key = LABEL_METRICS[task]
    names = load_property_set(task)
    runtime, time_rating = _metric(summary, time_key, levels)
    top1, accuracy_rating = _metric(summary, accuracy_key, levels)
    top5, _ = _metric(summary, "top5_val")
    parameters, size_rating = _metric(summary, size_key, levels)
    gflops, _ = _metric(summary, "gflops")
    reason = {key: _not_rated(_entry(summary, key)) for key in (time_key, accuracy_key, size_key)}
    if task == "inference":
        throughput = MS_PER_S / runtime if runtime else None  # runtime is ms per sample
        time_cell = Cell("runtime", time_rating, names[time_key].name, format_quantity(runtime, "ms"), "per sample",
                         f"Throughput: {format_quantity(throughput, 'samples/s')}",
                         interval=_interval(summary, time_key, "ms"), not_rated=reason[time_key])
    else:
        epoch_time, _ = _metric(summary, "train_time_epoch")
        time_cell = Cell("runtime", time_rating, names[time_key].name, format_quantity(runtime, "h"),
                         "full training", f"Per epoch: {format_quantity(epoch_time, 'h')}",
                         interval=_interval(summary, time_key, "h"), not_rated=reason[time_key])
    accuracy_cell = Cell("accuracy", accuracy_rating, names[accuracy_key].name, format_percent(top1), "top-1",
                         f"Top-5: {format_percent(top5)}", interval=_interval(summary, accuracy_key, "fraction"),
                         not_rated=reason[accuracy_key])
    size_cell = Cell("size", size_rating, names[size_key].name, format_quantity(parameters, "M"), "parameters",
                     f"Operations: {format_quantity(gflops, 'GFLOPs')}", interval=_interval(summary, size_key, "M"),
                     not_rated=reason[size_key])
    return (_energy_cell(summary, task, energy_key, levels, names[energy_key].name), time_cell, accuracy_cell,
            size_cell)


def trust_strip(summary: Mapping, prop_set: PropertySet | None, levels: Levels) -> tuple[tuple[TrustCell, ...], str]:
    """The trust strip's tiles and note: one tile per property of the task's trust group that the
    summary rates (a summary from before issue 28 lacks their keys: no strip); a value the run did
    not measure reads NOT_MEASURED, never a letter. The note says whether they count in the compound."""
    keys = [k for k in (prop_set.group_keys(TRUST_GROUP) if prop_set else ())
            if isinstance(summary.get("metrics"), Mapping) and k in summary["metrics"]]
    if not keys:
        return (), ""
    cells = []
    for key in keys:
        value, rating = _metric(summary, key, levels)
        prop = prop_set[key]
        shown = (INVALID if _entry(summary, key).get("invalid") else prop.missing_text if value is None
                 else format_quantity(value, unit_parts(prop.unit).symbol))  # a fraction reads as a percentage
        cells.append(TrustCell(prop_set[key].name, shown, rating if value is not None else ""))
    weights = summary.get("weights") if isinstance(summary.get("weights"), Mapping) else {}
    weighted = any((finite_float(weights.get(k)) or 0) > 0 for k in keys)
    return tuple(cells), "in the compound rating" if weighted else "weight 0: not in the compound rating"


VALUE_SCALE = "value"  # the summary's "reference" where levels come from the values themselves
NO_REASON = "no reason given"  # a compound of null that does not say why
OWN_TOOL = "MLEE"  # mlel.runlog.recorded's provenance: our estimator made the estimate


def _record_error_pct(summary: Mapping) -> float | None:
    """The error of an estimated property of a record: the record's own figure; our estimator's
    only where our estimator made the estimate (another tool's TDP model is not ours to score)."""
    energy = summary.get("energy") if isinstance(summary.get("energy"), Mapping) else {}
    provenance = summary.get("provenance") if isinstance(summary.get("provenance"), Mapping) else {}
    if provenance.get("tool") == OWN_TOOL:
        return estimate_error_pct(energy, str(summary.get("environment", "")))
    fraction, pct = finite_float(energy.get(ERROR_FRACTION_FIELD)), finite_float(energy.get(ERROR_PCT_FIELD))
    if fraction is not None and fraction >= 0:
        return 100 * fraction
    return pct if pct is not None and pct >= 0 else None


EMPTY_CELL = Cell("", "", "", "", "", "")  # a place of the grid no property fills: not drawn


def _generic_cells(summary: Mapping, prop_set: PropertySet, levels: Levels) -> tuple[Cell, Cell, Cell, Cell]:
    """The four tiles of any task from its property set: name, value in its unit, the property's
    source ("reported" / "measured" / ...) and its index; an estimated value says so once, with its
    error where known."""
    cells, indexed = [], summary.get("reference") != VALUE_SCALE  # the value scale has no index to show
    for position, key in enumerate(tiles.tile_keys(prop_set)):
        prop = prop_set[key]
        value, rating = _metric(summary, key, levels)
        metric = _entry(summary, key)
        source = tiles.property_source(summary, key)
        estimated = source == "estimated"
        detail = estimated_text(_record_error_pct(summary)) if estimated else ""
        cells.append(Cell(tiles.tile_kind(prop, position), rating, prop.name, format_quantity(value, prop.unit),
                          "" if estimated else source or NA, tiles.index_text(metric) if indexed else "",
                          detail=detail,
                          estimated=estimated, interval=tiles.interval_text(metric, prop.unit),
                          not_rated=_not_rated(metric)))
    while len(cells) < 4:  # a property set of fewer than four properties: empty places
        cells.append(EMPTY_CELL)
    return tuple(cells)


def _property_set(task, property_set: PropertySet | None) -> PropertySet | None:
    if property_set is not None:
        return property_set
    if not isinstance(task, str) or task in LABEL_METRICS:
        return None  # the 2022 tasks keep their own tiles (per sample and whole-run figures)
    return builtin_tasks().get(task)


def _footer_right(summary: Mapping) -> str:
    logs = summary.get("logs") if isinstance(summary.get("logs"), (list, tuple)) else []
    runs = tiles.run_count(summary)
    if runs == 1 and len(logs) == 1:
        return f"{tiles.ONE_RUN}  \u00b7  {logs[0]}"  # the log's name may be cut, not this
    if runs and runs > 1:
        return f"mean of {runs} runs"
    return str(logs[0]) if len(logs) == 1 else ""


def label_content(summary: Mapping, link: str | None = None,
                  property_set: PropertySet | None = None) -> LabelContent:
    """The label's texts from one rated summary. Raises ValueError naming a missing field.
    Tasks beyond the 2022 ones take their tiles from their property set (``property_set``, else
    the built-in one of the summary's task)."""
    if not isinstance(summary, Mapping):
        raise ValueError(f"a label needs a rated summary (dict), not {type(summary).__name__}")
    for key in ("task", "model", "environment", "compound", "metrics"):
        if key not in summary:
            raise ValueError(f"not a rated summary: missing field '{key}'")
    task = summary["task"]
    prop_set = _property_set(task, property_set)
    if prop_set is None and (not isinstance(task, str) or task not in LABEL_METRICS):
        raise ValueError(f"unknown task '{task}' (no property set); known: {', '.join(builtin_tasks())}")
    levels = summary_levels(summary)
    compound, not_rated = summary["compound"], ""
    not_graded = tiles.not_graded_reason(summary) or ""
    if compound is None:  # no level: the label says why instead
        compound = ""
        if not not_graded:
            not_rated = tiles.reason_text(summary.get("not_rated")) or NO_REASON
    elif not isinstance(compound, str) or compound not in levels.labels:
        raise ValueError(f"compound rating must be one of {', '.join(levels.labels)}, not {compound!r:.40}")
    model, entry = str(summary["model"]), summary.get("entry")
    if isinstance(entry, str) and entry.startswith(model):  # "<model> (<what differs>)"
        model = entry  # the entry's name tells the model's configurations apart
    link = link or label_link(model)
    if link == paper_link(model):
        link_caption = "Model paper"
    elif link == PROJECT_URL:
        link_caption = "About MLEE"
    else:
        link_caption = "More"
    reference = summary.get("reference")
    if reference == "best":
        footer_left = "Index scale: best model per environment"
    elif reference == VALUE_SCALE:
        footer_left = "Scale: the values themselves (no index)"
    else:
        footer_left = f"Reference model: {reference or NA}"
    if summary.get("mode"):  # ELEx and the CLI say how the compound rating was formed
        footer_left += f"  \u00b7  {summary['mode']}"
    cells = _cells(summary, task, levels) if prop_set is None else _generic_cells(summary, prop_set, levels)
    if not_rated or not_graded:  # the entry has no level: the box says why, not each tile again
        cells = tuple(replace(cell, not_rated="") for cell in cells)
    trust, trust_note = trust_strip(summary, prop_set or builtin_tasks().get(task), levels)
    probability = tiles.compound_probability(summary)
    shown_task = task.capitalize() if prop_set is None or task in LABEL_METRICS else prop_set.display_name
    return LabelContent(
        model=model, task=shown_task, dataset=str(summary.get("dataset") or NA),
        environment=str(summary["environment"]), compound=compound, link=link,
        link_caption=link_caption, cells=cells, footer_left=footer_left,
        footer_right=_footer_right(summary),
        compound_p="" if probability is None else f"{100 * probability:.0f} %",
        not_graded=not_graded, not_rated=not_rated, levels=levels, scheme=scheme_text(summary),
        compound_notes=compound_notes(summary) if not not_graded else (), trust=trust, trust_note=trust_note,
        provenance=tiles.provenance_text(summary, [tiles.property_source(summary, k) for k in
                                                   (tiles.tile_keys(prop_set) if prop_set else ())]))
