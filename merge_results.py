#!/usr/bin/env python
"""Merge run folders into one JSON log each (SPEC §3): see mlel/merge.py. The same tool as
``mlee-merge``.

    python merge_results.py --directory RUNS --output-dir results [--train-dirs DIR]
                            [--output-log-dir DIR] [--force]
"""
import sys

try:  # Ctrl-C while the libraries load: the one line and 130 that main gives once it runs
    from mlel.runlog.merge import main
except KeyboardInterrupt:
    print("merge_results.py: interrupted (SIGINT) while starting: nothing written", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(main())
