"""ELEx application factory: ``create_app(directory_or_summaries)`` -> a Dash app.

The rated data is loaded once and shared read-only; everything a user changes lives in that
user's browser (``dcc.Store``) and in the page's URL (a link to the view), so one server can serve
many people tuning at once.
"""
from __future__ import annotations

from pathlib import Path

from dash import Dash, html

from mlel.elex import link
from mlel.elex.callbacks import register_callbacks
from mlel.elex.layout import build_layout, build_page
from mlel.elex.session import MAX_UPLOAD_BYTES
from mlel.elex.state import ElexData

ASSETS = Path(__file__).with_name("assets")
# Every request body (callback inputs, uploads) is small; refuse anything far larger.
MAX_REQUEST_BYTES = 4 * MAX_UPLOAD_BYTES + 256 * 1024


def create_app(source, title: str = "ELEx — Energy Label Exploration") -> Dash:
    """A Dash app over ``source``: a directory of merged logs, or a list of RunLog records,
    aggregated results or rated summaries (see :meth:`ElexData.load`)."""
    data = source if isinstance(source, ElexData) else ElexData.load(source)
    if not data.tasks:
        raise ValueError(f"nothing to explore: no rated results in {source!s:.200}"
                         + (f" ({len(data.problems)} file(s) skipped)" if data.problems else ""))
    app = Dash(__name__, title=title, assets_folder=str(ASSETS), update_title=None,
               serve_locally=True)
    app.layout = build_layout(data)
    # the body is made per page load from the URL: Dash checks callbacks against the whole page
    app.validation_layout = html.Div([build_layout(data), *build_page(data, link.defaults(data))])
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)
    register_callbacks(app, data)
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    return app
