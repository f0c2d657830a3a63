#!/usr/bin/env python
"""Merge run folders into one JSON log each (SPEC §3): see mlel/merge.py. The same tool as
``mlee-merge``.

    python merge_results.py --directory RUNS --output-dir results [--train-dirs DIR]
                            [--output-log-dir DIR] [--force]
"""
import sys

from mlel.runlog.merge import main

if __name__ == "__main__":
    sys.exit(main())
