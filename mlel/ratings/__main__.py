"""``python -m mlel.ratings``: the command line of :mod:`mlel.ratings.cli`.

The library is the package ``mlel.ratings`` itself; this entry only calls the CLI, so running it
executes every module once (no ``__main__`` twin of the library).
"""
import sys

from mlel.ratings.cli import ratings_main

sys.exit(ratings_main(exit_at_once=True))
