"""Merge run folders into one JSON log each (SPEC §3): see mlel/merge.py.

    python merge_results.py --directory RUNS --output-dir results [--train-dirs DIR]
                            [--output-log-dir DIR] [--force]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mlel.merge import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
