"""Rated summaries (SPEC §7) as JSON bytes, written without a dict per metric.

``python -m mlel.ratings --json`` on 100,000 imported records writes 1.1 million metric objects,
each with its own ``rating_p`` object (200 MB). Built as dicts and then serialised, that was a third
of the command's CPU time. Here a certain metric row (:class:`mlel.rated.CertainMetrics`, the
common case: one run, graded, every input valid) becomes its JSON from templates made once per
property set; only its numbers are serialised, by the same :func:`mlel.io.dumps` as the rest, so the
bytes are exactly those of ``dumps([record.to_dict() for record in records], indent=False)``
(pinned by the tests). Every other entry is written from its ``to_dict()``.
"""
from __future__ import annotations

from itertools import chain, repeat
from operator import getitem, is_not
from typing import Sequence

import orjson

from mlel.bulk import collector_paused
from mlel.engine import RATINGS
from mlel.io import dumps
from mlel.rated import CertainMetrics, RatedResult, certain_rating_p

_INDEX = b',"index":'
_TEMPLATES: dict[tuple[str, ...], tuple[list[bytes], tuple[tuple[bytes, ...], tuple[bytes, ...]]]] = {}


def summaries_json(records: Sequence[RatedResult]) -> bytes:
    """The records' rated summaries as one compact JSON array (what ``--json`` prints)."""
    with collector_paused():  # a fragment per record, none in a cycle: see mlel.bulk
        return dumps([record.to_dict(metrics=_metrics_fragment(record.metrics)) for record in records],
                     indent=False)


def _templates(keys: tuple[str, ...]):
    """Per property, what precedes its value; per (value present, level), what follows its index."""
    made = _TEMPLATES.get(keys)
    if made is None:
        if len(_TEMPLATES) > 64:  # bounded: property sets are few
            _TEMPLATES.clear()
        heads = [(b"," if j else b"{") + dumps(key, indent=False) + b':{"value":' for j, key in enumerate(keys)]
        tails = tuple(tuple(b',"rating":"' + letter.encode() + b'","n":' + (b"1" if present else b"0")
                            + b',"ci95":null,"rating_p":' + dumps(certain_rating_p(level), indent=False) + b"}"
                            for level, letter in enumerate(RATINGS))
                      for present in (False, True))
        made = _TEMPLATES[keys] = (heads, tails)
    return made


def _metrics_fragment(metrics) -> orjson.Fragment | None:
    """The ``metrics`` object of a certain row as pre-made JSON; None: let ``to_dict`` build it."""
    if type(metrics) is not CertainMetrics:
        return None
    values, keys, indices, levels = metrics.row
    if not keys:
        return orjson.Fragment(b"{}")
    shown = [*map(values.get, keys)]
    numbers = dumps([*shown, *indices], indent=False)[1:-1].split(b",")
    if len(numbers) != 2 * len(keys):  # a value that is not a number (its JSON has a comma)
        return None
    heads, tails = _templates(tuple(keys))
    after = map(getitem, map(tails.__getitem__, map(is_not, shown, repeat(None))), levels)
    pieces = zip(heads, numbers, repeat(_INDEX), numbers[len(keys):], after)
    return orjson.Fragment(b"".join(chain(chain.from_iterable(pieces), (b"}",))))
