"""Recorders (one meter's series and its files) and Samplers (the threads that drive them).

Each meter (nvml.NvmlMeter, rapl.RaplMeter, process.ProcessMeter, estimate.EstimateMeter) has
``source``, ``estimated``, ``meta()``, ``sample(now) -> {device: {quantity: value}} | None`` and
``close()``. Meters sharing an interval share a thread (GPU and CPU intervals apart, so a slow NVML
never delays the CPU meters). Samples are appended to the source's ``.jsonl`` and handed to the
kernel every ``flush_every`` seconds (see :mod:`.series`); the ``.json`` is written once, at the end.

What a sampler thread costs is measured (``cpu_s``, its thread CPU time) and kept small: one
wake-up per interval on a lock with a timeout (cheaper than ``Event.wait``), a few µs per sample
to append, one ``write`` per flush whatever the length of the run.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from mlel.base.errors import OutputError
from mlel.base.io import dumps, write_atomic

from .records import Sample, SourceMeta
from .series import META_KEY, SeriesWriter, append_sample, lines_path
from .summary import summarize

log = logging.getLogger("mlel.monitoring")

# The clock of the timestamps. A seam for tests, whose simulated counters advance with it.
_clock = time.time

DEFAULT_FLUSH_S = 0.25  # at most this much of a series is lost to a SIGKILL
MAX_CONSECUTIVE_ERRORS = 5


def clock() -> float:
    return _clock()


class Recorder:
    """One meter's series and its files (sampled by a Sampler thread, or by the caller)."""

    def __init__(self, meter, interval: float, path=None, flush_every: float = DEFAULT_FLUSH_S):
        self.meter = meter
        self.interval = interval
        # a meter whose readings need not be frequent (the process tree) is read every k-th tick
        self.every_ticks = max(1, round(getattr(meter, "min_interval_s", 0.0) / interval)) if interval > 0 else 1
        self.path = Path(path) if path is not None else None
        self.flush_every = flush_every
        self.source_meta = SourceMeta.from_meter(meter, interval)
        self.series: dict = {}
        self.state = {"complete": False, "errors": 0}  # what changes while it runs
        self.disabled = False
        self._errors_in_row = 0
        self._next_flush = 0.0
        self.writer = None
        if self.path is not None:
            self.writer = SeriesWriter(lines_path(self.path), self.meta)

    @property
    def meta(self) -> dict:
        """The ``_meta`` object of the series file: the source's description and its state."""
        described = self.source_meta.to_dict()
        return {**{k: described.pop(k) for k in ("source", "estimated", "interval")},
                **self.state, **described}

    @property
    def measures_power(self) -> bool:
        return self.source_meta.measures_power

    def _failed(self, exc: Exception) -> None:
        self.state["errors"] += 1
        self._errors_in_row += 1
        self.state["last_error"] = f"{type(exc).__name__}: {exc}"
        log.debug("monitoring %s: sample failed (%s)", self.meter.source, exc)
        if self._errors_in_row == MAX_CONSECUTIVE_ERRORS:
            log.warning("monitoring %s: %d failed samples in a row (%s); stopping it",
                        self.meter.source, self._errors_in_row, exc)
            self.disabled = True
        if self.writer is not None:
            self.writer.add({META_KEY: {"errors": self.state["errors"],
                                        "last_error": self.state["last_error"]}})

    def record(self, now: float | None = None) -> None:
        if self.disabled:
            return
        now = _clock() if now is None else now
        try:
            reading = self.meter.sample(now)
        except Exception as exc:  # a meter failing must never break the experiment: counted, logged
            self._failed(exc)
            return
        self._errors_in_row = 0
        if not reading:
            return
        sample = Sample.from_reading(now, reading)
        append_sample(self.series, sample)
        if self.writer is not None:
            self.writer.add(sample.to_line())
            if self.every_ticks * self.interval >= self.flush_every:
                self._next_flush = 0.0  # a sparse series: each sample reaches the kernel at once

    def flush_if_due(self, now_monotonic: float) -> None:
        """Hand the new lines to the kernel every flush_every s (sparse series: at every sample)."""
        if self.writer is not None and now_monotonic >= self._next_flush:
            self.writer.flush()
            self._next_flush = now_monotonic + self.flush_every

    def finish(self) -> None:
        """Mark the series complete and write it whole, once; the ``.jsonl`` then goes."""
        self.state["complete"] = True
        if self.path is None:
            return
        if self.writer is not None and self.writer.failed:
            self.state["last_error"] = self.writer.failed
        try:
            write_atomic(self.path, dumps(self.content(), indent=False))
            written = True
        except (OSError, OutputError) as exc:  # disk full, folder gone: the .jsonl keeps the samples
            written = False
            log.warning("monitoring %s: cannot write %s (%s)", self.meter.source, self.path, exc)
        if self.writer is not None:
            self.writer.close(remove=written)  # kept when the .json could not be written

    def content(self) -> dict:
        return {**self.series, META_KEY: self.meta}

    def summary(self) -> dict | None:
        return summarize(self.content())


class Sampler:
    """One background thread sampling the recorders that share an interval (a thread wake-up
    costs ~0.1 ms of CPU in a VM: one per interval, not one per meter)."""

    def __init__(self, recorders: list, interval: float):
        self.recorders = recorders
        self.interval = interval
        self.cpu_s = 0.0  # the thread's CPU time: what monitoring cost
        self._stop = threading.Lock()
        self._stop.acquire()  # released by stop(): the thread's wait ends at once
        self._thread = None

    def _run(self) -> None:
        next_t = time.monotonic() + self.interval
        tick = 0
        while not self._stop.acquire(timeout=max(0.0, next_t - time.monotonic())):
            tick += 1
            for rec in self.recorders:
                if tick % rec.every_ticks == 0:
                    rec.record()
            now = time.monotonic()
            next_t += self.interval
            if next_t < now:  # fell behind (suspended, overloaded): skip, don't burst
                next_t = now + self.interval
            for rec in self.recorders:
                rec.flush_if_due(now)
        self.cpu_s = time.thread_time()

    def start(self) -> None:
        names = "+".join(rec.meter.source for rec in self.recorders)
        self._thread = threading.Thread(target=self._run, name=f"mlel-monitor-{names}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stop.locked():
            self._stop.release()
        if self._thread is not None:
            self._thread.join()
        for rec in self.recorders:
            rec.state["sampler_cpu_s"] = self.cpu_s


def start_samplers(recorders: list) -> list:
    """Flush every recorder's first lines, then one Sampler thread per distinct interval."""
    groups: dict = {}
    for rec in recorders:
        rec.flush_if_due(time.monotonic())
        groups.setdefault(rec.interval, []).append(rec)
    samplers = [Sampler(recs, interval) for interval, recs in groups.items()]
    for sampler in samplers:
        sampler.start()
    return samplers
