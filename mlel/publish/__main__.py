"""``python -m mlel.publish``: see :mod:`mlel.publish.cli`."""
import sys

from mlel.publish.cli import main

if __name__ == "__main__":
    sys.exit(main())
