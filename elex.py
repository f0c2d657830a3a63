"""ELEx — explore rated results and their energy labels in the browser (see mlel/elex/__main__.py).

    python elex.py [--directory results] [--host 127.0.0.1] [--port 8888]
    (the same tool as ``python -m mlel.elex`` and ``mlee-elex``)

For a public URL use a production WSGI server; the directory comes from ``ELEX_DIRECTORY``:

    ELEX_DIRECTORY=results gunicorn --workers 2 --bind 0.0.0.0:8888 elex:server

Each browser session keeps its own boundaries, weights, mode and reference, so workers and users
never share settings.
"""
from __future__ import annotations

import os
import sys

from mlel.elex.__main__ import main

__all__ = ["create_server", "main"]


def create_server(directory: str | None = None):
    """The Flask server of an ELEx app over ``directory`` (default: $ELEX_DIRECTORY or results)."""
    from mlel.elex import create_app

    return create_app(directory or os.environ.get("ELEX_DIRECTORY", "results")).server


def __getattr__(name: str):
    # `gunicorn elex:server` asks for the attribute; `python elex.py` and tests never build it
    if name == "server":
        server = create_server()
        globals()["server"] = server  # build once per process; the app itself is read-only
        return server
    raise AttributeError(name)


if __name__ == "__main__":
    sys.exit(main(prog="elex.py"))
