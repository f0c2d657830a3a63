"""Regenerate the paper's tables and figures: a shim for ``python -m mlel.paper`` (see --help).

    python create_paper_results.py [-d results] [--output-dir paper_results] [-r ResNet101]
"""
import sys

from mlel.paper.outputs import main

if __name__ == "__main__":
    sys.exit(main())
