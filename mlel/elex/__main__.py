"""``python -m mlel.elex`` (also ``mlee-elex`` and ``elex.py``): serve ELEx over a results directory.

Binds 127.0.0.1 by default (``--host 0.0.0.0`` to share on a network) and never runs Dash's debug
mode. For a public URL use a production WSGI server over ``elex:server`` (see elex.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlel.base.errors import EXIT_CODES_EPILOG, EXIT_FAILED, EXIT_OK


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="ELEx: interactive Energy Label Exploration.",
                                     epilog=f"{HOW_TO_GET_RESULTS}\n\n{EXIT_CODES_EPILOG}",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--directory", default="results",
                        help="directory of merged logs or result records (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=int, default=8888, help="port (default: %(default)s)")
    return parser


HOW_TO_GET_RESULTS = """\
To get results to explore:
  make demo                  measure two models, merge and rate them (writes demo_output/results/;
                             then: python elex.py -d demo_output/results)
  python infer.py --model MobileNetV3Small --backend torch --dataset digits   measure a run (writes runs/)
  python merge_results.py -d runs --output-dir results      merge your own measured runs
  python -m mlel.importers mlenergy DIR --output-dir results  import published results (also: codecarbon,
                                                              mlflow, csv; see python -m mlel.importers -h)
Then: python elex.py -d results (or -d any folder of merged logs or result records)."""


def no_results_message(directory: str, why: str) -> str:
    """What to say when there is nothing to explore: why, then how to get results."""
    return f"no results to explore in '{directory}': {why}.\n{HOW_TO_GET_RESULTS}"


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = build_parser(prog).parse_args(argv)
    name = prog or "elex"
    directory = Path(args.directory)
    if not directory.is_dir():
        why = "it is a file, not a directory" if directory.exists() else "no such directory"
        print(f"{name}: {no_results_message(args.directory, why)}", file=sys.stderr)
        return EXIT_FAILED
    from mlel.elex import create_app

    try:
        app = create_app(args.directory)
    except (OSError, ValueError) as error:
        print(f"{name}: {no_results_message(args.directory, str(error))}", file=sys.stderr)
        return EXIT_FAILED
    print(f"ELEx serving {args.directory} at http://{args.host}:{args.port}/", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=False)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(prog="python -m mlel.elex"))
