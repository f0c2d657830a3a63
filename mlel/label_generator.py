"""``python -m mlel.label_generator`` (``mlee-label``): the energy label of one merged log or record.
The code lives in :mod:`mlel.labels.cli`; this name stays for the documented command and imports."""
import sys

from mlel.labels.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
