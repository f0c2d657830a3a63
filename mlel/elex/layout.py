"""ELEx page layout: controls on the left, scatter, bars, label and table on the right.

Component ids are module constants so callbacks and browser tests name the same things.
"""
from __future__ import annotations

import json

from dash import dash_table, dcc, html

from mlel.base.formatting import format_quantity
from mlel.tasks.properties import load_property_set
from mlel.ratings import COMPOUND_MODES, DEFAULT_MODE, RATINGS, builtin_schemes
from mlel.elex.session import MAX_UPLOAD_BYTES, default_settings
from mlel.elex.entries import chance_text, environment_label, not_graded, not_rated, short_name
from mlel.elex.state import ElexData

SETTINGS, SELECTED = "elex-settings", "elex-selected"
TASK, ENVIRONMENTS, X, Y, SCALE, REFERENCE, MODE = (
    "elex-task", "elex-environments", "elex-x", "elex-y", "elex-scale", "elex-reference", "elex-mode")
RATING_SCALE = "elex-rating-scale"  # the pipeline's scale: index against the reference model or the best
SCHEME = "elex-scheme"  # the rating scheme: each task's own ("") or a built-in one
X_WEIGHT, Y_WEIGHT, X_BOUNDS, Y_BOUNDS = "elex-x-weight", "elex-y-weight", "elex-x-bounds", "elex-y-bounds"
X_BOUNDS_TEXT, Y_BOUNDS_TEXT = "elex-x-bounds-text", "elex-y-bounds-text"
X_AXIS_NAME, Y_AXIS_NAME = "elex-x-axis-name", "elex-y-axis-name"
CALIBRATE, RESET, MESSAGE = "elex-calibrate", "elex-reset", "elex-message"
UPLOAD_BOUNDARIES, UPLOAD_WEIGHTS = "elex-upload-boundaries", "elex-upload-weights"
SAVE_BOUNDARIES, SAVE_WEIGHTS = "elex-save-boundaries", "elex-save-weights"
SCATTER, BARS, TABLE = "elex-scatter", "elex-bars", "elex-table"
LABEL, SUMMARY, DETAIL_MESSAGE = "elex-label", "elex-summary", "elex-detail-message"
GET_LABEL, GET_SUMMARY, GET_LOG = "elex-get-label", "elex-get-summary", "elex-get-log"
DOWNLOAD, DOWNLOAD_SETTINGS = "elex-download", "elex-download-settings"
PREVIEW, PINNED, PROBLEMS = "elex-preview", "elex-pinned", "elex-problems"
# numeric inputs beside each boundary slider: id -> (axis, boundary position b0..b3)
BOUND_INPUTS = {f"elex-{axis}-b{i}": (axis, i) for axis in ("x", "y") for i in range(4)}
X_BOUND_INPUTS, Y_BOUND_INPUTS = list(BOUND_INPUTS)[:4], list(BOUND_INPUTS)[4:]
MAX_PROBLEMS_SHOWN = 200

# The axes the 2022 tool opened with: efficiency against quality.
DEFAULT_AXES = {"inference": ("inference_power_draw", "top1_val"),
                "training": ("train_power_draw", "top1_val")}


def environment_options(table) -> list[dict]:
    """Checklist options: value = the environment key, label = its display name ("(estimated)")."""
    labels = table.labels or table.environments
    return [{"label": label, "value": env} for env, label in zip(table.environments, labels)]


def scheme_options() -> list[dict]:
    """The scheme chooser: each task's own (""), then every built-in scheme by its title."""
    return [{"label": "Each task's own scheme", "value": "",
             "title": "the scheme the task's property set names (MLEE, honest, where it names none)"}] + \
        [{"label": scheme.title, "value": name, "title": scheme.description}
         for name, scheme in builtin_schemes().items()]


def task_options(data: ElexData) -> list[dict]:
    """The task chooser: each task by its display name (its key in the tooltip)."""
    return [{"label": data.table(t).properties.display_name, "value": t, "title": t} for t in data.tasks]


def metric_options(task: str) -> list[dict]:
    return [{"label": f"{p.name} [{p.unit}]", "value": p.key} for p in load_property_set(task).properties]


def _task_axes(task: str) -> tuple[str, str]:
    """Efficiency against quality: the 2022 pairs, else the first property against the first of
    the Quality group (or of another group), e.g. energy per token against latency."""
    if task in DEFAULT_AXES:
        return DEFAULT_AXES[task]
    properties = load_property_set(task).properties
    first = properties[0]
    others = [p for p in properties[1:] if p.group == "Quality"] or \
        [p for p in properties[1:] if p.group != first.group] or list(properties[1:2]) or [first]
    return first.key, others[0].key


def axis_defaults(task: str, x: str | None = None, y: str | None = None) -> tuple[str, str]:
    """Keep the chosen axes where the task has them, else the task's defaults."""
    keys = load_property_set(task).keys
    dx, dy = _task_axes(task)
    return (x if x in keys else dx), (y if y in keys else dy)


def _control(title: str, *children, **kwargs) -> html.Div:
    return html.Div([html.Label(title, className="elex-control-title"), *children],
                    className="elex-control", **kwargs)


def _axis_controls(axis: str, metric_id: str, weight_id: str, bounds_id: str, text_id: str,
                   name_id: str, task: str, metric: str) -> html.Div:
    return html.Div([
        html.Div([html.Span(f"{axis} axis", className="elex-axis-letter"),
                  dcc.Dropdown(id=metric_id, options=metric_options(task), value=metric, clearable=False,
                               className="elex-axis-dropdown")], className="elex-axis-head"),
        html.Div([html.Span("weight", className="elex-small"),
                  dcc.Input(id=weight_id, type="number", min=0, step=0.1, debounce=True,
                            className="elex-weight"),
                  html.Span(id=name_id, className="elex-small elex-muted")], className="elex-weight-row"),
        html.Div("boundaries (index, log scale): E | D | C | B | A", className="elex-small elex-muted"),
        # handles stop at their neighbours (allowCross=False, never pushable); the tooltip sits
        # above the slider so the read-out below stays visible
        dcc.RangeSlider(id=bounds_id, min=-1, max=1, step=0.001, value=[-0.3, -0.1, 0.1, 0.3],
                        allowCross=False, pushable=False, updatemode="mouseup", allow_direct_input=False,
                        tooltip={"placement": "top", "always_visible": False,
                                 "transform": "elexPow10"}),
        html.Div([html.Label([html.Span(f"b{i}", className="elex-bound-name"),
                              dcc.Input(id=f"elex-{axis.lower()}-b{i}", type="number", min=0, debounce=True,
                                        className="elex-bound-input")],
                             title=f"boundary b{i} ({'ABCD'[i]} | {'BCDE'[i]}) on the index scale")
                  for i in range(4)], className="elex-bound-inputs"),
        html.Div(id=text_id, className="elex-bounds-text"),
    ], className="elex-axis", id=f"{metric_id}-box")


def build_layout(data: ElexData) -> html.Div:
    task = data.tasks[0] if data.tasks else "inference"
    table = data.tables.get(task)
    environments = list(table.environments) if table else []
    models = table.reference_models if table else []  # --reference names a model
    settings = default_settings(data)
    x, y = axis_defaults(task)
    # the folder's name only: the page never shows the server's absolute paths
    source = f"{data.directory.name or data.directory}" if data.directory else "results given to create_app"
    info = (f"{data.n_logs} logs · " + " · ".join(f"{len(data.tables[t])} {t} results" for t in data.tasks)
            + f" · from {source}")
    controls = html.Aside([
        _control("Task", dcc.RadioItems(id=TASK, options=task_options(data), value=task, className="elex-radio")),
        _control("Environments", dcc.Checklist(id=ENVIRONMENTS, options=environment_options(table) if table else [],
                                               value=environments, className="elex-checklist")),
        _control("Scale", dcc.RadioItems(id=SCALE, options=[
            {"label": "Index", "value": "index"}, {"label": "Real values", "value": "real"}],
            value="index", inline=True, className="elex-radio")),
        _control("Rating scheme", dcc.Dropdown(id=SCHEME, options=scheme_options(), value="", clearable=False)),
        _control("Reference model", dcc.Dropdown(id=REFERENCE, options=models, value=settings["reference"],
                                                 clearable=False, placeholder=NO_REFERENCE_MODEL)),
        _control("Index against", dcc.RadioItems(id=RATING_SCALE, options=[
            {"label": "Reference model", "value": "reference"}, {"label": "Best of environment", "value": "best"}],
            value=None, inline=True, className="elex-radio")),
        _control("Compound rating", dcc.Dropdown(id=MODE, options=list(COMPOUND_MODES),
                                                 value=settings["mode"] or DEFAULT_MODE, clearable=False)),
        _axis_controls("X", X, X_WEIGHT, X_BOUNDS, X_BOUNDS_TEXT, X_AXIS_NAME, task, x),
        _axis_controls("Y", Y, Y_WEIGHT, Y_BOUNDS, Y_BOUNDS_TEXT, Y_AXIS_NAME, task, y),
        html.Div([html.Button("Calibrate boundaries", id=CALIBRATE, className="elex-button",
                              title="boundaries = quantiles 0.8/0.6/0.4/0.2 of all indices of this task"),
                  html.Button("Reset", id=RESET, className="elex-button elex-secondary",
                              title="default boundaries and weights")], className="elex-buttons"),
        html.Div([
            dcc.Upload(html.Button("Upload boundaries", className="elex-button elex-secondary",
                                   title="JSON {metric: [b0, b1, b2, b3]} or {task: {…}}, at most 64 KiB"),
                       id=UPLOAD_BOUNDARIES, accept=".json,application/json", max_size=4 * MAX_UPLOAD_BYTES,
                       multiple=False),
            dcc.Upload(html.Button("Upload weights", className="elex-button elex-secondary",
                                   title="JSON {metric: weight} or {task: {metric: weight}}, at most 64 KiB"),
                       id=UPLOAD_WEIGHTS, accept=".json,application/json", max_size=4 * MAX_UPLOAD_BYTES,
                       multiple=False),
        ], className="elex-buttons"),
        html.Div([html.Button("Download boundaries", id=SAVE_BOUNDARIES, className="elex-button elex-secondary"),
                  html.Button("Download weights", id=SAVE_WEIGHTS, className="elex-button elex-secondary")],
                 className="elex-buttons"),
        html.Div(id=MESSAGE, role="status", className="elex-message"),
    ], className="elex-controls")
    detail = html.Div([
        html.Img(id=LABEL, alt="energy label of the selected model (click to zoom)", className="elex-label",
                 title="click to zoom", n_clicks=0),
        html.Div([
            html.Div(id=SUMMARY, className="elex-summary", children=EMPTY_SUMMARY),
            html.Div("Nothing pinned: click a point or a table row.", id=PINNED, className="elex-pinned"),
            html.Div([html.Button("Label PDF", id=GET_LABEL, className="elex-button"),
                      html.Button("Summary JSON", id=GET_SUMMARY, className="elex-button elex-secondary"),
                      html.Button("Merged log", id=GET_LOG, className="elex-button elex-secondary")],
                     className="elex-buttons"),
            html.Div(id=DETAIL_MESSAGE, role="status", className="elex-message"),
        ], className="elex-detail-text"),
    ], className="elex-detail")
    return html.Div([
        dcc.Store(id=SETTINGS, storage_type="memory", data=settings),
        dcc.Store(id=SELECTED, storage_type="memory"),  # pinned by a click: what downloads use
        dcc.Store(id=PREVIEW, storage_type="memory"),  # under the pointer: shown, never downloaded
        dcc.Download(id=DOWNLOAD), dcc.Download(id=DOWNLOAD_SETTINGS),
        html.Header([html.H1(["ELEx", html.Span(" Energy Label Exploration", className="elex-subtitle")]),
                     html.Div(info, className="elex-info", id="elex-info"),
                     problems_view(data.problems)], className="elex-header"),
        html.Div([
            controls,
            html.Main([
                dcc.Graph(id=SCATTER, className="elex-scatter", clear_on_unhover=True,
                          config={"displaylogo": False,
                                  "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}),
                html.Div([dcc.Graph(id=BARS, className="elex-bars", config={"displayModeBar": False}), detail],
                         className="elex-row"),
                html.H2("All rated models", className="elex-h2"),
                dash_table.DataTable(
                    # filtered, sorted and paged on the server: 10,000 rows never go to the browser
                    id=TABLE, sort_action="custom", filter_action="custom", page_action="custom",
                    page_current=0, page_size=15, sort_by=[], filter_query="",
                    merge_duplicate_headers=True, sort_mode="multi",
                    style_table={"overflowX": "auto"},
                    style_cell={"fontFamily": "Helvetica, Arial, sans-serif", "fontSize": 12,
                                "padding": "3px 6px", "minWidth": 60},
                    style_header={"fontWeight": "bold", "backgroundColor": "#f2f2f2"},
                    filter_options={"case": "insensitive"}),
            ], className="elex-main"),
        ], className="elex-body"),
    ], className="elex")


NO_REFERENCE_MODEL = "none: the best of each environment"  # a task that names no reference model
EMPTY_SUMMARY = html.P("Hover over a model to preview its label; click to pin it.", className="elex-muted")


def problems_view(problems) -> html.Details | None:
    """Skipped files by name with the reason (the first MAX_PROBLEMS_SHOWN), folded."""
    if not problems:
        return html.Div(id=PROBLEMS)
    items = [html.Li(short_name(str(p), 400)) for p in list(problems)[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        items.append(html.Li(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more"))
    return html.Details([html.Summary(f"{len(problems)} file(s) skipped"), html.Ul(items)],
                        id=PROBLEMS, className="elex-problems")


def _interval_text(metric: dict, unit: str) -> str:
    interval = metric.get("ci95")
    if not isinstance(interval, (list, tuple)) or len(interval) != 2 or None in interval:
        return ""
    return f"{format_quantity(interval[0], unit)} – {format_quantity(interval[1], unit)}"


NO_LEVEL_STYLE = {"background": "#dddddd", "color": "#555555"}  # no level: grey, never a rating colour


def _level(label, levels, probabilities=None) -> html.Span:
    """A level label in the colour of the letter at its place; "–" in grey where there is none."""
    if label is None:
        return html.Span("–", className="elex-rating elex-rating-none", style=NO_LEVEL_STYLE)
    letter = RATINGS[levels.index(label)] if label in levels else label
    return html.Span(chance_text(str(label), probabilities), className=f"elex-rating elex-rating-{letter}")


def summary_view(summary: dict, preview: bool = False) -> list:
    """The selected model's summary: compound rating (with its probability where known; "–" and
    why, where there is none), the scheme, environment, runs and notes, then each metric (value,
    95% interval, index, rating, or why it has none)."""
    properties = load_property_set(summary["task"])
    levels = list(summary.get("levels") or RATINGS)
    resampled = "rating probabilities" in str(summary.get("uncertainty") or "")
    rows = [html.Tr([html.Th("metric"), html.Th("value"), html.Th("95% interval"), html.Th("index"),
                     html.Th("rating")])]
    for key, metric in summary["metrics"].items():
        value, index, prop = metric["value"], metric["index"], properties[key]
        why = metric.get("not_rated") if metric["rating"] is None else None
        why = None if why == "entry not rated" else why  # the entry's reason is said once, above
        rows.append(html.Tr([
            html.Td(prop.name), html.Td(format_quantity(value, prop.unit)),
            html.Td(_interval_text(metric, prop.unit) or "—"),
            html.Td("—" if index is None else f"{index:.3f}"),
            html.Td([_level(metric["rating"], levels, metric.get("rating_p") if resampled else None)]
                    + ([html.Span(f" {short_name(str(why), 120)}", className="elex-small elex-muted")] if why else []),
                    title=str(why) if why else None)]))
    energy = summary.get("energy") or {}
    sources = ", ".join(f"{k} ({v})" for k, v in (energy.get("sources") or {}).items()) or "none"
    runs = summary.get("n_runs") or len(summary.get("logs") or ()) or 1
    notes = [f"{runs} runs" if runs > 1 else "1 run: no interval"]
    reason, unrated = not_graded(summary), not_rated(summary)
    if reason:
        notes.append(f"not graded: {reason}")
    if unrated:
        notes.append(f"not rated: {unrated}")
    for key in ("compound_rests_on", "boundaries_note"):
        if summary.get(key):
            notes.append(("compound rests on " if key == "compound_rests_on" else "") + short_name(str(summary[key]), 300))
    if summary.get("window_unchecked"):  # graded on the source's word: the gates had no window
        notes.append(short_name(str(summary["window_unchecked"]), 300))
    scheme = summary.get("scheme")
    return [  # a compound of None: not graded, or not rated
        html.H3([short_name(summary["model"]), " ",
                 _level(summary["compound"], levels, summary.get("compound_p") if resampled else None)]
                + ([html.Span(" preview — click to pin", className="elex-small elex-muted")] if preview else []),
                className="elex-summary-title"),
        html.Div(f"{summary['task']} · {environment_label(short_name(summary['environment']), bool(energy.get('estimated')))}"
                 f" · reference {short_name(str(summary['reference']))}"
                 + (f" · scheme {_scheme_title(scheme)}" if scheme else ""), className="elex-small"),
        html.Div(f"energy sources: {sources}" + (" — estimated" if energy.get("estimated") else ""),
                 className="elex-small elex-muted"),
        html.Div(" · ".join(notes), className="elex-small elex-runs" + (" elex-not-graded" if reason or unrated else "")),
        html.Table(rows, className="elex-summary-table"),
        html.Details([html.Summary("logs"), html.Pre(json.dumps(summary["logs"], indent=1))],
                     className="elex-small"),
    ]


def _scheme_title(name: str) -> str:
    scheme = builtin_schemes().get(name)
    return scheme.title if scheme else short_name(str(name), 60)


def pinned_view(selected) -> str:
    if not isinstance(selected, dict) or not selected.get("model"):
        return "Nothing pinned: click a point or a table row."
    return (f"Pinned: {short_name(str(selected['model']))} · {short_name(str(selected.get('environment')))}"
            " — the downloads below are of this model.")
