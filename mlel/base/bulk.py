"""Bulk builds: the cyclic garbage collector paused while many small records are made.

Reading and rating 20,000 logs makes millions of dicts, tuples and records, none of them in a
reference cycle. CPython's cyclic collector still runs every 700 allocations and, as the heap
grows, walks all of it again: measured on the 20,000-log benchmark corpus (``bench/``), it was
half the CPU time of pooling, rating and writing the JSON. Reference counting still frees
everything; only cycles made inside the block wait for the collector, which runs again after it.

What a block built and kept, where it kept many objects (``KEPT_MANY``), is then moved to the
collector's oldest generation without a walk (``gc.freeze()`` + ``gc.unfreeze()``, whose documented
effect is just that). Left in the youngest,
the first collections after the block walked all of it once per generation: 2.6 s of CPU for
100,000 result records read by one call and rated by the next (``bench/records_rating.py``).
Nothing is exempted from collection: a cycle among those objects is found by the next full one.
When is that? CPython runs a full collection only once the objects promoted since the last one
pass a quarter of what that one found alive; before any full collection that yardstick is zero,
so in a fresh process the first full collection came right after the block and walked it all
(0.85 s). One full collection before the first block, on the small heap of imports (16 ms),
sets the yardstick. Small blocks (an ELEx callback) move nothing: young garbage of a server's
requests stays where the collector looks for it often.
"""
from __future__ import annotations

import contextlib
import gc
from typing import Iterator

KEPT_MANY = 10_000  # tracked objects kept by a block from which they are filed as old


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (nested blocks: the outermost resumes it),
    then file what the block kept under the oldest generation, unwalked."""
    enabled = gc.isenabled()
    if enabled and gc.get_stats()[-1]["collections"] == 0:
        gc.collect()  # once per process: see the module's note
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            _to_oldest_generation()
            gc.enable()


def _to_oldest_generation() -> None:
    """Every tracked object to the oldest generation, without walking them, where the block kept
    many (the young count is the tracked objects made and not freed since the last collection):
    a small block, as in a server's request, leaves the collector's bookkeeping as it is. Not where
    the program froze objects itself (a pre-fork server): unfreezing would undo its freeze."""
    if gc.get_count()[0] >= KEPT_MANY and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
