"""ELEx callbacks: thin wrappers that read the session's store, call the pure functions of
``state`` and ``figures``, and write components. ``data`` is closed over and only ever read.
"""
from __future__ import annotations

import io
import json
import re
import zipfile

from dash import Input, Output, State, ctx, dcc, no_update

from mlel.labels import EnergyLabel
from mlel.settings import SettingsError
from mlel.elex import figures, session, sliders, state
from mlel.elex import table as rated_table
from mlel.elex import layout as ids
from mlel.elex.state import ElexData


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def label_source(summary: dict) -> tuple[str | None, str]:
    """(image src, note) of the selected model's label; no image and a note where it cannot be
    drawn (a label that cannot be drawn must not break the page)."""
    try:
        return EnergyLabel(summary).data_uri(), ""
    except Exception as error:  # noqa: BLE001 - any renderer failure becomes a message
        return None, f"label could not be drawn: {error}"


def label_pdf(summary: dict) -> bytes:
    pdf = EnergyLabel(summary).to_pdf()
    return pdf if isinstance(pdf, bytes) else bytes(pdf)


def settings_outputs(data: ElexData, settings: dict, task: str, x: str, y: str) -> tuple:
    """Slider properties and weights shown for the chosen axes, from the settings."""
    rating = state.rate(data, task, settings)
    out = []
    for metric in (x, y):
        spec = sliders.slider_spec(rating, metric)
        out += [spec.min, spec.max, spec.step, spec.marks, spec.value]
    weights = settings["weights"][task]
    return (*out, weights.get(x, 0.0), weights.get(y, 0.0))


def apply_event(data: ElexData, settings: dict, trigger: str | None, task: str, values: dict) -> tuple[dict, str]:
    """One control change -> (new settings, message). Errors leave the settings unchanged."""
    try:
        if trigger == ids.REFERENCE and values["reference"]:
            return session.set_reference(settings, values["reference"]), ""
        if trigger == ids.MODE and values["mode"]:
            return session.set_mode(settings, values["mode"]), ""
        if trigger in (ids.X_BOUNDS, ids.Y_BOUNDS):
            metric = values["x"] if trigger == ids.X_BOUNDS else values["y"]
            slider = values["x_bounds"] if trigger == ids.X_BOUNDS else values["y_bounds"]
            if not slider or len(slider) != 4:
                return settings, ""
            spec = sliders.slider_spec(state.rate(data, task, settings), metric)
            current = settings["boundaries"][task].get(metric, [1.0] * 4)
            bounds = sliders.bounds_from_slider(slider, current, spec)
            return session.set_boundaries(settings, task, metric, bounds), ""
        if trigger in (ids.X_WEIGHT, ids.Y_WEIGHT):
            metric = values["x"] if trigger == ids.X_WEIGHT else values["y"]
            weight = values["x_weight"] if trigger == ids.X_WEIGHT else values["y_weight"]
            return session.set_weight(settings, task, metric, weight), ""
        if trigger == ids.CALIBRATE:
            return session.calibrate(settings, data, task), f"boundaries of {task} calibrated (quantiles)"
        if trigger == ids.RESET:
            return session.reset(settings, data), "default boundaries and weights restored"
        if trigger == ids.UPLOAD_BOUNDARIES and values["boundaries_file"]:
            content = session.decode_upload(values["boundaries_file"], values["boundaries_name"])
            return session.apply_boundaries_upload(settings, content), f"boundaries loaded from {values['boundaries_name']}"
        if trigger == ids.UPLOAD_WEIGHTS and values["weights_file"]:
            content = session.decode_upload(values["weights_file"], values["weights_name"])
            return session.apply_weights_upload(settings, content), f"weights loaded from {values['weights_name']}"
    except (SettingsError, ValueError) as error:
        return settings, f"Error: {error} — nothing was changed."
    return settings, ""


def register_callbacks(app, data: ElexData) -> None:
    """Wire every ELEx callback to ``data`` (closed over, only ever read)."""
    _register_settings(app, data)
    _register_views(app, data)
    _register_details(app, data)


def _register_settings(app, data: ElexData) -> None:

    @app.callback(
        Output(ids.ENVIRONMENTS, "options"), Output(ids.ENVIRONMENTS, "value"),
        Output(ids.X, "options"), Output(ids.X, "value"), Output(ids.Y, "options"), Output(ids.Y, "value"),
        Output(ids.REFERENCE, "options"), Output(ids.REFERENCE, "value"),
        Input(ids.TASK, "value"), State(ids.X, "value"), State(ids.Y, "value"), State(ids.REFERENCE, "value"),
        prevent_initial_call=True)
    def on_task(task, x, y, reference):
        table = data.table(task)
        x, y = ids.axis_defaults(task, x, y)
        models = table.model_names
        if reference not in models:
            reference = session.default_settings(data)["reference"]
            reference = reference if reference in models else models[0]
        environments = list(table.environments)
        return (environments, environments, ids.metric_options(task), x, ids.metric_options(task), y,
                models, reference)

    slider_props = ("min", "max", "step", "marks", "value")

    @app.callback(
        Output(ids.SETTINGS, "data"),
        *[Output(ids.X_BOUNDS, p) for p in slider_props], *[Output(ids.Y_BOUNDS, p) for p in slider_props],
        Output(ids.X_WEIGHT, "value"), Output(ids.Y_WEIGHT, "value"),
        Output(ids.MESSAGE, "children"),
        Output(ids.UPLOAD_BOUNDARIES, "contents"), Output(ids.UPLOAD_WEIGHTS, "contents"),
        Input(ids.TASK, "value"), Input(ids.REFERENCE, "value"), Input(ids.MODE, "value"),
        Input(ids.X, "value"), Input(ids.Y, "value"),
        Input(ids.X_BOUNDS, "value"), Input(ids.Y_BOUNDS, "value"),
        Input(ids.X_WEIGHT, "value"), Input(ids.Y_WEIGHT, "value"),
        Input(ids.CALIBRATE, "n_clicks"), Input(ids.RESET, "n_clicks"),
        Input(ids.UPLOAD_BOUNDARIES, "contents"), Input(ids.UPLOAD_WEIGHTS, "contents"),
        State(ids.UPLOAD_BOUNDARIES, "filename"), State(ids.UPLOAD_WEIGHTS, "filename"),
        State(ids.SETTINGS, "data"))
    def on_settings(task, reference, mode, x, y, x_bounds, y_bounds, x_weight, y_weight, _calibrate, _reset,
                    boundaries_file, weights_file, boundaries_name, weights_name, stored):
        settings = session.clean_settings(stored, data)
        values = dict(reference=reference, mode=mode, x=x, y=y, x_bounds=x_bounds, y_bounds=y_bounds,
                      x_weight=x_weight, y_weight=y_weight, boundaries_file=boundaries_file,
                      boundaries_name=boundaries_name, weights_file=weights_file, weights_name=weights_name)
        trigger = ctx.triggered_id
        new, message = apply_event(data, settings, trigger, task, values)
        uploads = (None if boundaries_file else no_update, None if weights_file else no_update)
        if trigger in (ids.X_BOUNDS, ids.Y_BOUNDS) and not message:
            # the user is holding the slider: echoing its value back would fight the drag
            return (new, *[no_update] * 12, message, *uploads)
        if trigger in (ids.X_WEIGHT, ids.Y_WEIGHT) and not message:
            return (new, *[no_update] * 12, message, *uploads)
        return (new, *settings_outputs(data, new, task, x, y), message or "", *uploads)


def _register_views(app, data: ElexData) -> None:
    @app.callback(
        Output(ids.SCATTER, "figure"), Output(ids.BARS, "figure"),
        Output(ids.X_BOUNDS_TEXT, "children"), Output(ids.Y_BOUNDS_TEXT, "children"),
        Input(ids.SETTINGS, "data"), Input(ids.ENVIRONMENTS, "value"), Input(ids.X, "value"),
        Input(ids.Y, "value"), Input(ids.SCALE, "value"), Input(ids.SELECTED, "data"),
        State(ids.TASK, "value"))
    def on_views(stored, environments, x, y, scale, selected, task):
        settings = session.clean_settings(stored, data)
        return views(data, settings, task, environments or [], x, y, scale, selected)

    @app.callback(
        Output(ids.TABLE, "data"), Output(ids.TABLE, "columns"), Output(ids.TABLE, "style_data_conditional"),
        Output(ids.TABLE, "page_count"),
        Input(ids.SETTINGS, "data"), Input(ids.TABLE, "page_current"), Input(ids.TABLE, "page_size"),
        Input(ids.TABLE, "sort_by"), Input(ids.TABLE, "filter_query"), State(ids.TASK, "value"))
    def on_table(stored, page, size, sort_by, filter_query, task):
        rating = state.rate(data, task, session.clean_settings(stored, data))
        rows, pages = rated_table.table_page(rating, page, size, sort_by, filter_query)
        return rows, rated_table.table_columns(rating), rated_table.rating_cell_styles(rating), pages

    @app.callback(
        Output(ids.SELECTED, "data"),
        Input(ids.SCATTER, "clickData"), Input(ids.SCATTER, "hoverData"), Input(ids.TABLE, "active_cell"),
        State(ids.TASK, "value"), State(ids.SELECTED, "data"), prevent_initial_call=True)
    def on_select(click, hover, cell, task, current):
        row = None
        if ctx.triggered_id == ids.SCATTER:
            point = (click if f"{ids.SCATTER}.clickData" in ctx.triggered_prop_ids else hover) or {}
            points = point.get("points") or [{}]
            row = points[0].get("customdata")
        elif ctx.triggered_id == ids.TABLE and cell:
            row = cell.get("row_id")
        selected = selection(data, task, row)
        return no_update if selected is None or selected == current else selected


def _register_details(app, data: ElexData) -> None:
    @app.callback(
        Output(ids.LABEL, "src"), Output(ids.SUMMARY, "children"), Output(ids.DETAIL_MESSAGE, "children"),
        Input(ids.SELECTED, "data"), Input(ids.SETTINGS, "data"), prevent_initial_call=True)
    def on_detail(selected, stored):
        summary = selected_summary(data, session.clean_settings(stored, data), selected)
        if summary is None:
            return no_update, no_update, ""
        src, note = label_source(summary)
        return src, ids.summary_view(summary), note

    @app.callback(
        Output(ids.DOWNLOAD, "data"), Output(ids.DETAIL_MESSAGE, "children", allow_duplicate=True),
        Input(ids.GET_LABEL, "n_clicks"), Input(ids.GET_SUMMARY, "n_clicks"), Input(ids.GET_LOG, "n_clicks"),
        State(ids.SELECTED, "data"), State(ids.SETTINGS, "data"), prevent_initial_call=True)
    def on_download(_label, _summary, _log, selected, stored):
        summary = selected_summary(data, session.clean_settings(stored, data), selected)
        if summary is None:
            return no_update, "Select a model first (hover over or click a point)."
        try:
            return download(data, summary, ctx.triggered_id), ""
        except (OSError, RuntimeError, ValueError) as error:
            return no_update, f"Error: {error}"

    @app.callback(
        Output(ids.DOWNLOAD_SETTINGS, "data"),
        Input(ids.SAVE_BOUNDARIES, "n_clicks"), Input(ids.SAVE_WEIGHTS, "n_clicks"),
        State(ids.SETTINGS, "data"), prevent_initial_call=True)
    def on_save(_boundaries, _weights, stored):
        settings = session.clean_settings(stored, data)
        if ctx.triggered_id == ids.SAVE_BOUNDARIES:
            return dcc.send_string(json.dumps(session.boundaries_file(settings), indent=2), "boundaries.json")
        return dcc.send_string(json.dumps(session.weights_file(settings), indent=2), "weights.json")


# --- helpers the callbacks (and the bench) call --------------------------------------------------


def bounds_text(boundaries: dict, metric: str) -> str:
    bounds = boundaries.get(metric)
    if not bounds:
        return "no boundaries: every model rates E"
    return "  ".join(f"b{i} {b:.4g}" for i, b in enumerate(bounds))


def views(data: ElexData, settings: dict, task: str, environments: list, x: str, y: str, scale: str,
          selected: dict | None = None) -> tuple:
    """Scatter, bars and the boundary read-outs for one session: the slider-move path."""
    rating = state.rate(data, task, settings)
    marked = (selected["environment"], selected["model"]) if selected and selected.get("task") == task else None
    scatter = figures.scatter_figure(rating, x, y, environments, scale, marked)
    counts = state.rating_counts(rating, figures.selected_rows(rating, environments))
    counts = {env: c for env, c in counts.items() if env in set(environments)}  # the chosen ones only
    return (scatter, figures.bar_figure(counts), bounds_text(rating.boundaries, x),
            bounds_text(rating.boundaries, y))


def selection(data: ElexData, task: str, row) -> dict | None:
    """A row number from a click or the table -> {task, environment, model}; None if not valid."""
    if not isinstance(task, str) or task not in data.tables or isinstance(row, bool) \
            or not isinstance(row, (int, float)):
        return None
    table = data.table(task)
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
    stem = _safe(f"{summary['model']}_{summary['task']}_{summary['environment']}")
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


__all__ = ["register_callbacks", "views", "selection", "selected_summary", "download", "apply_event",
           "settings_outputs", "label_source"]
