"""ELEx page layout: controls on the left, scatter, bars, label and the table of all rated models
on the right, a link to the view above them.

The page is a shell (header, the URL) whose body :func:`build_page` makes once per page load from
the view the URL names (:func:`mlel.elex.link.restore`): a link opens as it was shared. Component
ids are module constants so callbacks and browser tests name the same things.
"""
from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from mlel.tasks.properties import load_property_set
from mlel.ratings import COMPOUND_MODES, DEFAULT_MODE, builtin_schemes
from mlel.elex import grid, state
from mlel.elex.detail import (EMPTY_SUMMARY, MAX_PROBLEMS_SHOWN, PROBLEMS, pinned_view, problems_view,  # noqa: F401
                              summary_view)
from mlel.elex.link import Restored
from mlel.elex.session import MAX_UPLOAD_BYTES
from mlel.elex.sliders import boundary_name
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
PREVIEW, PINNED = "elex-preview", "elex-pinned"
# the shareable view: the URL read once per page load, the page it makes, the link and its note
URL, PAGE, LINK, LINK_TEXT, COPY_LINK, LINK_NOTE = (
    "elex-url", "elex-page", "elex-link", "elex-link-text", "elex-copy-link", "elex-link-note")
GRID_REFRESHED = "elex-grid-refreshed"  # written by the client when the grid re-asks for its rows
GRID_COLUMNS = "elex-grid-columns"  # what the grid's columns were made for (grid.columns_key)
# numeric inputs beside each boundary slider: id -> (axis, boundary position b0..b3)
BOUND_INPUTS = {f"elex-{axis}-b{i}": (axis, i) for axis in ("x", "y") for i in range(4)}
X_BOUND_INPUTS, Y_BOUND_INPUTS = list(BOUND_INPUTS)[:4], list(BOUND_INPUTS)[4:]

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
    """A titled control; ``data-elex-label`` names its widget for assistive technology (elex.js
    gives Dash's radio groups and dropdowns that name)."""
    return html.Div([html.Label(title, className="elex-control-title"), *children],
                    className="elex-control", **{"data-elex-label": title}, **kwargs)


def _axis_controls(axis: str, metric_id: str, weight_id: str, bounds_id: str, text_id: str,
                   name_id: str, task: str, metric: str) -> html.Div:
    return html.Div([
        html.Div([html.Span(f"{axis} axis", className="elex-axis-letter"),
                  dcc.Dropdown(id=metric_id, options=metric_options(task), value=metric, clearable=False,
                               className="elex-axis-dropdown")],
                 className="elex-axis-head", **{"data-elex-label": f"{axis} axis metric"}),
        html.Div([html.Label([html.Span("weight", className="elex-small"),
                              dcc.Input(id=weight_id, type="number", min=0, step=0.1, debounce=True,
                                        className="elex-weight")], className="elex-weight-label",
                             title=f"weight of the {axis} axis metric in the compound rating"),
                  html.Span(id=name_id, className="elex-small elex-muted")], className="elex-weight-row"),
        html.Div("boundaries (index, log scale): E | D | C | B | A", className="elex-small elex-muted"),
        # handles stop at their neighbours (allowCross=False, never pushable); the tooltip sits
        # above the slider so the read-out below stays visible
        dcc.RangeSlider(id=bounds_id, min=-1, max=1, step=0.001, value=[-0.3, -0.1, 0.1, 0.3],
                        allowCross=False, pushable=False, updatemode="mouseup", allow_direct_input=False,
                        tooltip={"placement": "top", "always_visible": False,
                                 "transform": "elexPow10"}),
        html.Div([html.Label([html.Span(boundary_name(i), className="elex-bound-name"),
                              dcc.Input(id=f"elex-{axis.lower()}-b{i}", type="number", min=0, debounce=True,
                                        className="elex-bound-input")],
                             title=f"boundary b{i}, between {boundary_name(i).replace('|', ' and ')}, "
                                   "on the index scale")
                  for i in (3, 2, 1, 0)], className="elex-bound-inputs"),  # the slider's order: E|D … B|A
        html.Div(id=text_id, className="elex-bounds-text"),
    ], className="elex-axis", id=f"{metric_id}-box")


def build_layout(data: ElexData) -> html.Div:
    """The page's shell: the header (what is loaded, what was skipped), the URL, and the body
    :func:`build_page` fills in once the URL is known."""
    # the folder's name only: the page never shows the server's absolute paths
    source = f"{data.directory.name or data.directory}" if data.directory else "results given to create_app"
    info = (f"{data.n_logs} logs · " + " · ".join(f"{len(data.tables[t])} {t} results" for t in data.tasks)
            + f" · from {source}")
    return html.Div([
        dcc.Location(id=URL, refresh=False),
        html.Header([html.H1(["ELEx", html.Span(" Energy Label Exploration", className="elex-subtitle")]),
                     html.Div(info, className="elex-info", id="elex-info"),
                     problems_view(data.problems)], className="elex-header"),
        html.Div(id=PAGE, className="elex-page"),
    ], className="elex")


def _controls(data: ElexData, view: Restored, x: str, y: str) -> html.Aside:
    task, table, settings = view.task, data.table(view.task), view.settings
    return html.Aside([
        _control("Task", dcc.RadioItems(id=TASK, options=task_options(data), value=task, className="elex-radio")),
        _control("Environments", dcc.Checklist(id=ENVIRONMENTS, options=environment_options(table),
                                               value=view.environments, className="elex-checklist")),
        _control("Scale", dcc.RadioItems(id=SCALE, options=[
            {"label": "Index", "value": "index"}, {"label": "Real values", "value": "real"}],
            value=view.plot_scale, inline=True, className="elex-radio")),
        _control("Rating scheme", dcc.Dropdown(id=SCHEME, options=scheme_options(), value=settings["scheme"] or "",
                                               clearable=False)),
        _control("Reference model", dcc.Dropdown(id=REFERENCE, options=table.reference_models,
                                                 value=settings["reference"], clearable=False,
                                                 placeholder=NO_REFERENCE_MODEL)),
        _control("Index against", dcc.RadioItems(id=RATING_SCALE, options=[
            {"label": "Reference model", "value": "reference"}, {"label": "Best of environment", "value": "best"}],
            value=settings["scale"], inline=True, className="elex-radio")),
        _control("Compound rating", dcc.Dropdown(id=MODE, options=list(COMPOUND_MODES),
                                                 value=settings["mode"] or DEFAULT_MODE, clearable=False)),
        _axis_controls("X", X, X_WEIGHT, X_BOUNDS, X_BOUNDS_TEXT, X_AXIS_NAME, task, x),
        _axis_controls("Y", Y, Y_WEIGHT, Y_BOUNDS, Y_BOUNDS_TEXT, Y_AXIS_NAME, task, y),
        html.Div([html.Button("Calibrate boundaries", id=CALIBRATE, className="elex-button",
                              title="boundaries = quantiles 0.8/0.6/0.4/0.2 of all indices of this task"),
                  html.Button("Reset", id=RESET, className="elex-button elex-secondary",
                              title="default boundaries and weights")], className="elex-buttons"),
        html.Div([
            html.Div(dcc.Upload(html.Button("Upload boundaries", className="elex-button elex-secondary",
                                            title="JSON {metric: [b0, b1, b2, b3]} or {task: {…}}, at most 64 KiB"),
                                id=UPLOAD_BOUNDARIES, accept=".json,application/json",
                                max_size=4 * MAX_UPLOAD_BYTES, multiple=False),
                     **{"data-elex-label": "boundaries file (JSON)"}),
            html.Div(dcc.Upload(html.Button("Upload weights", className="elex-button elex-secondary",
                                            title="JSON {metric: weight} or {task: {metric: weight}}, at most 64 KiB"),
                                id=UPLOAD_WEIGHTS, accept=".json,application/json",
                                max_size=4 * MAX_UPLOAD_BYTES, multiple=False),
                     **{"data-elex-label": "weights file (JSON)"}),
        ], className="elex-buttons"),
        html.Div([html.Button("Download boundaries", id=SAVE_BOUNDARIES, className="elex-button elex-secondary"),
                  html.Button("Download weights", id=SAVE_WEIGHTS, className="elex-button elex-secondary")],
                 className="elex-buttons"),
        html.Div(id=MESSAGE, role="status", className="elex-message"),
    ], className="elex-controls", **{"aria-label": "controls"})


def _link_bar(view: Restored) -> html.Div:
    """The view's link: the address bar carries it too; "Copy link" copies it; a link that could
    not be restored in full says what was left out."""
    note = ("This link could not be opened in full — " + "; ".join(view.notes) + ".") if view.notes else ""
    return html.Div([
        html.Div([
            html.Label([html.Span("Link to this view", className="elex-link-title"),
                        dcc.Input(id=LINK_TEXT, type="text", readOnly=True, className="elex-link-text",
                                  value="")], className="elex-link-label"),
            dcc.Clipboard(id=COPY_LINK, target_id=LINK_TEXT, className="elex-copy",
                          children=html.Button("Copy link", className="elex-button", type="button"),
                          copied_children=html.Button("Link copied", className="elex-button", type="button")),
        ], className="elex-link-row"),
        html.Div(note, id=LINK_NOTE, role="status", className="elex-message elex-link-note"),
        dcc.Store(id=LINK, storage_type="memory"),
    ], className="elex-link")


def grid_component(data: ElexData, view: Restored) -> dag.AgGrid:
    """The table of all rated models: rows come from the server a block at a time (the infinite
    row model), sorted and filtered there."""
    rating = state.rate(data, view.task, view.settings)
    return dag.AgGrid(
        id=TABLE, rowModelType="infinite", columnDefs=grid.column_defs(rating), getRowId="params.data.id + ''",
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "floatingFilter": True,
                       "minWidth": 80, "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions={"cacheBlockSize": grid.BLOCK_ROWS, "maxBlocksInCache": 20,
                         "maxConcurrentDatasourceRequests": 1,  # one answer per request: dash-ag-grid keeps one
                         "infiniteInitialRowCount": 1, "rowBuffer": 5, "tooltipShowDelay": 400, "rowHeight": 30,
                         "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "ensureDomOrder": True, "suppressColumnVirtualisation": True},  # ≤ 25 columns
        className="elex-grid", style={"height": "470px", "width": "100%"})


def build_page(data: ElexData, view: Restored) -> list:
    """The page's body as ``view`` (a link's, or the defaults) opens it."""
    x, y = axis_defaults(view.task, view.x, view.y)
    detail = html.Div([
        html.Img(id=LABEL, alt="energy label of the selected model (click to zoom)", className="elex-label",
                 title="click to zoom", n_clicks=0),
        html.Div([
            html.Div(id=SUMMARY, className="elex-summary", children=EMPTY_SUMMARY),
            html.Div(pinned_view(view.selected), id=PINNED, className="elex-pinned"),
            html.Div([html.Button("Label PDF", id=GET_LABEL, className="elex-button"),
                      html.Button("Summary JSON", id=GET_SUMMARY, className="elex-button elex-secondary"),
                      html.Button("Merged log", id=GET_LOG, className="elex-button elex-secondary")],
                     className="elex-buttons"),
            html.Div(id=DETAIL_MESSAGE, role="status", className="elex-message"),
        ], className="elex-detail-text"),
    ], className="elex-detail")
    return [
        dcc.Store(id=SETTINGS, storage_type="memory", data=view.settings),
        dcc.Store(id=SELECTED, storage_type="memory", data=view.selected),  # pinned by a click: what downloads use
        dcc.Store(id=PREVIEW, storage_type="memory"),  # under the pointer: shown, never downloaded
        dcc.Store(id=GRID_REFRESHED, storage_type="memory"),
        dcc.Store(id=GRID_COLUMNS, storage_type="memory",
                  data=grid.columns_key(state.rate(data, view.task, view.settings))),
        dcc.Download(id=DOWNLOAD), dcc.Download(id=DOWNLOAD_SETTINGS),
        html.Div([
            _controls(data, view, x, y),
            html.Main([
                _link_bar(view),
                dcc.Graph(id=SCATTER, className="elex-scatter", clear_on_unhover=True,
                          config={"displaylogo": False,
                                  "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}),
                html.Div([dcc.Graph(id=BARS, className="elex-bars", config={"displayModeBar": False}), detail],
                         className="elex-row"),
                html.H2("All rated models", className="elex-h2", id="elex-table-title"),
                html.P("Sort by a column's header (shift-click for several), filter in the row under it "
                       "(numbers in the unit its header's tooltip names); a click on a row pins the model.",
                       className="elex-small elex-grid-hint"),
                grid_component(data, view),
            ], className="elex-main"),
        ], className="elex-body"),
    ]


NO_REFERENCE_MODEL = "none: the best of each environment"  # a task that names no reference model
