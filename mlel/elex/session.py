"""One ELEx session's settings: scheme, reference, scale, compound mode, boundaries and weights.

The settings are a plain JSON dict that lives in the user's browser (``dcc.Store``); every function
here takes settings in and returns new settings, never mutating anything shared::

    {"scheme": None,          # a built-in scheme's name; None: each task's own (its property set's)
     "reference": "ResNet101",  # the shown task's reference model; None (or another task's): the task's own
     "scale": None,           # "reference" | "best" | "value"; None: the scheme's
     "mode": None,            # a compound mode; None: the scheme's
     "boundaries": {task: {metric: [b0..b3]}},  # fixed boundaries; the property set's defaults: the scheme's own
     "calibrate": {task: True},                  # boundaries from the quantiles of the task's indices
     "weights": {task: {metric: w}}}             # the weights set here, over the defaults

:func:`mlel.elex.state.rating_options` turns them into the pipeline's options. Uploads and
downloads of boundaries / weights are the files ``python -m mlel.ratings`` reads.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Mapping, Sequence

from mlel.runlog.metrics import TASKS, task_metrics
from mlel.tasks.properties import load_property_set
from mlel.ratings import COMPOUND_MODES, SCALES, builtin_schemes, load_scheme, task_weights
from mlel.ratings.settings import SettingsError, check_bounds, check_weight, parse_boundaries, parse_weights
from mlel.elex.state import ElexData, rate

MAX_UPLOAD_BYTES = 64 * 1024  # a boundaries or weights file is a few hundred bytes
CHOSEN_SCALES = ("reference", "best")  # what the page offers (the value scale comes with its schemes)


def task_reference(task: str) -> str | None:
    """The task's own reference model (its property set's; None: the best of each group)."""
    return load_property_set(task).reference


def _tasks(data: ElexData | None) -> list[str]:
    return list(TASKS) + [t for t in (data.tasks if data is not None else ()) if t not in TASKS]


def default_settings(data: ElexData | None = None) -> dict:
    """Each task's own scheme, reference and scale; the property sets' boundaries; no weights of
    one's own. The reference is that of the task the page opens on."""
    first = data.tasks[0] if data is not None and data.tasks else TASKS[0]
    tasks = _tasks(data)
    return {
        "scheme": None,
        "reference": task_reference(first),
        "scale": None,
        "mode": None,
        "boundaries": {t: load_property_set(t).default_boundaries() for t in tasks},
        "calibrate": {},
        "weights": {t: {} for t in tasks},
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


def effective_weights(settings: Mapping, task: str) -> dict[str, float]:
    """The weights the pipeline rates ``task`` by: the property set's, the scheme's over them, the
    session's over those (:func:`mlel.ratings.task_weights`)."""
    scheme = load_scheme(settings.get("scheme") or load_property_set(task).scheme or None)
    return task_weights(settings["weights"].get(task) or None, task, scheme_weights=scheme.weights)


def clean_settings(raw, data: ElexData | None = None) -> dict:
    """Settings as the browser sent them -> valid settings. A store is client data: anything odd
    falls back to the default for that part instead of raising in a callback."""
    settings = default_settings(data)
    if not isinstance(raw, Mapping):
        return settings
    if raw.get("scheme") is None or (isinstance(raw.get("scheme"), str) and raw["scheme"] in builtin_schemes()):
        settings["scheme"] = raw.get("scheme")
    if "reference" in raw and (raw["reference"] is None or isinstance(raw["reference"], str)):
        settings["reference"] = raw["reference"]
    for key, choices in (("mode", COMPOUND_MODES), ("scale", SCALES)):
        if raw.get(key) is None or raw.get(key) in choices:
            settings[key] = raw.get(key)
    calibrate = raw.get("calibrate") if isinstance(raw.get("calibrate"), Mapping) else {}
    settings["calibrate"] = {t: True for t in settings["boundaries"] if calibrate.get(t) is True}
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
            chosen = _task_weights(task, weights) if isinstance(weights, Mapping) else {}
        except SettingsError:
            continue
        if any(w > 0 for w in effective_weights({**settings, "weights": {task: chosen}}, task).values()):
            settings["weights"][task] = chosen
    return settings


def for_task(settings: dict, task: str) -> dict:
    """A task newly shown: its own reference and the scheme's scale."""
    return {**settings, "reference": task_reference(task), "scale": None}


def set_scheme(settings: dict, scheme: str | None) -> dict:
    """Another scheme (None: each task's own), with its own scale, mode and boundaries."""
    if scheme is not None and scheme not in builtin_schemes():
        raise ValueError(f"unknown scheme '{scheme}'; choose from: {', '.join(builtin_schemes())}")
    return {**settings, "scheme": scheme, "scale": None, "mode": None, "calibrate": {},
            "boundaries": _defaults_of(settings)}


def _defaults_of(settings: dict) -> dict:
    return {task: load_property_set(task).default_boundaries() for task in settings["boundaries"]}


def set_reference(settings: dict, reference: str | None) -> dict:
    return {**settings, "reference": reference}


def set_scale(settings: dict, data: ElexData | None, scale: str | None) -> dict:
    """Index against the reference model or the best of each group (None: the scheme's), with the
    boundaries the CLI takes on that scale without ``--boundaries`` (quantiles on the best scale)."""
    if scale is not None and scale not in SCALES:
        raise ValueError(f"unknown scale '{scale}'; choose from: {', '.join(SCALES)}")
    return {**settings, "scale": scale, "boundaries": _defaults_of(settings), "calibrate": {}}


def set_mode(settings: dict, mode: str | None) -> dict:
    if mode is not None and mode not in COMPOUND_MODES:
        raise ValueError(f"unknown compound mode '{mode}'")
    return {**settings, "mode": mode}


def set_boundaries(settings: dict, task: str, metric: str, bounds: Sequence[float],
                   shown: Mapping[str, Sequence[float]] | None = None) -> dict:
    """New settings with one metric's boundaries replaced (validated: four, descending); the others
    stay where they are shown (``shown``: the rating's boundaries, where the scheme made them)."""
    checked = _task_boundaries(task, {metric: bounds})[metric]  # checked as given: one rule, one wording
    current = {**settings["boundaries"].get(task, {}), **{k: list(b) for k, b in (shown or {}).items()}}
    boundaries = {**settings["boundaries"], task: {**current, metric: checked}}
    return {**settings, "boundaries": boundaries, "calibrate": _without(settings.get("calibrate"), task)}


def _without(calibrate, task: str) -> dict:
    return {t: True for t in (calibrate or {}) if t != task}


def set_weight(settings: dict, task: str, metric: str, weight: float) -> dict:
    """New settings with one weight changed. At least one weight of a task must stay > 0."""
    if weight is None:
        raise ValueError("a weight must be a non-negative number")
    weights = {**settings["weights"].get(task, {}), **_task_weights(task, {metric: weight})}
    changed = {**settings, "weights": {**settings["weights"], task: weights}}
    if not any(w > 0 for w in effective_weights(changed, task).values()):
        raise ValueError("at least one metric needs a weight > 0")
    return changed


def calibrate(settings: dict, data: ElexData, task: str) -> dict:
    """Boundaries of every metric of ``task`` = the pipeline's quantiles of its indices over the
    graded models (``--calibrate``)."""
    data.table(task)
    boundaries = {**settings["boundaries"], task: load_property_set(task).default_boundaries()}
    return {**settings, "boundaries": boundaries, "calibrate": {**_without(settings.get("calibrate"), task),
                                                                 task: True}}


def reset(settings: dict, data: ElexData | None = None) -> dict:
    """Back to the scheme's boundaries and the default weights; keeps scheme, reference, scale and mode."""
    return {**settings, "boundaries": _defaults_of(settings), "calibrate": {},
            "weights": {task: {} for task in settings["weights"]}}


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


def shown_boundaries(settings: dict, task: str, data: ElexData | None = None) -> dict[str, list[float]]:
    """The boundaries a task is rated by now (the rating's, where ``data`` has the task), else the
    settings' own."""
    if data is not None and task in data.tables:
        shown = rate(data, task, settings).boundaries
        return {**settings["boundaries"].get(task, {}), **{k: list(b) for k, b in shown.items()}}
    return dict(settings["boundaries"].get(task, {}))


def apply_boundaries_upload(settings: dict, content, data: ElexData | None = None) -> dict:
    """``{metric: [b0..b3]}`` (applies to every task with that metric, as the CLI does) or
    ``{task: {metric: [b0..b3]}}``, over the boundaries in use. All or nothing: a bad entry raises
    and changes nothing."""
    if isinstance(content, Mapping) and content and set(content) <= set(TASKS):
        per_task = {task: parse_boundaries(content[task], f"boundaries of {task}") for task in content}
    else:
        flat = parse_boundaries(content)
        per_task = {task: flat for task in TASKS}
    changed = {task: {k: check_bounds(b, f"{task}.{k}") for k, b in per_task.get(task, {}).items()
                      if k in task_metrics(task)} for task in TASKS}  # the files name merged-log metrics
    boundaries = {**settings["boundaries"], **{task: {**shown_boundaries(settings, task, data), **changed[task]}
                                               for task in TASKS if changed[task]}}
    calibrate = {t: True for t in settings.get("calibrate") or {} if not changed.get(t)}
    return {**settings, "boundaries": boundaries, "calibrate": calibrate}


def apply_weights_upload(settings: dict, content) -> dict:
    """``{metric: w}`` (every task) or ``{task: {metric: w}}``: named weights replaced, others kept."""
    checked = parse_weights(content)
    per_task = checked if any(t in checked for t in TASKS) else {t: checked for t in TASKS}
    weights = dict(settings["weights"])  # other tasks keep theirs
    for task in TASKS:
        weights[task] = {**settings["weights"].get(task, {}),
                         **{k: check_weight(w, f"{task}.{k}") for k, w in per_task.get(task, {}).items()
                            if k in task_metrics(task)}}
        if not any(w > 0 for w in effective_weights({**settings, "weights": weights}, task).values()):
            raise SettingsError(f"weights: no {task} metric would keep a weight > 0")
    return {**settings, "weights": weights}


def boundaries_file(settings: dict, data: ElexData | None = None) -> dict:
    """The boundaries in use as a download, per task (``--boundaries`` takes one task's part)."""
    return {task: shown_boundaries(settings, task, data) for task in TASKS}


def weights_file(settings: dict) -> dict:
    """The weights in use, per task (``--weights``)."""
    return {task: effective_weights(settings, task) for task in TASKS}
