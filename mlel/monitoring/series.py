"""Series files: how a monitoring source's samples reach the disk, and how they are read back.

While a block runs, each source appends its samples to ``<prefix>monitoring_<source>.jsonl``
(JSON lines: first ``{"_meta": {...}}``, then one ``{"timestamp": ms, "<device>": {...}}`` per
sample, a later ``{"_meta": ...}`` line updating the first). Lines are handed to the kernel at least
every ``flush_every_s`` (0.25 s by default), so a SIGKILL loses at most that much; nothing is ever
rewritten, so the cost per flush does not grow with the run. At the end of the block the complete
series is written once, atomically, as ``<prefix>monitoring_<source>.json`` in the 2022 raw form
(columns per device, plus ``_meta``), and the ``.jsonl`` is removed.

:func:`read_series` reads either: the ``.json`` when it exists, else the ``.jsonl`` of a run that
was killed (a last line cut off mid-write is ignored).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson

from mlel.base.errors import InputError
from mlel.base.io import parse_json_bytes, read_file_bytes
from mlel.base.units import MS_PER_S

from .records import Sample

log = logging.getLogger("mlel.monitoring")

META_KEY = "_meta"
LINES_SUFFIX = ".jsonl"


# The size cap of a series file, the one file we read that outgrows mlel.base.io's 64 MiB: a 24-h run
# sampled every 0.1 s is 864,000 lines, ~180 bytes each per NVML GPU (1,208 for eight GPUs: ~1 GiB).
MAX_SERIES_BYTES = 2 << 30


class MonitoringFileError(InputError, ValueError):
    """A monitoring file exists but cannot be read as a series (the message says why)."""


def append_sample(series: dict, sample: Sample) -> None:
    """Add one sample to columnar series ``{device: {"timestamp": [...], quantity: [...]}}``, keeping
    every column as long as its device's timestamps (None where a quantity is missing)."""
    ts = sample.timestamp_ms
    for device, values in sample.devices.items():
        columns = series.get(device)
        if columns is None:
            columns = series[device] = {"timestamp": []}
        n = len(columns["timestamp"])
        for key, value in values.items():
            column = columns.get(key)
            if column is None:  # a quantity first seen now: earlier samples lack it
                column = columns[key] = [None] * n
            column.append(value)
        columns["timestamp"].append(ts)
        for column in columns.values():
            if len(column) < n + 1:  # a quantity missing from this sample
                column.append(None)


def lines_path(json_path: Path) -> Path:
    """The ``.jsonl`` beside a series ``.json``."""
    return json_path.with_suffix(LINES_SUFFIX)


class SeriesWriter:
    """Appends lines to a ``.jsonl`` file; :meth:`flush` hands the buffered lines to the kernel."""

    def __init__(self, path: Path, meta: dict):
        self.path = Path(path)
        self._buffer: list[bytes] = []
        self.failed: str | None = None
        self._fd = None
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
        except OSError as exc:
            self._fail(exc)
        self.add({META_KEY: meta})
        self.flush()

    def _fail(self, exc: OSError) -> None:
        if self.failed is None:  # warn once; the summary file at the end is tried again
            log.warning("monitoring: cannot append to %s (%s)", self.path, exc)
        self.failed = f"append failed: {exc}"
        self._buffer.clear()

    def add(self, line: dict) -> None:
        if self._fd is not None:
            self._buffer.append(orjson.dumps(line, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")

    def flush(self) -> None:
        if self._fd is None or not self._buffer:
            return
        data = b"".join(self._buffer)
        self._buffer.clear()
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        except OSError as exc:
            self._fail(exc)

    def close(self, remove: bool = False) -> None:
        if self._fd is not None:
            self.flush()
            os.close(self._fd)
            self._fd = None
        if remove:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


def parse_lines(raw: bytes, name: str) -> dict:
    """The content of a ``.jsonl`` series -> the raw columnar form (as a ``.json`` series holds)."""
    series: dict = {}
    meta: dict = {}
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if number == len(lines):  # the last line, cut off by a kill mid-write
                break
            raise MonitoringFileError(f"{name}: line {number} does not parse ({exc})") from exc
        if not isinstance(obj, dict):
            raise MonitoringFileError(f"{name}: line {number} is not a JSON object")
        if META_KEY in obj:
            meta.update(obj[META_KEY] if isinstance(obj[META_KEY], dict) else {})
            continue
        ts = obj.pop("timestamp", None)
        if not isinstance(ts, (int, float)) or not all(isinstance(v, dict) for v in obj.values()):
            raise MonitoringFileError(f"{name}: line {number} is not a sample")
        append_sample(series, Sample(ts / MS_PER_S, obj))
    if meta:
        series[META_KEY] = meta
    return series


def _parse_json(raw: bytes, name: str) -> dict:
    try:
        return parse_json_bytes(raw)  # NaN/Infinity literals accepted; the depth cap
    except ValueError as exc:
        raise MonitoringFileError(f"{name}: {exc}") from None


def read_series(path) -> dict | None:
    """The raw content of a series file (``.json``, else the ``.jsonl`` of a killed run); None if
    neither exists. Read by :func:`mlel.base.io.read_file_bytes`: a regular file of at most
    :data:`MAX_SERIES_BYTES` (a FIFO, a device or a link to one is refused, never waited on or read
    without end). Raises MonitoringFileError naming the file that is refused or does not parse."""
    path = Path(path)
    for candidate, parse in ((path, _parse_json), (lines_path(path), parse_lines)):
        try:
            raw = read_file_bytes(candidate, limit=MAX_SERIES_BYTES)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:  # FileRefused says which limit
            raise MonitoringFileError(f"{candidate.name}: {exc.strerror or exc}") from None
        return parse(raw, candidate.name)
    return None


