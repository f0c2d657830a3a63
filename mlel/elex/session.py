"""One ELEx session's settings: reference, scale, compound mode, boundaries and weights per task.

The settings are a plain JSON dict that lives in the user's browser (``dcc.Store``); every function
here takes settings in and returns new settings, never mutating anything shared. Uploads and
downloads of boundaries / weights are the files ``python -m mlel.ratings`` reads.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Mapping, Sequence

from mlel.runlog.metrics import TASKS, task_metrics
from mlel.tasks.properties import load_property_set
from mlel.ratings import COMPOUND_MODES, DEFAULT_MODE, DEFAULT_QUANTILES, DEFAULT_REFERENCE, SCALES, calibrated_boundaries
from mlel.ratings.engine import NO_BOUNDARIES
from mlel.ratings.settings import SettingsError, check_bounds, check_weight, parse_boundaries, parse_weights
from mlel.elex.state import ElexData, indices

MAX_UPLOAD_BYTES = 64 * 1024  # a boundaries or weights file is a few hundred bytes


def default_settings(data: ElexData | None = None) -> dict:
    """Reference, scale, mode, and per-task boundaries and weights: the SPEC §5 defaults."""
    reference = DEFAULT_REFERENCE
    if data is not None and data.tasks:
        table = data.table(data.tasks[0])
        if reference not in table.reference_models and len(table):
            reference = table.reference_models[0]
    tasks = list(TASKS) + [t for t in (data.tasks if data is not None else ()) if t not in TASKS]
    return {
        "reference": reference,
        "scale": SCALES[0],
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
    return {k: check_bounds(v, f"{task}.{k}") for k, v in bounds.items()}


def _task_weights(task: str, weights: Mapping) -> dict[str, float]:
    """``{property: weight}`` of one task: known properties, non-negative numbers."""
    keys = load_property_set(task).keys
    unknown = sorted(str(k) for k in weights if k not in keys)
    if unknown:
        raise SettingsError(f"unknown metric(s) of {task}: {', '.join(unknown)}; known: {', '.join(keys)}")
    return {key: check_weight(weight, f"{task}.{key}") for key, weight in weights.items()}


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
    if raw.get("scale") in SCALES:
        settings["scale"] = raw["scale"]
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


def set_scale(settings: dict, data: ElexData, scale: str) -> dict:
    """Index against the reference model or the best of each environment, with the boundaries the
    CLI takes on that scale without ``--boundaries``: calibrated (best), the defaults (reference)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale '{scale}'; choose from: {', '.join(SCALES)}")
    changed = {**settings, "scale": scale, "boundaries": default_settings(data)["boundaries"]}
    if scale == "best":
        for task in data.tasks:
            changed = calibrate(changed, data, task)
    return changed


def set_mode(settings: dict, mode: str) -> dict:
    if mode not in COMPOUND_MODES:
        raise ValueError(f"unknown compound mode '{mode}'")
    return {**settings, "mode": mode}


def set_boundaries(settings: dict, task: str, metric: str, bounds: Sequence[float]) -> dict:
    """New settings with one metric's boundaries replaced (validated: four, descending)."""
    checked = _task_boundaries(task, {metric: bounds})[metric]  # checked as given: one rule, one wording
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
    """Boundaries of every metric of ``task`` = quantiles of its indices over the graded models,
    as the pipeline calibrates (a metric without any index keeps its boundaries: it rates E)."""
    table = data.table(task)
    index = indices(table, settings["reference"], settings.get("scale", SCALES[0]))
    calibrated = calibrated_boundaries(index[table.graded], quantiles)
    found = {k: calibrated[j].tolist() for j, k in enumerate(table.metrics)
             if tuple(calibrated[j]) != NO_BOUNDARIES}
    bounds = {**settings["boundaries"][task], **found}
    return {**settings, "boundaries": {**settings["boundaries"], task: bounds}}


def reset(settings: dict, data: ElexData | None = None) -> dict:
    """Back to the defaults of the chosen scale; keeps the chosen reference, scale and mode."""
    kept = {**default_settings(data), "reference": settings["reference"], "mode": settings["mode"]}
    return set_scale(kept, data, settings.get("scale", SCALES[0])) if data is not None else kept


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
               **{k: check_bounds(b, f"{task}.{k}") for k, b in per_task.get(task, {}).items()
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
                  **{k: check_weight(w, f"{task}.{k}") for k, w in per_task.get(task, {}).items()
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

