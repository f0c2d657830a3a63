"""File names of entry keys: the one place a key (task, environment, entry) becomes a file name, so
that every output names one entry alike (the site's entry page, PDF and JSON, the entry's BoAmps
report).

A name is the key made readable (:func:`mlel.base.names.file_safe_name`, lower case, cut short) plus
eight hex digits of the key's SHA-256: it depends on the key alone, so a file keeps its name when
other entries come or go; ``../x``, ``<script>``, Unicode and 10,000-character names all become
short ASCII names that stay inside their folder, also on case-insensitive file systems. Two keys
that still meet (equal keys from two directories, or a hash collision) get ``-2``, ``-3``, … in
the order the keys sort, so the outcome never depends on the order the entries were read.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from mlel.base.names import file_safe_name

READABLE_CHARS = 72  # the readable part: far below any file system's limit, with room for the rest
HASH_CHARS = 8
KEY_SEPARATOR = "\x1f"  # between a key's parts: no name can contain it unescaped, so keys never run together


def key_text(parts: Sequence[str]) -> str:
    """The key's parts as one string (what the hash is taken of)."""
    return KEY_SEPARATOR.join(str(part) for part in parts)


def key_stem(parts: Sequence[str]) -> str:
    """The file name stem of a key: ``inference-a100-x8-pytorch-1.10.2-cu113-resnet50-1f3a9c0b``."""
    readable = "--".join(file_safe_name(str(part), "x", sep="-", limit=READABLE_CHARS).lower() for part in parts)
    readable = file_safe_name(readable, "page", sep="-", limit=READABLE_CHARS)
    digest = hashlib.sha256(key_text(parts).encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{readable}-{digest}"


def unique_stems(keys: Iterable[Sequence[str]]) -> list[str]:
    """:func:`key_stem` of each key, in the keys' order; stems that meet made unique (``-2``, …)
    in the order of the keys' text (ties: input order)."""
    keys = [tuple(str(part) for part in key) for key in keys]
    names = [key_stem(key) for key in keys]
    by_name: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        by_name.setdefault(name.lower(), []).append(position)
    taken = {name.lower() for name in names}
    for positions in by_name.values():
        if len(positions) < 2:
            continue
        ordered = sorted(positions, key=lambda p: (key_text(keys[p]), p))
        for count, position in enumerate(ordered[1:], start=2):
            candidate = f"{names[position]}-{count}"
            while candidate.lower() in taken:  # a real name already ends so: count on
                count += 1
                candidate = f"{names[position]}-{count}"
            taken.add(candidate.lower())
            names[position] = candidate
    return names
