"""``python -m mlel.ratings``: the command line of :mod:`mlel.ratings.cli`.

The library is the package ``mlel.ratings`` itself; this entry only calls the CLI, so running it
executes every module once (no ``__main__`` twin of the library). The process is the command's own
and ends when its output is written: the cyclic collector is off for it (:mod:`mlel.base.bulk`).
"""
import sys

from mlel.base.bulk import collector_off_for_this_command
from mlel.ratings.cli import ratings_main


def main() -> None:
    collector_off_for_this_command()
    sys.exit(ratings_main(exit_at_once=True))


if __name__ == "__main__":
    main()
