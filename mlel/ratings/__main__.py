"""``python -m mlel.ratings`` (and ``mlee-ratings``): the command line of :mod:`mlel.ratings.cli`.

The library is the package ``mlel.ratings`` itself; this entry only calls the CLI, so running it
executes every module once (no ``__main__`` twin of the library).

This process is the command's own and ends when its output is written, so it turns the cyclic
garbage collector off: reading and rating 20,000 logs builds millions of records, none in a
reference cycle, and the collector would walk them again and again (about half the CPU time of
pooling, rating and writing). Reference counting frees everything without it. Only a command's
main may make that choice; no library function, server callback or ELEx session ever does
(``tests/test_bulk.py``), since their caller may be a notebook, a threaded server or a pre-fork
server that froze its heap.
"""
import gc
import os
import sys

from mlel.ratings.cli import ratings_main


def main() -> None:
    gc.disable()  # process-wide, on purpose: see the module's note
    try:
        sys.exit(ratings_main(exit_at_once=True))
    except BrokenPipeError:  # the reader went away (`| head`): no traceback, exit 1 (a write failed)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the final flush has nowhere to go
        sys.exit(1)


if __name__ == "__main__":
    main()
