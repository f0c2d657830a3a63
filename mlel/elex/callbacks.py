"""ELEx callbacks: thin wrappers that check what the browser sent, read the session's store, call
the functions of :mod:`mlel.elex.actions`, and write components. ``data`` is closed over and only
ever read.

Everything a callback receives is client data and may be forged: each callback checks the values
it uses, and :func:`guarded` turns anything it still cannot handle into "no update" (HTTP 204,
logged), never a server error.
"""
from __future__ import annotations

import functools
import json
import logging

from dash import ClientsideFunction, Input, Output, State, ctx, dcc, no_update
from dash.exceptions import PreventUpdate

from mlel.elex import actions, figures, grid, link, session, state
from mlel.elex import layout as ids
from mlel.elex.actions import (apply_event, bound_inputs, bounds_text, download, label_pdf,  # noqa: F401
                               label_source, selected_summary, selection, settings_outputs, views)
from mlel.elex.state import ElexData

LOG = logging.getLogger("mlel.elex")


def guarded(callback):
    """Run ``callback``; input it cannot handle means no update (logged), never an HTTP 500."""
    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except PreventUpdate:
            raise
        except Exception:  # noqa: BLE001 - the boundary of client input
            LOG.warning("ELEx %s: input refused", callback.__name__, exc_info=True)
            raise PreventUpdate from None
    return run


def checked_task(data: ElexData, task) -> str:
    if not isinstance(task, str) or task not in data.tables:
        raise PreventUpdate
    return task


def checked_axes(data: ElexData, task: str, *metrics) -> None:
    keys = data.table(task).metrics
    if any(not isinstance(m, str) or m not in keys for m in metrics):
        raise PreventUpdate


def checked_environments(data: ElexData, task: str, environments) -> list[str]:
    if environments is None:
        return []
    if not isinstance(environments, list) or any(not isinstance(e, str) for e in environments):
        raise PreventUpdate
    known = set(data.table(task).environments)
    return [e for e in environments if e in known]


def register_callbacks(app, data: ElexData) -> None:
    """Wire every ELEx callback to ``data`` (closed over, only ever read)."""
    _register_link(app, data)
    _register_task(app, data)
    _register_settings(app, data)
    _register_views(app, data)
    _register_details(app, data)


def _register_link(app, data: ElexData) -> None:
    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "search"), State(ids.PAGE, "children"))
    def on_open(search, shown):
        """Once per page load: the page the URL's view names (the defaults, and a note, for
        whatever part of it this server does not have)."""
        if shown:
            raise PreventUpdate  # the address bar follows the view from now on; it never re-opens it
        try:
            return ids.build_page(data, link.restore(data, search if isinstance(search, str) else None))
        except Exception:  # noqa: BLE001 - a link is client input: the defaults, never an error page
            LOG.warning("ELEx: link refused", exc_info=True)
            return ids.build_page(data, link.defaults(data, ["the link could not be read: the default view is shown"]))

    @app.callback(
        Output(ids.LINK, "data"),
        Input(ids.TASK, "value"), Input(ids.ENVIRONMENTS, "value"), Input(ids.X, "value"), Input(ids.Y, "value"),
        Input(ids.SCALE, "value"), Input(ids.SETTINGS, "data"), Input(ids.SELECTED, "data"))
    @guarded
    def on_link(task, environments, x, y, scale, stored, selected):
        """The view as a query string (the client writes it into the address bar and the link field)."""
        task = checked_task(data, task)
        checked_axes(data, task, x, y)
        settings = session.clean_settings(stored, data)
        view = link.view_of(data, settings, task, checked_environments(data, task, environments), x, y,
                            scale, selected)
        return link.encode(view)

    app.clientside_callback(ClientsideFunction("elex", "showLink"), Output(ids.LINK_TEXT, "value"),
                            Input(ids.LINK, "data"))


def _register_task(app, data: ElexData) -> None:
    @app.callback(
        Output(ids.ENVIRONMENTS, "options"), Output(ids.ENVIRONMENTS, "value"),
        Output(ids.X, "options"), Output(ids.X, "value"), Output(ids.Y, "options"), Output(ids.Y, "value"),
        Output(ids.REFERENCE, "options"),
        Output(ids.SELECTED, "data", allow_duplicate=True), Output(ids.PREVIEW, "data", allow_duplicate=True),
        Input(ids.TASK, "value"), State(ids.X, "value"), State(ids.Y, "value"), prevent_initial_call=True)
    @guarded
    def on_task(task, x, y):
        """A new task: its environments, axes and models; the pinned model (of another task) let go."""
        table = data.table(checked_task(data, task))
        x, y = ids.axis_defaults(task, x, y)
        models = table.reference_models  # --reference names a model, not an entry
        return (ids.environment_options(table), list(table.environments), ids.metric_options(task), x,
                ids.metric_options(task), y, models, None, None)


def _register_settings(app, data: ElexData) -> None:
    slider_props = ("min", "max", "step", "marks", "value")

    @app.callback(
        Output(ids.SETTINGS, "data"),
        *[Output(ids.X_BOUNDS, p) for p in slider_props], *[Output(ids.Y_BOUNDS, p) for p in slider_props],
        Output(ids.X_WEIGHT, "value"), Output(ids.Y_WEIGHT, "value"),
        *[Output(i, "value") for i in ids.BOUND_INPUTS],
        Output(ids.MESSAGE, "children"),
        Output(ids.UPLOAD_BOUNDARIES, "contents"), Output(ids.UPLOAD_WEIGHTS, "contents"),
        Output(ids.REFERENCE, "value"), Output(ids.RATING_SCALE, "value"), Output(ids.MODE, "value"),
        Input(ids.TASK, "value"), Input(ids.SCHEME, "value"), Input(ids.REFERENCE, "value"), Input(ids.MODE, "value"),
        Input(ids.RATING_SCALE, "value"), Input(ids.X, "value"), Input(ids.Y, "value"),
        Input(ids.X_BOUNDS, "value"), Input(ids.Y_BOUNDS, "value"),
        Input(ids.X_WEIGHT, "value"), Input(ids.Y_WEIGHT, "value"),
        *[Input(i, "value") for i in ids.BOUND_INPUTS],
        Input(ids.CALIBRATE, "n_clicks"), Input(ids.RESET, "n_clicks"),
        Input(ids.UPLOAD_BOUNDARIES, "contents"), Input(ids.UPLOAD_WEIGHTS, "contents"),
        State(ids.UPLOAD_BOUNDARIES, "filename"), State(ids.UPLOAD_WEIGHTS, "filename"),
        State(ids.SETTINGS, "data"))
    @guarded
    def on_settings(task, scheme, reference, mode, rating_scale, x, y, x_bounds, y_bounds, x_weight, y_weight,
                    *rest):
        typed = dict(zip(ids.BOUND_INPUTS, rest[:8]))
        _calibrate, _reset, boundaries_file, weights_file, boundaries_name, weights_name, stored = rest[8:]
        task = checked_task(data, task)
        checked_axes(data, task, x, y)
        settings = session.clean_settings(stored, data)
        triggered = {str(prop).split(".")[0] for prop in (ctx.triggered_prop_ids or {})}
        if ids.TASK in triggered:  # a new task: its own reference, the scheme's scale
            settings = session.for_task(settings, task)
        if reference is not None and reference not in data.table(task).reference_models:
            reference = None  # another task's, or forged: the task's own
        values = dict(scheme=scheme if isinstance(scheme, str) else None, reference=reference, mode=mode,
                      scale=rating_scale, x=x, y=y, x_bounds=x_bounds, y_bounds=y_bounds,
                      x_weight=x_weight, y_weight=y_weight, boundaries_file=boundaries_file,
                      boundaries_name=boundaries_name, weights_file=weights_file, weights_name=weights_name,
                      bound_inputs=typed)
        trigger = None if ids.TASK in triggered else ctx.triggered_id
        new, message = apply_event(data, settings, trigger, task, values)
        uploads = (None if boundaries_file else no_update, None if weights_file else no_update)
        if trigger in (ids.X_BOUNDS, ids.Y_BOUNDS) and not message:
            # the user is holding the slider: echoing its value back would fight the drag
            return (new, *[no_update] * 12, *bound_inputs(new["boundaries"][task], x, y), message, *uploads,
                    *[no_update] * 3)
        if trigger in (ids.X_WEIGHT, ids.Y_WEIGHT) and not message:
            return (new, *[no_update] * 20, message, *uploads, *[no_update] * 3)
        return (new, *settings_outputs(data, new, task, x, y), message or "", *uploads,
                *actions.control_values(data, new, task))


def _register_views(app, data: ElexData) -> None:
    @app.callback(
        Output(ids.SCATTER, "figure"), Output(ids.BARS, "figure"),
        Output(ids.X_BOUNDS_TEXT, "children"), Output(ids.Y_BOUNDS_TEXT, "children"),
        Input(ids.SETTINGS, "data"), Input(ids.ENVIRONMENTS, "value"), Input(ids.X, "value"),
        Input(ids.Y, "value"), Input(ids.SCALE, "value"), Input(ids.SELECTED, "data"),
        State(ids.TASK, "value"))
    @guarded
    def on_views(stored, environments, x, y, scale, selected, task):
        task = checked_task(data, task)
        checked_axes(data, task, x, y)
        if scale not in figures.SCALES:
            raise PreventUpdate
        settings = session.clean_settings(stored, data)
        return views(data, settings, task, checked_environments(data, task, environments), x, y, scale, selected)

    @app.callback(
        Output(ids.TABLE, "getRowsResponse"), Input(ids.TABLE, "getRowsRequest"),
        State(ids.SETTINGS, "data"), State(ids.TASK, "value"), prevent_initial_call=True)
    @guarded
    def on_rows(request, stored, task):
        """The rows the grid asks for (one block), filtered and sorted on the server."""
        rating = state.rate(data, checked_task(data, task), session.clean_settings(stored, data))
        return grid.rows_response(rating, request)

    @app.callback(
        Output(ids.TABLE, "columnDefs"), Output(ids.GRID_COLUMNS, "data"), Input(ids.SETTINGS, "data"),
        State(ids.TASK, "value"), State(ids.GRID_COLUMNS, "data"), prevent_initial_call=True)
    @guarded
    def on_columns(stored, task, shown):
        """The task's columns, rating cells coloured by the scheme's levels: sent only when the task
        or the levels change (a slider move leaves them, and the widths a person dragged, alone)."""
        rating = state.rate(data, checked_task(data, task), session.clean_settings(stored, data))
        key = grid.columns_key(rating)
        return (no_update, no_update) if key == shown else (grid.column_defs(rating), key)

    # new settings re-rate every row: the grid asks again for the rows it shows
    app.clientside_callback(ClientsideFunction("elex", "refreshGrid"), Output(ids.GRID_REFRESHED, "data"),
                            Input(ids.SETTINGS, "data"), State(ids.TABLE, "id"), prevent_initial_call=True)

    @app.callback(
        Output(ids.SELECTED, "data"),
        Input(ids.SCATTER, "clickData"), Input(ids.TABLE, "cellClicked"), Input(ids.TABLE, "selectedRows"),
        State(ids.TASK, "value"), State(ids.SELECTED, "data"), prevent_initial_call=True)
    @guarded
    def on_pin(click, cell, rows, task, current):
        """A click on a point or a table row (or a row selected with the keyboard's space bar) pins
        the selection (hover only previews)."""
        row = None
        triggered = {str(prop) for prop in (ctx.triggered_prop_ids or {})}
        if ctx.triggered_id == ids.SCATTER and isinstance(click, dict):
            row = ((click.get("points") or [{}])[0] or {}).get("customdata")
        elif f"{ids.TABLE}.cellClicked" in triggered and isinstance(cell, dict):
            row = _row_id(cell.get("rowId"))
        elif f"{ids.TABLE}.selectedRows" in triggered and isinstance(rows, list) and rows and isinstance(rows[0], dict):
            row = _row_id(rows[0].get("id"))
        selected = selection(data, task, row)
        return no_update if selected is None or selected == current else selected

    @app.callback(
        Output(ids.PREVIEW, "data"), Input(ids.SCATTER, "hoverData"), State(ids.TASK, "value"),
        prevent_initial_call=True)
    @guarded
    def on_hover(hover, task):
        if not isinstance(hover, dict):
            return None  # the pointer left the points: show the pinned model again
        return selection(data, task, ((hover.get("points") or [{}])[0] or {}).get("customdata"))


def _row_id(value) -> int | None:
    """The grid's row id (the table row, as text) -> the row; None where it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 12 else None


def _register_details(app, data: ElexData) -> None:
    @app.callback(
        Output(ids.LABEL, "src"), Output(ids.SUMMARY, "children"), Output(ids.DETAIL_MESSAGE, "children"),
        Output(ids.PINNED, "children"),
        Input(ids.SELECTED, "data"), Input(ids.PREVIEW, "data"), Input(ids.SETTINGS, "data"),
        prevent_initial_call=True)
    @guarded
    def on_detail(selected, preview, stored):
        settings = session.clean_settings(stored, data)
        previewing = preview is not None and preview != selected
        summary = selected_summary(data, settings, preview if previewing else selected)
        if summary is None:  # nothing pinned (a new task lets the pinned model go): nothing shown
            return None, ids.EMPTY_SUMMARY, "", ids.pinned_view(selected)
        src, note = label_source(summary)
        return src, ids.summary_view(summary, preview=previewing), note, ids.pinned_view(selected)

    @app.callback(Output(ids.LABEL, "className"), Input(ids.LABEL, "n_clicks"), prevent_initial_call=True)
    @guarded
    def on_zoom(clicks):
        zoomed = isinstance(clicks, int) and clicks % 2 == 1
        return "elex-label elex-label-zoomed" if zoomed else "elex-label"

    @app.callback(
        Output(ids.DOWNLOAD, "data"), Output(ids.DETAIL_MESSAGE, "children", allow_duplicate=True),
        Input(ids.GET_LABEL, "n_clicks"), Input(ids.GET_SUMMARY, "n_clicks"), Input(ids.GET_LOG, "n_clicks"),
        State(ids.SELECTED, "data"), State(ids.SETTINGS, "data"), prevent_initial_call=True)
    @guarded
    def on_download(_label, _summary, _log, selected, stored):
        summary = selected_summary(data, session.clean_settings(stored, data), selected)
        if summary is None:
            return no_update, "Pin a model first: click a point or a table row."
        try:
            return download(data, summary, ctx.triggered_id), ""
        except (OSError, RuntimeError, ValueError) as error:
            return no_update, f"Error: {error}"

    @app.callback(
        Output(ids.DOWNLOAD_SETTINGS, "data"),
        Input(ids.SAVE_BOUNDARIES, "n_clicks"), Input(ids.SAVE_WEIGHTS, "n_clicks"),
        State(ids.SETTINGS, "data"), prevent_initial_call=True)
    @guarded
    def on_save(_boundaries, _weights, stored):
        settings = session.clean_settings(stored, data)
        if ctx.triggered_id == ids.SAVE_BOUNDARIES:
            return dcc.send_string(json.dumps(session.boundaries_file(settings, data), indent=2), "boundaries.json")
        return dcc.send_string(json.dumps(session.weights_file(settings), indent=2), "weights.json")


__all__ = ["register_callbacks", "guarded", "views", "selection", "selected_summary", "download", "apply_event",
           "settings_outputs", "label_source", "label_pdf", "actions"]
