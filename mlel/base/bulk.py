"""The cyclic garbage collector: a command's main may turn it off; library code never touches it.

Reading and rating 20,000 logs makes millions of dicts, tuples and records, none of them in a
reference cycle. CPython's cyclic collector still runs every 700 allocations and, as the heap
grows, walks all of it again: measured on the 20,000-log benchmark corpus (``bench/``), it was
half the CPU time of pooling, rating and writing the JSON. Reference counting frees everything
without it; only a reference cycle would wait for the collector.

Whether to pay that is the program's choice, not a library's: a caller of
:func:`mlel.ratings.report.rate_directory` may be a notebook, an ELEx server whose callbacks run in
threads, or a pre-fork server that froze its heap (``gc.freeze()``). So no library function and no
server callback disables, freezes or collects (``tests/test_bulk.py`` holds every reader and rater
to that). A short-lived command that builds its records, writes them and ends
(``python -m mlel.ratings``) turns the collector off for its whole process, in its ``__main__``:
:func:`collector_off_for_this_command`.
"""
from __future__ import annotations

import gc


def collector_off_for_this_command() -> None:
    """Turn the cyclic collector off for the rest of the process. Call it only from a command's
    ``__main__`` whose process ends when its output is written (never from a library function)."""
    gc.disable()
