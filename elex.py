"""ELEx — explore rated results and their energy labels in the browser.

    python elex.py [--directory results] [--host 127.0.0.1] [--port 8888]

Binds 127.0.0.1 by default (``--host 0.0.0.0`` to share on a network) and never runs Dash's debug
mode. For a public URL use a production WSGI server; the directory comes from ``ELEX_DIRECTORY``:

    ELEX_DIRECTORY=results gunicorn --workers 2 --bind 0.0.0.0:8888 elex:server

Each browser session keeps its own boundaries, weights, mode and reference, so workers and users
never share settings.
"""
from __future__ import annotations

import argparse
import os
import sys


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ELEx: interactive Energy Label Exploration.")
    parser.add_argument("--directory", default="results", help="directory of merged logs (default: results)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8888, help="port (default: 8888)")
    args = parser.parse_args(argv)
    from mlel.elex import create_app

    try:
        app = create_app(args.directory)
    except (OSError, ValueError) as error:
        print(f"elex.py: {error}", file=sys.stderr)
        return 1
    print(f"ELEx serving {args.directory} at http://{args.host}:{args.port}/", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
