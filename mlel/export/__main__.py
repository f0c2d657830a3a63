"""``python -m mlel.export``: the command line of :mod:`mlel.export.cli`."""
import sys

from mlel.export.cli import main

if __name__ == "__main__":
    sys.exit(main())
