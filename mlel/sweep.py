"""``python -m mlel.sweep`` (``mlee-sweep``): a grid of experiments, then merge.
The code lives in :mod:`mlel.apps.sweep`; this name stays for the documented command and imports."""
import sys

from mlel.apps.sweep import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
