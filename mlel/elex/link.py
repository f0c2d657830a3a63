"""Shareable ELEx views: a view as a URL query string and back.

:func:`encode` and :func:`decode` are pure text <-> :class:`View` (no data, no Dash); :func:`restore`
checks a decoded view against the data a server shows (the task, its environments, metrics,
models and the one validator of boundaries and weights) and keeps what is valid; every part it
drops is named in a note, so a malformed link opens the defaults with a message, never an error.

The query names each part once (``t`` task, ``e`` environment, repeated; ``x``/``y`` axes; ``p`` the
plot's scale; ``s`` scheme; ``r`` reference; ``i`` what indices are against; ``m`` compound mode;
``b`` ``metric:b0,b1,b2,b3`` and ``w`` ``metric:weight``, repeated; ``c`` calibrated; ``pe``/``pm``
the pinned entry), e.g. ``?t=inference&r=ResNet50&b=top1_val:1.1,1,0.9,0.8&pe=A100&pm=VGG16``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import parse_qsl, quote, urlencode

from mlel.base.values import parse_number
from mlel.ratings import COMPOUND_MODES, SCALES, builtin_schemes
from mlel.ratings.settings import SettingsError, check_bounds, check_weight
from mlel.elex.data import ElexData
from mlel.elex.session import clean_settings, default_settings, task_reference

VERSION = "1"
MAX_LINK_CHARS = 16_384  # a real view is a few hundred characters; more is not a link of ours
MAX_FIELDS = 400
PLOT_SCALES = ("index", "real")
ALL = None  # environments: every one of the task's


@dataclass(frozen=True)
class View:
    """What a link carries. Absent parts (None, empty) mean the task's defaults."""

    task: str
    environments: tuple[str, ...] | None = ALL  # () none chosen; ALL: every environment
    x: str | None = None
    y: str | None = None
    plot_scale: str = "index"  # the plot: indices or real values
    scheme: str | None = None  # None: each task's own
    reference: str | None = None  # None: the task's own reference model
    rating_scale: str | None = None  # indices against "reference" | "best"; None: the scheme's
    mode: str | None = None
    boundaries: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # metric -> b0..b3
    weights: Mapping[str, float] = field(default_factory=dict)
    calibrate: bool = False
    pinned: tuple[str, str] | None = None  # (environment, entry name)


def _number(value: float) -> str:
    return repr(float(value))  # the shortest text that reads back as the same float


def encode(view: View) -> str:
    """``view`` as a query string ("?t=…"); defaults are left out, so links stay short."""
    pairs = [("v", VERSION), ("t", view.task)]
    if view.environments is not ALL:
        pairs += [("e", env) for env in view.environments] or [("e", "")]
    pairs += [(key, value) for key, value in (("x", view.x), ("y", view.y), ("s", view.scheme),
                                              ("r", view.reference), ("i", view.rating_scale), ("m", view.mode))
              if value is not None]
    if view.plot_scale != "index":
        pairs.append(("p", view.plot_scale))
    pairs += [("b", f"{metric}:{','.join(_number(b) for b in bounds)}") for metric, bounds in view.boundaries.items()]
    pairs += [("w", f"{metric}:{_number(weight)}") for metric, weight in view.weights.items()]
    if view.calibrate:
        pairs.append(("c", "1"))
    if view.pinned is not None:
        pairs += [("pe", view.pinned[0]), ("pm", view.pinned[1])]
    return "?" + urlencode(pairs, quote_via=quote)


def _floats(text: str, count: int | None) -> tuple[float, ...] | None:
    numbers = tuple(parse_number(part) for part in text.split(","))  # the one parser of numbers as text
    if (count is not None and len(numbers) != count) or None in numbers:
        return None
    return numbers


def _pairs_of(values: list[str], what: str, count: int | None, notes: list[str]) -> dict:
    """``metric:n[,n…]`` texts -> {metric: numbers}; a text that does not read is named in ``notes``."""
    out = {}
    for text in values:
        metric, _, numbers = text.rpartition(":")
        parsed = _floats(numbers, count) if metric else None
        if parsed is None:
            notes.append(f"{what} '{_short(text)}' is not {'four numbers' if count else 'a number'}: ignored")
        else:
            out[metric] = parsed if count else parsed[0]
    return out


def _short(text: str, limit: int = 60) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def decode(query: str | None) -> tuple[View | None, list[str]]:
    """A query string (with or without "?") -> (the view it names, notes on what did not read).
    No view (None) where the link names no task: the page opens on its defaults."""
    query = (query or "").lstrip("?")
    if not query:
        return None, []
    if len(query) > MAX_LINK_CHARS:
        return None, [f"the link is longer than {MAX_LINK_CHARS} characters: the default view is shown"]
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="replace")
    except ValueError:
        return None, ["the link has too many parts: the default view is shown"]
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    first = {key: values[0] for key, values in fields.items()}
    if not first.get("t"):
        return None, ["the link names no task: the default view is shown"]
    notes: list[str] = []
    environments = ALL
    if "e" in fields:
        environments = tuple(e for e in fields["e"] if e) if fields["e"] != [""] else ()
    pinned = (first["pe"], first["pm"]) if "pe" in first and "pm" in first else None
    if ("pe" in first) != ("pm" in first):
        notes.append("the pinned entry is incomplete (environment and model needed): nothing pinned")
    return View(task=first["t"], environments=environments, x=first.get("x"), y=first.get("y"),
                plot_scale=first.get("p", "index"), scheme=first.get("s"), reference=first.get("r"),
                rating_scale=first.get("i"), mode=first.get("m"),
                boundaries=_pairs_of(fields.get("b", []), "boundaries", 4, notes),
                weights=_pairs_of(fields.get("w", []), "weight", None, notes),
                calibrate=first.get("c") == "1", pinned=pinned), notes


# ---------------------------------------------------------------------------------------------
# a view <-> one session's page (settings, controls, the pinned entry)


@dataclass(frozen=True)
class Restored:
    """What the page opens with: the controls' values and the session's stores."""

    task: str
    environments: list[str]
    x: str | None
    y: str | None
    plot_scale: str
    settings: dict
    selected: dict | None
    notes: tuple[str, ...] = ()


def defaults(data: ElexData, notes=()) -> Restored:
    task = data.tasks[0]
    return Restored(task, list(data.table(task).environments), None, None, "index", default_settings(data), None,
                    tuple(notes))


def restore(data: ElexData, query: str | None) -> Restored:
    """The page a link opens: its view where the data has it, the defaults for each part it does
    not (named in ``notes``)."""
    view, notes = decode(query)
    if view is None:
        return defaults(data, notes)
    if view.task not in data.tasks:
        return defaults(data, [*notes, f"no task '{_short(view.task)}' here: the default view is shown"])
    table = data.table(view.task)
    task, keys = view.task, set(table.metrics)
    environments = list(table.environments)
    if view.environments is not ALL:
        unknown = [e for e in view.environments if e not in environments]
        notes += [f"no environment '{_short(e)}' in {task}: left out" for e in unknown[:5]]
        chosen = set(view.environments)
        environments = [e for e in environments if e in chosen]
    axes = []
    for name, metric in (("x", view.x), ("y", view.y)):
        if metric is not None and metric not in keys:
            notes.append(f"{task} has no metric '{_short(metric)}' for the {name} axis: its default is shown")
            metric = None
        axes.append(metric)
    plot_scale = view.plot_scale if view.plot_scale in PLOT_SCALES else "index"
    if plot_scale != view.plot_scale:
        notes.append(f"unknown plot scale '{_short(view.plot_scale)}': indices are shown")
    settings = {**default_settings(data), "reference": task_reference(task)}
    raw = _settings_of(view, table, settings, notes)
    settings = clean_settings(raw, data)
    if settings["weights"].get(task) != raw["weights"].get(task):
        notes.append("the link's weights leave no metric a weight > 0: the default weights are used")
    selected = None
    if view.pinned is not None:
        environment, model = view.pinned
        if table.row(environment, model) is None:
            notes.append(f"no entry '{_short(model)}' in '{_short(environment)}': nothing pinned")
        else:
            selected = {"task": task, "environment": environment, "model": model}
    return Restored(task, environments, axes[0], axes[1], plot_scale, settings, selected, tuple(notes))


def _settings_of(view: View, table, settings: dict, notes: list[str]) -> dict:
    """The session settings a view names, each part checked (a bad one: the default, and a note)."""
    task = view.task
    raw = {**settings, "boundaries": {**settings["boundaries"]}, "weights": {**settings["weights"]}}
    checks = (("scheme", view.scheme, builtin_schemes()), ("mode", view.mode, COMPOUND_MODES),
              ("scale", view.rating_scale, SCALES), ("reference", view.reference, table.reference_models))
    for key, value, known in checks:
        if value is None:
            continue
        if value in known:
            raw[key] = value
        else:
            notes.append(f"unknown {'index scale' if key == 'scale' else key} '{_short(value)}' "
                         f"for {task}: the task's own is used")
    bounds = dict(raw["boundaries"].get(task) or {})
    for metric, given in view.boundaries.items():
        try:
            if metric not in table.metrics:
                raise SettingsError(f"{task} has no metric '{_short(metric)}'")
            bounds[metric] = check_bounds(list(given), f"{task}.{metric}")
        except SettingsError as error:
            notes.append(f"boundaries of the link not used: {error}")
    raw["boundaries"][task] = bounds
    weights = {}
    for metric, weight in view.weights.items():
        try:
            if metric not in table.metrics:
                raise SettingsError(f"{task} has no metric '{_short(metric)}'")
            weights[metric] = check_weight(weight, f"{task}.{metric}")
        except SettingsError as error:
            notes.append(f"weight of the link not used: {error}")
    raw["weights"][task] = weights
    raw["calibrate"] = {task: True} if view.calibrate else {}
    return raw


def view_of(data: ElexData, settings: Mapping, task: str, environments, x: str | None, y: str | None,
            plot_scale: str, selected) -> View:
    """The view a page shows now (what :func:`encode` writes into its link): only what differs
    from the task's defaults."""
    table = data.table(task)
    chosen = set(environments or ())
    shown = tuple(e for e in table.environments if e in chosen)
    defaults_of_task = table.properties.default_boundaries()
    boundaries = {metric: tuple(bounds) for metric, bounds in (settings["boundaries"].get(task) or {}).items()
                  if list(bounds) != list(defaults_of_task.get(metric) or [])}
    reference = settings.get("reference")
    pinned = None
    if isinstance(selected, Mapping) and selected.get("task") == task:
        pinned = (str(selected.get("environment")), str(selected.get("model")))
    return View(task=task, environments=ALL if len(shown) == len(table.environments) else shown, x=x, y=y,
                plot_scale=plot_scale if plot_scale in PLOT_SCALES else "index", scheme=settings.get("scheme"),
                reference=reference if reference and reference != task_reference(task) else None,
                rating_scale=settings.get("scale"), mode=settings.get("mode"), boundaries=boundaries,
                weights=dict(settings["weights"].get(task) or {}),
                calibrate=bool((settings.get("calibrate") or {}).get(task)), pinned=pinned)


__all__ = ["View", "Restored", "encode", "decode", "restore", "defaults", "view_of", "MAX_LINK_CHARS"]
