"""Atomic file writing and JSON I/O — the one home of both.

Readers of a file we write see the old content or the new, never a part: every write goes to a
temp file in the same directory, is flushed, and replaces the target with ``os.replace``. A failed
write leaves no temp file behind. Files get the mode the umask gives (0644 by default), not the
0600 of ``mkstemp``.
"""
from __future__ import annotations

import errno
import math
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import orjson

from mlel.base.errors import OutputError


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _umask_mode()


def write_atomic(path: str | os.PathLike, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically. Raises :class:`OutputError` naming the path on failure."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    return path


def _default(obj: Any) -> Any:
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "item"):  # numpy scalars
        value = obj.item()
        return None if isinstance(value, float) and not math.isfinite(value) else value
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj: Any, *, indent: bool = True) -> bytes:
    """JSON bytes via orjson: NaN/Infinity become null, numpy and paths are converted, keys kept in
    insertion order. Non-string dict keys are stringified."""
    option = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    if indent:
        option |= orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
    return orjson.dumps(obj, default=_default, option=option)


def write_json(path: str | os.PathLike, obj: Any, *, indent: bool = True, fsync: bool = False) -> Path:
    """Serialise ``obj`` (see :func:`dumps`) and write it atomically."""
    return write_atomic(path, dumps(obj, indent=indent), fsync=fsync)


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes: one read for a file under 64 KiB (no buffered file object and no stat:
    at 100,000 small files their set-up costs as much as the reading)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        data = os.read(fd, _CHUNK)
        if len(data) < _CHUNK:  # a short read of a regular file is its end
            return data
        chunks = [data]
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


_CHUNK = 1 << 16


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; ``NaN``/``Infinity`` literals (Python's json writes them) are accepted."""
    data = Path(path).read_bytes()
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        import json  # orjson rejects NaN/Infinity literals that older logs may hold

        return json.loads(data)


# --- publishing a new file: never over a different one --------------------------------------------

def _same_content(target: Path, data: bytes) -> bool:
    """Whether the log at target holds the same JSON as data (formatting aside)."""
    try:
        return read_json(target) == orjson.loads(data)
    except (OSError, ValueError):
        return False


def publish(target: Path, data: bytes, force: bool = False) -> str:
    """Put data at target unless a different log is there; returns merged | unchanged | exists |
    overwritten. Create-exclusive: the bytes go to a private name, then a hard link gives them the
    target's name only if no file has it, so a concurrent merge can never be overwritten unseen.
    Raises OutputError (nothing left behind) when the folder cannot be written."""
    if target.exists() and _same_content(target, data):
        return "unchanged"
    pending = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.pending")
    write_atomic(pending, data)
    try:
        try:
            os.link(pending, target)
            return "merged"
        except FileExistsError:
            pass
        except OSError as exc:  # no hard links here (some network file systems): exclusive create
            if not _link_unsupported(exc):
                raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
            if _create_exclusive(target, data):
                return "merged"
        if _same_content(target, data):
            return "unchanged"
        if not force:
            return "exists"
        os.replace(pending, target)
        return "overwritten"
    finally:
        try:
            pending.unlink()
        except FileNotFoundError:
            pass


def _link_unsupported(exc: OSError) -> bool:
    return exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


def _create_exclusive(target: Path, data: bytes) -> bool:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        target.unlink()
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return True


def json_file_names(directory: str | os.PathLike) -> list[str]:
    """The ``*.json`` files of a directory, sorted as strings (pathlib objects cost more than
    reading the list). Raises FileNotFoundError / NotADirectoryError naming the directory."""
    directory = os.fspath(directory)
    if not os.path.exists(directory):
        raise FileNotFoundError(f"no such directory: {directory}")
    if not os.path.isdir(directory):
        raise NotADirectoryError(f"not a directory: {directory}")
    return sorted(e.name for e in os.scandir(directory) if e.name.endswith(".json") and e.is_file())
