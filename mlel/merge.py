"""``python -m mlel.merge`` (``merge_results.py``, ``mlee-merge``): run folders -> merged logs.
The code lives in :mod:`mlel.runlog.merge`; this name stays for the documented command and imports."""
import sys

from mlel.runlog.merge import main, merge_directory, merge_run_folder

__all__ = ["main", "merge_directory", "merge_run_folder"]

if __name__ == "__main__":
    sys.exit(main())
