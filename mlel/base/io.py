"""Atomic file writing and JSON I/O — the one home of both.

Readers of a file we write see the old content or the new, never a part: every write goes to a
temp file in the same directory, is flushed, and replaces the target with ``os.replace``. A failed
write leaves no temp file behind: SIGINT and SIGTERM that arrive during a write are acted on once
the write is complete or undone, and a temp file a SIGKILL left (named ``.<file>.<pid>.<8 chars>.tmp``
or ``.pending``, its pid no longer running) is removed by :func:`remove_stale_temps` on the next run.
Files get the mode the umask gives (0644 by default), not the 0600 of ``mkstemp``.

Reading (one reader, :func:`read_file_bytes`): regular files only — a FIFO, device or socket is
refused by name, never waited on or read without end (opened non-blocking, checked by ``fstat``);
a symbolic link is followed to a regular file, or refused where ``follow=False`` (run folders);
at most :data:`MAX_FILE_BYTES`. JSON (:func:`read_json`, :func:`parse_json_bytes`) nested deeper
than :data:`MAX_JSON_DEPTH` is refused by a linear scan before any parser recurses.
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import signal
import stat
import tempfile
import threading
import uuid
from contextlib import contextmanager
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from mlel.base.errors import OutputError


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _umask_mode()


_HELD = threading.local()


@contextmanager
def signals_held():
    """SIGINT / SIGTERM arriving inside are recorded and raised again on the way out, so a temp file
    is always either published or removed before their handler unwinds (re-entrant; main thread only,
    the one where Python runs handlers)."""
    if getattr(_HELD, "depth", 0) or threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: arrived.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    _HELD.depth = 1
    try:
        yield
    finally:
        _HELD.depth = 0
        for sig, handler in previous.items():
            if handler is not None:  # None: a handler not set from Python, left as it was
                signal.signal(sig, handler)
        for sig in dict.fromkeys(arrived):
            signal.raise_signal(sig)


def write_atomic(path: str | os.PathLike, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically. Raises :class:`OutputError` naming the path on failure."""
    with signals_held():
        return _write_atomic(Path(path), data, fsync)


def _write_atomic(path: Path, data: bytes, fsync: bool) -> Path:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
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


MAX_FILE_BYTES = 64 << 20  # the size cap of every file read: logs and records are KBs, leaderboard files MBs
MAX_JSON_DEPTH = 64  # the depth cap of every JSON read: our files nest fewer than 10 levels


class FileRefused(OSError):
    """A file a reader will not read (not a regular file, a link where none may be, over the size
    cap); the message says which limit."""


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"))


def file_kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _refused_kind(path, follow: bool) -> FileRefused:
    try:
        mode = (os.stat if follow else os.lstat)(path).st_mode
    except OSError:
        mode = stat.S_IFLNK if not follow else 0
    return FileRefused(f"{file_kind(mode)}, not a regular file: not read")


def read_file_bytes(path: str | os.PathLike, *, follow: bool = True, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; :class:`FileRefused` for anything else
    (``follow=False``: a symbolic link too). One read for a file under 64 KiB (no buffered file object:
    at 100,000 small files its set-up costs as much as the reading)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags if follow else flags | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:  # ELOOP: a link where none may be; ENXIO: a socket
        if error.errno in (errno.ELOOP, errno.ENXIO, errno.EOPNOTSUPP):
            raise _refused_kind(path, follow) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{file_kind(info.st_mode)}, not a regular file: not read")
        if info.st_size > limit:
            raise FileRefused(f"larger than the size cap of {limit:,} bytes: not read")
        data = os.read(fd, _CHUNK)
        if len(data) < _CHUNK:  # a short read of a regular file is its end
            return data
        chunks, size = [data], len(data)
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew while read
                raise FileRefused(f"larger than the size cap of {limit:,} bytes: not read")
        return b"".join(chunks)
    finally:
        os.close(fd)


_CHUNK = 1 << 16
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.S)  # a string, or one open to the end
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"{}[]")
_STEP = {0x7B: 1, 0x5B: 1, 0x7D: -1, 0x5D: -1}


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when brackets nest deeper than ``limit`` (strings skipped); linear in the input."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return any(depth > limit for depth in accumulate(_STEP[b] for b in brackets))


def parse_json_bytes(raw: bytes, depth: int = MAX_JSON_DEPTH) -> Any:
    """Bytes -> object; ``NaN``/``Infinity`` literals (Python's json writes them) are accepted.
    ValueError names the depth cap for input nested deeper; never RecursionError."""
    if json_depth_exceeds(raw, depth):
        raise ValueError(f"nested deeper than the depth cap of {depth} levels: not read")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        first_error = error
    try:  # orjson rejects NaN/Infinity literals that older logs may hold
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError(f"not valid JSON ({first_error})") from None


def read_json(path: str | os.PathLike, *, follow: bool = True) -> Any:
    """Parse a JSON file read by :func:`read_file_bytes` (regular, size cap) with the depth cap.
    Raises OSError (:class:`FileRefused` says which limit) or ValueError."""
    return parse_json_bytes(read_file_bytes(path, follow=follow))


# --- rewriting a generated file only when it changes -------------------------------------------

def write_if_changed(path: str | os.PathLike, data: bytes) -> bool:
    """Write ``data`` atomically (:func:`write_atomic`) unless ``path`` is a regular file holding exactly
    these bytes, so regenerated outputs (the paper's files, a site) keep their times and a second run
    of unchanged input rewrites nothing. A link planted at the name is replaced, never read through.
    Returns whether it wrote."""
    try:
        status = os.stat(path, follow_symlinks=False)
        same = (stat.S_ISREG(status.st_mode) and status.st_size == len(data)
                and read_file_bytes(path, follow=False) == data)
    except OSError:  # absent, unreadable: (re)written
        same = False
    if not same:
        write_atomic(path, data)
    return not same


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
    with signals_held():
        return _publish(target, data, force)


def _publish(target: Path, data: bytes, force: bool) -> str:
    if target.exists() and _same_content(target, data):
        return "unchanged"
    pending = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.pending")
    try:
        write_atomic(pending, data)
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
    return sorted(e.name for e in os.scandir(directory) if e.name.endswith(".json") and not e.is_dir())


# --- what an interrupted run left -----------------------------------------------------------------

_OUR_TEMP = re.compile(r"^\..+\.(?P<pid>\d+)\.[a-z0-9_]{8}\.(?:tmp|pending)$")


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: running
        return True
    return True


def remove_stale_temps(directory: str | os.PathLike) -> list[str]:
    """Remove the temp files our writers left in ``directory`` when SIGKILLed: only names of our own
    pattern (``.<file>.<pid>.<8 chars>.tmp|pending``) whose process no longer runs (one machine's
    pids: a folder shared by several machines keeps the others'). Returns the names removed."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _OUR_TEMP.match(entry.name)
        if match and entry.is_file(follow_symlinks=False) and not _running(int(match["pid"])):
            try:
                os.unlink(entry.path)
                removed.append(entry.name)
            except OSError:
                pass
    return sorted(removed)
