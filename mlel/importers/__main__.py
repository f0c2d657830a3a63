"""``python -m mlel.importers``: see :mod:`mlel.importers.cli`."""
from mlel.importers.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
