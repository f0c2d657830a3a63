"""What ELEx's callbacks do, as plain functions of (data, settings, inputs) -> outputs: the
callbacks in :mod:`mlel.elex.callbacks` only unpack Dash's arguments and call these (and the bench
and tests call them directly).
"""
from __future__ import annotations

import functools
import io
import json
import math
import zipfile
from typing import Sequence

import orjson

from dash import dcc

from mlel.base.names import file_safe_name
from mlel.labels import EnergyLabel
from mlel.ratings import RATINGS
from mlel.ratings.settings import SettingsError
from mlel.elex import entries, figures, session, sliders, state
from mlel.elex import layout as ids
from mlel.elex.state import ElexData


def label_source(summary: dict) -> tuple[str | None, str]:
    """(image src, note) of the selected model's label; no image and a note where it cannot be
    drawn (a label that cannot be drawn must not break the page)."""
    try:
        shown = {k: v for k, v in _capped(summary).items() if k not in LABEL_IGNORES}
        return _label_uri(orjson.dumps(shown, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)), ""
    except Exception as error:  # noqa: BLE001 - any renderer failure becomes a message
        return None, f"label could not be drawn: {error}"


# what a label does not draw: a slider move that leaves the model's letters alone reuses its label
LABEL_IGNORES = ("boundaries", "weights")


@functools.lru_cache(maxsize=64)
def _label_uri(summary_json: bytes) -> str:
    return EnergyLabel(orjson.loads(summary_json)).data_uri()


def _capped(summary: dict) -> dict:
    """The summary with its names cut to a bounded length: one log cannot stall the label."""
    return {**summary, "model": entries.short_name(summary.get("model", "")),
            "environment": entries.short_name(summary.get("environment", ""))}


def label_pdf(summary: dict) -> bytes:
    pdf = EnergyLabel(_capped(summary)).to_pdf()
    return pdf if isinstance(pdf, bytes) else bytes(pdf)


def settings_outputs(data: ElexData, settings: dict, task: str, x: str, y: str) -> tuple:
    """Slider properties, weights and boundary inputs shown for the chosen axes: the rating's."""
    rating = state.rate(data, task, settings)
    out = []
    for metric in (x, y):
        spec = sliders.slider_spec(rating, metric)
        out += [spec.min, spec.max, spec.step, spec.marks, spec.value]
    return (*out, rating.weights.get(x, 0.0), rating.weights.get(y, 0.0), *bound_inputs(rating.boundaries, x, y))


def control_values(data: ElexData, settings: dict, task: str) -> tuple:
    """What the reference, scale and mode controls show: what the task is rated by."""
    rating = state.rate(data, task, settings)
    return rating.reference, rating.scale, rating.mode


def readable(bound: float) -> str:
    """A boundary as the inputs, the read-out and the messages show it: 4 significant digits."""
    return f"{bound:.4g}"


def bound_inputs(boundaries: dict, x: str, y: str) -> list:
    """The eight numeric boundary inputs (b0..b3 of x, then of y), as :func:`readable` shows them."""
    values = []
    for metric in (x, y):
        bounds = boundaries.get(metric) or [None] * 4
        values += [None if b is None else float(readable(b)) for b in bounds]
    return values


def editable(rating: state.Rating, metric: str) -> None:
    """Refuse to edit boundaries a scheme makes per group, or on the raw-value scale."""
    if rating.scale == "value" or rating.per_group:
        raise SettingsError(f"{rating.scheme.title} makes the boundaries of each group from its values: "
                            "choose another scheme to set them")


def typed_bound(settings: dict, task: str, metric: str, position: int, value,
                shown: dict | None = None, name: str | None = None, labels: Sequence[str] = RATINGS) -> dict:
    """Boundary b<position> of ``metric`` typed in: it must stay between its neighbours (b0 ≥ b1 ≥
    b2 ≥ b3 ≥ 0); a value that does not is refused with a message, never pushing a neighbour.
    ``shown``: the boundaries in use (the rating's), where the scheme made them. Messages name the
    boundary as the inputs do ("the D|C boundary (b2) of Top-1 accuracy", ``name``: the property's)."""
    said = f"The {sliders.boundary_name(position, labels)} boundary (b{position}) of {name or metric}"
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SettingsError(f"{said}: type a number")
    if value < 0:
        raise SettingsError(f"{said} cannot be negative: a boundary is an index, a ratio of positive values")
    bounds = list((shown or {}).get(metric) or settings["boundaries"][task].get(metric) or [])
    if len(bounds) != 4 or not 0 <= position < 4:
        raise SettingsError(f"{name or metric} has no boundaries to edit")
    upper = bounds[position - 1] if position > 0 else None
    lower = bounds[position + 1] if position < 3 else None
    if (upper is not None and value > upper) or (lower is not None and value < lower):
        def neighbour(p: int) -> str:
            return f"{readable(bounds[p])} ({sliders.boundary_name(p, labels)}, b{p})"
        if upper is None:
            where = f"must be at least {neighbour(position + 1)}"
        else:
            below = "0" if lower is None else neighbour(position + 1)
            where = f"must lie between {below} and {neighbour(position - 1)}"
        raise SettingsError(f"{said} cannot be {readable(value)}: it {where}; move that boundary first")
    bounds[position] = value
    return session.set_boundaries(settings, task, metric, bounds, shown)


def apply_event(data: ElexData, settings: dict, trigger: str | None, task: str, values: dict) -> tuple[dict, str]:
    """One control change -> (new settings, message). Errors leave the settings unchanged."""
    try:
        if trigger == ids.SCHEME:
            scheme = values.get("scheme") or None
            chosen = session.set_scheme(settings, scheme)
            return chosen, f"rated by {state.task_scheme(data.table(task), chosen).title}"
        if trigger == ids.REFERENCE and values["reference"]:
            chosen = session.set_reference(settings, values["reference"])
            if state.rate(data, task, settings).scale == "reference":
                return chosen, ""
            # a reference chosen is one to index against: the scale follows (as --reference --scale reference)
            return session.set_scale(chosen, data, "reference"), f"indices against {values['reference']}"
        if trigger == ids.MODE and values["mode"]:
            return session.set_mode(settings, values["mode"]), ""
        if trigger == ids.RATING_SCALE and values.get("scale"):
            scale = values["scale"]
            words = "the reference model" if scale == "reference" else "the best of each environment"
            return session.set_scale(settings, data, scale), f"indices against {words}"
        if trigger in (ids.X_BOUNDS, ids.Y_BOUNDS):
            metric = values["x"] if trigger == ids.X_BOUNDS else values["y"]
            slider = values["x_bounds"] if trigger == ids.X_BOUNDS else values["y_bounds"]
            if not slider or len(slider) != 4:
                return settings, ""
            rating = state.rate(data, task, settings)
            editable(rating, metric)
            spec = sliders.slider_spec(rating, metric)
            current = rating.boundaries.get(metric, [1.0] * 4)
            bounds = sliders.bounds_from_slider(slider, current, spec)
            return session.set_boundaries(settings, task, metric, bounds, rating.boundaries), ""
        if trigger in ids.BOUND_INPUTS:
            axis, position = ids.BOUND_INPUTS[trigger]
            metric = values[axis]
            rating = state.rate(data, task, settings)
            editable(rating, metric)
            return typed_bound(settings, task, metric, position, values["bound_inputs"][trigger],
                               dict(rating.boundaries), rating.table.properties[metric].name,
                               rating.level_labels), ""
        if trigger in (ids.X_WEIGHT, ids.Y_WEIGHT):
            metric = values["x"] if trigger == ids.X_WEIGHT else values["y"]
            weight = values["x_weight"] if trigger == ids.X_WEIGHT else values["y_weight"]
            return session.set_weight(settings, task, metric, weight), ""
        if trigger == ids.CALIBRATE:
            editable(state.rate(data, task, settings), "")
            return session.calibrate(settings, data, task), f"boundaries of {task} calibrated (quantiles)"
        if trigger == ids.RESET:
            return session.reset(settings, data), "the scheme's boundaries and the default weights restored"
        if trigger == ids.UPLOAD_BOUNDARIES and values["boundaries_file"]:
            content = session.decode_upload(values["boundaries_file"], values["boundaries_name"])
            return (session.apply_boundaries_upload(settings, content, data),
                    f"boundaries loaded from {values['boundaries_name']}")
        if trigger == ids.UPLOAD_WEIGHTS and values["weights_file"]:
            content = session.decode_upload(values["weights_file"], values["weights_name"])
            return session.apply_weights_upload(settings, content), f"weights loaded from {values['weights_name']}"
    except (SettingsError, ValueError) as error:
        return settings, f"Error: {error} — nothing was changed."
    return settings, ""


# --- helpers the callbacks (and the bench) call --------------------------------------------------


def bounds_text(rating: state.Rating, metric: str) -> str:
    """The boundaries of ``metric`` in use, in words."""
    if rating.per_group or rating.scale == "value":
        return f"boundaries per group ({rating.scheme.title}): made from each group's values"
    bounds = rating.boundaries.get(metric)
    if not bounds:
        return "no boundaries: not rated" if rating.scheme.honest else "no boundaries: every model rates E"
    return "  ".join(f"b{i} {readable(b)}" for i, b in enumerate(bounds))


def views(data: ElexData, settings: dict, task: str, environments: list, x: str, y: str, scale: str,
          selected: dict | None = None) -> tuple:
    """Scatter, bars and the boundary read-outs for one session: the slider-move path."""
    rating = state.rate(data, task, settings)
    marked = None
    if isinstance(selected, dict) and selected.get("task") == task:
        marked = (str(selected.get("environment")), str(selected.get("model")))
    scatter = figures.scatter_figure(rating, x, y, environments, scale, marked)
    counts = state.rating_counts(rating, figures.selected_rows(rating, environments))
    labels = dict(zip(rating.table.environments, rating.table.labels or rating.table.environments))
    chosen = set(environments)
    counts = {labels[env]: c for env, c in counts.items() if env in chosen}
    return (scatter, figures.bar_figure(counts, rating.level_labels[:-1]), bounds_text(rating, x),
            bounds_text(rating, y))


def selection(data: ElexData, task: str, row) -> dict | None:
    """A row number from a click or the table -> {task, environment, model}; None if not valid."""
    if isinstance(row, list) and row:  # a point's customdata: [row, x text, y text]
        row = row[0]
    if not isinstance(task, str) or task not in data.tables or isinstance(row, bool) \
            or not isinstance(row, (int, float)):
        return None
    table = data.table(task)
    if row != row or abs(row) > len(table):  # NaN, inf
        return None
    row = int(row)
    if not 0 <= row < len(table):
        return None
    return {"task": task, "environment": table.results[row].environment, "model": table.models[row]}


def selected_summary(data: ElexData, settings: dict, selected) -> dict | None:
    """The selected model's summary under this session's settings (None when nothing is selected).
    The store is client data: the model is looked up, never trusted."""
    if not isinstance(selected, dict) or not isinstance(selected.get("task"), str) \
            or selected["task"] not in data.tables:
        return None
    rating = state.rate(data, selected["task"], settings)
    row = rating.table.row(str(selected.get("environment")), str(selected.get("model")))
    return None if row is None else state.summary(rating, row)


def download(data: ElexData, summary: dict, what: str) -> dict:
    """dcc.Download payload for the label PDF, the summary JSON or the merged log(s)."""
    stem = file_safe_name(f"{summary['model']}_{summary['task']}_{summary['environment']}", "model")
    if what == ids.GET_SUMMARY:
        return dcc.send_string(json.dumps(summary, indent=2), f"{stem}.json")
    if what == ids.GET_LABEL:
        return dcc.send_bytes(label_pdf(summary), f"{stem}_label.pdf")
    if what == ids.GET_LOG:
        if data.directory is None:
            raise ValueError("merged logs are only available when ELEx reads a results directory")
        # file names come from the loaded data, never from the request: no path can be smuggled in
        paths = [data.directory / name for name in summary["logs"]]
        if len(paths) == 1:
            return dcc.send_file(str(paths[0]))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
        return dcc.send_bytes(buffer.getvalue(), f"{stem}_logs.zip")
    raise ValueError(f"unknown download '{what}'")


