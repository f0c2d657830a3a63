"""One ELEx session's settings: reference, compound mode, boundaries and weights per task.

The settings are a plain JSON dict that lives in the user's browser (``dcc.Store``); every function
here takes settings in and returns new settings, never mutating anything shared. Uploads and
downloads of boundaries / weights are the files ``python -m mlel.ratings`` reads.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Mapping, Sequence

import numpy as np

from mlel.ratings import engine
from mlel.runlog.metrics import TASKS, task_metrics
from mlel.tasks.properties import load_property_set
from mlel.ratings import COMPOUND_MODES, DEFAULT_MODE, DEFAULT_QUANTILES, DEFAULT_REFERENCE
from mlel.ratings.settings import SettingsError, parse_boundaries, parse_weights
from mlel.elex.state import ElexData, indices

MAX_UPLOAD_BYTES = 64 * 1024  # a boundaries or weights file is a few hundred bytes
# Weights are normalised, so their scale carries nothing; a cap keeps sums finite (1e308 + 1e308).
MAX_WEIGHT = 1e6


def check_bounds_values(task: str, metric: str, bounds) -> list[float]:
    """Four finite, non-negative, descending numbers with b0 > 0, as floats; SettingsError otherwise."""
    if isinstance(bounds, (str, bytes)) or not isinstance(bounds, Sequence) or len(bounds) != 4 or any(
            isinstance(b, bool) or not isinstance(b, (int, float)) for b in bounds):
        raise SettingsError(f"boundaries of {task} '{metric}' must be four numbers b0 ≥ b1 ≥ b2 ≥ b3, got {bounds!r:.100}")
    try:
        values = [float(b) for b in bounds]
    except OverflowError:
        raise SettingsError(f"boundaries of {task} '{metric}' must be finite numbers") from None
    if not all(math.isfinite(b) for b in values):
        raise SettingsError(f"boundaries of {task} '{metric}' must be finite numbers, got {values}")
    if any(b < 0 for b in values) or not values[0] > 0:
        raise SettingsError(f"boundaries of {task} '{metric}' are index values: positive (b3 may be 0), got {values}")
    if any(a < b for a, b in zip(values, values[1:])):
        raise SettingsError(f"boundaries of {task} '{metric}' must descend (b0 ≥ b1 ≥ b2 ≥ b3), got {values}")
    return values


def check_weight_value(task: str, metric: str, weight) -> float:
    """A finite weight in [0, MAX_WEIGHT] as a float; SettingsError otherwise."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise SettingsError(f"weight '{metric}' of {task} must be a number, got {weight!r:.100}")
    try:
        value = float(weight)
    except OverflowError:
        value = math.inf
    if not (math.isfinite(value) and 0 <= value <= MAX_WEIGHT):
        raise SettingsError(f"weight '{metric}' of {task} must be a finite number from 0 to {MAX_WEIGHT:g}, "
                            f"got {weight!r:.40}")
    return value


def default_settings(data: ElexData | None = None) -> dict:
    """Reference, mode, and per-task boundaries and weights: the SPEC §5 defaults."""
    reference = DEFAULT_REFERENCE
    if data is not None and data.tasks:
        table = data.table(data.tasks[0])
        if reference not in table.rows_models and len(table):
            reference = table.model_names[0]
    tasks = list(TASKS) + [t for t in (data.tasks if data is not None else ()) if t not in TASKS]
    return {
        "reference": reference,
        "mode": DEFAULT_MODE,
        "boundaries": {t: load_property_set(t).default_boundaries() for t in tasks},
        "weights": {t: load_property_set(t).default_weights() for t in tasks},
    }


def _task_boundaries(task: str, bounds: Mapping) -> dict[str, list[float]]:
    """``{property: [b0..b3]}`` of one task, checked against the task's property set."""
    keys = load_property_set(task).keys
    unknown = sorted(str(k) for k in bounds if k not in keys)
    if unknown:
        raise SettingsError(f"unknown metric(s) of {task}: {', '.join(unknown)}; known: {', '.join(keys)}")
    return {k: check_bounds_values(task, k, v) for k, v in bounds.items()}


def _task_weights(task: str, weights: Mapping) -> dict[str, float]:
    """``{property: weight}`` of one task: known properties, non-negative numbers."""
    keys = load_property_set(task).keys
    unknown = sorted(str(k) for k in weights if k not in keys)
    if unknown:
        raise SettingsError(f"unknown metric(s) of {task}: {', '.join(unknown)}; known: {', '.join(keys)}")
    return {key: check_weight_value(task, key, weight) for key, weight in weights.items()}


def clean_settings(raw, data: ElexData | None = None) -> dict:
    """Settings as the browser sent them -> valid settings. A store is client data: anything odd
    falls back to the default for that part instead of raising in a callback."""
    settings = default_settings(data)
    if not isinstance(raw, Mapping):
        return settings
    if isinstance(raw.get("reference"), str):
        settings["reference"] = raw["reference"]
    if raw.get("mode") in COMPOUND_MODES:
        settings["mode"] = raw["mode"]
    raw_bounds = raw.get("boundaries") if isinstance(raw.get("boundaries"), Mapping) else {}
    raw_weights = raw.get("weights") if isinstance(raw.get("weights"), Mapping) else {}
    for task in settings["boundaries"]:
        try:
            if isinstance(raw_bounds.get(task), Mapping):
                settings["boundaries"][task].update(_task_boundaries(task, raw_bounds[task]))
        except SettingsError:
            pass
        try:
            weights = raw_weights.get(task)
            merged = {**settings["weights"][task], **(_task_weights(task, weights) if isinstance(weights, Mapping)
                                                        else {})}
        except SettingsError:
            continue
        if any(w > 0 for w in merged.values()):
            settings["weights"][task] = merged
    return settings


def set_reference(settings: dict, reference: str) -> dict:
    return {**settings, "reference": reference}


def set_mode(settings: dict, mode: str) -> dict:
    if mode not in COMPOUND_MODES:
        raise ValueError(f"unknown compound mode '{mode}'")
    return {**settings, "mode": mode}


def set_boundaries(settings: dict, task: str, metric: str, bounds: Sequence[float]) -> dict:
    """New settings with one metric's boundaries replaced (validated: four, descending)."""
    checked = _task_boundaries(task, {metric: list(bounds)})[metric]
    boundaries = {**settings["boundaries"], task: {**settings["boundaries"][task], metric: checked}}
    return {**settings, "boundaries": boundaries}


def set_weight(settings: dict, task: str, metric: str, weight: float) -> dict:
    """New settings with one weight changed. At least one weight of a task must stay > 0."""
    if weight is None:
        raise ValueError("a weight must be a non-negative number")
    weights = {**settings["weights"][task], **_task_weights(task, {metric: weight})}
    if not any(w > 0 for w in weights.values()):
        raise ValueError("at least one metric needs a weight > 0")
    return {**settings, "weights": {**settings["weights"], task: weights}}


def calibrate(settings: dict, data: ElexData, task: str,
              quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict:
    """Boundaries of every metric of ``task`` = quantiles of its indices over all rated models
    (a metric without any index keeps its boundaries)."""
    table = data.table(task)
    calibrated = engine.quantile_boundaries(indices(table, settings["reference"]), quantiles)
    found = {k: calibrated[j].tolist() for j, k in enumerate(table.metrics) if not np.isnan(calibrated[j]).any()}
    bounds = {**settings["boundaries"][task], **found}
    return {**settings, "boundaries": {**settings["boundaries"], task: bounds}}


def reset(settings: dict, data: ElexData | None = None) -> dict:
    """Back to the defaults; keeps the chosen reference and mode."""
    return {**default_settings(data), "reference": settings["reference"], "mode": settings["mode"]}


# ---------------------------------------------------------------------------------------------
# uploads and downloads of boundaries / weights (the files `python -m mlel.ratings` reads)


def decode_upload(contents: str | None, filename: str | None) -> object:
    """A dcc.Upload data URL -> parsed JSON. Raises SettingsError with a message for the user."""
    if not contents:
        raise SettingsError("no file received")
    if filename and not filename.lower().endswith(".json"):
        raise SettingsError(f"{filename}: only .json files are accepted")
    header, _, payload = contents.partition(",")
    if not header.startswith("data:") or ";base64" not in header:
        raise SettingsError(f"{filename or 'upload'}: not a file upload")
    if len(payload) > MAX_UPLOAD_BYTES * 4 // 3 + 4:
        raise SettingsError(f"{filename or 'upload'}: larger than {MAX_UPLOAD_BYTES // 1024} KiB")
    try:
        raw = base64.b64decode(payload, validate=True)
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        raise SettingsError(f"{filename or 'upload'}: not a UTF-8 text file") from None
    except json.JSONDecodeError as error:
        raise SettingsError(f"{filename or 'upload'}: not valid JSON ({error})") from None


def apply_boundaries_upload(settings: dict, content) -> dict:
    """``{metric: [b0..b3]}`` (applies to every task with that metric, as the CLI does) or
    ``{task: {metric: [b0..b3]}}``. All or nothing: a bad entry raises and changes nothing."""
    if isinstance(content, Mapping) and content and set(content) <= set(TASKS):
        per_task = {task: parse_boundaries(content[task], f"boundaries of {task}") for task in content}
    else:
        flat = parse_boundaries(content)
        per_task = {task: flat for task in TASKS}
    boundaries = {**settings["boundaries"], **{  # the files name merged-log metrics; other tasks keep theirs
        task: {**settings["boundaries"][task],
               **{k: check_bounds_values(task, k, b) for k, b in per_task.get(task, {}).items()
                  if k in task_metrics(task)}}
        for task in TASKS}}
    return {**settings, "boundaries": boundaries}


def apply_weights_upload(settings: dict, content) -> dict:
    """``{metric: w}`` (every task) or ``{task: {metric: w}}``: named weights replaced, others kept."""
    checked = parse_weights(content)
    per_task = checked if any(t in checked for t in TASKS) else {t: checked for t in TASKS}
    weights = dict(settings["weights"])  # other tasks keep theirs
    for task in TASKS:
        merged = {**settings["weights"][task],
                  **{k: check_weight_value(task, k, w) for k, w in per_task.get(task, {}).items()
                     if k in task_metrics(task)}}
        if not any(w > 0 for w in merged.values()):
            raise SettingsError(f"weights: no {task} metric would keep a weight > 0")
        weights[task] = merged
    return {**settings, "weights": weights}


def boundaries_file(settings: dict) -> dict:
    """Boundaries as a download, per task (``--boundaries`` takes one task's part)."""
    return {task: settings["boundaries"][task] for task in TASKS}


def weights_file(settings: dict) -> dict:
    return {task: settings["weights"][task] for task in TASKS}

