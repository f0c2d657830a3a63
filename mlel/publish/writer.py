"""Writing the site: a file only where its bytes differ (a second publish of unchanged input
rewrites nothing), each atomically (:func:`mlel.base.io.write_atomic`); the files of an earlier
publish that this one no longer makes are removed, and only those: the site's manifest lists what
it wrote, so nothing else in the folder is ever touched."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mlel.base.errors import OutputError, UsageError
from mlel.base.io import dumps, parse_json_bytes, read_file_bytes, write_if_changed

MANIFEST = ".mlee-site.json"  # what the last publish wrote: {"files": [site paths]}


@dataclass(frozen=True)
class WriteCount:
    written: int
    unchanged: int
    removed: int
    bytes_total: int  # of every file of the site

    def __str__(self) -> str:
        removed = f", {self.removed} removed" if self.removed else ""
        return f"{self.written} written, {self.unchanged} unchanged{removed}"


def check_site_folder(site: Path) -> None:
    """Refuse (exit 2) a site folder that is a file, or a path through one."""
    for place in [site, *site.parents]:
        if place.exists() and not place.is_dir():
            raise UsageError(f"cannot write the site to {site}: {place} is a file, not a folder")


def _safe(path: str) -> bool:
    """A site path stays inside the site: relative, no '..', no empty part."""
    parts = PurePosixPath(path).parts
    return bool(parts) and not PurePosixPath(path).is_absolute() and all(p not in ("", ".", "..") for p in parts)


def write_file(site: Path, path: str, data: bytes) -> bool:
    """Write one file of the site unless it holds these bytes already; True where written."""
    if not _safe(path):
        raise OutputError(f"refusing a site path outside the site: {path!r}")
    target = site / path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot write {target.parent}: {error.strerror or error}") from None
    return write_if_changed(target, data)


def _previous(site: Path) -> list[str]:
    try:
        listed = parse_json_bytes(read_file_bytes(site / MANIFEST)).get("files") or []
    except (OSError, ValueError, AttributeError):
        return []
    return [p for p in listed if isinstance(p, str) and _safe(p)]


def write_site(site: Path, files: dict[str, bytes] | None = None, progress=None, *, stream=None) -> WriteCount:
    """Write ``files`` ({site path: bytes}), or the (path, bytes) pairs of ``stream``, then the
    manifest; remove what the previous manifest lists and this publish does not make. ``progress``:
    called once per file (a progress bar's update)."""
    check_site_folder(site)
    site.mkdir(parents=True, exist_ok=True)
    written = unchanged = size = 0
    made: list[str] = []
    pairs = stream if stream is not None else (files or {}).items()
    for path, data in pairs:
        if write_file(site, path, data):
            written += 1
        else:
            unchanged += 1
        made.append(path)
        size += len(data)
        if progress is not None:
            progress()
    removed = 0
    keep = set(made)
    for path in _previous(site):
        if path not in keep:
            try:
                os.unlink(site / path)
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as error:
                raise OutputError(f"cannot remove {site / path}: {error.strerror or error}") from None
    write_file(site, MANIFEST, dumps({"files": sorted(made)}))
    return WriteCount(written, unchanged, removed, size)
