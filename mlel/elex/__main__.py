"""``python -m mlel.elex`` (also ``mlee-elex`` and ``elex.py``): serve ELEx over a results directory.

Binds 127.0.0.1 by default (``--host 0.0.0.0`` to share on a network) and never runs Dash's debug
mode. For a public URL use a production WSGI server over ``elex:server`` (see elex.py).
"""
from __future__ import annotations

import argparse
import sys

from mlel.errors import EXIT_CODES_EPILOG, EXIT_FAILED, EXIT_OK


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="ELEx: interactive Energy Label Exploration.",
                                     epilog=EXIT_CODES_EPILOG)
    parser.add_argument("-d", "--directory", default="results",
                        help="directory of merged logs (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=int, default=8888, help="port (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = build_parser(prog).parse_args(argv)
    from mlel.elex import create_app

    try:
        app = create_app(args.directory)
    except (OSError, ValueError) as error:
        print(f"{prog or 'elex'}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"ELEx serving {args.directory} at http://{args.host}:{args.port}/", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=False)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(prog="python -m mlel.elex"))
