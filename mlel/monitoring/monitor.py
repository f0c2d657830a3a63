"""The monitor: meters sampled in background threads, series written atomically as they grow.

Each meter (nvml.NvmlMeter, rapl.RaplMeter, process.ProcessMeter, estimate.EstimateMeter) has
``source``, ``estimated``, ``meta()``, ``sample(now) -> {device: {quantity: value}} | None`` and
``close()``. Meters sharing an interval share a thread (GPU and CPU intervals apart, so a slow NVML
never delays the CPU meters). The first and last samples of the power meters are taken in the
caller's thread at block entry and exit, stamped with ``m.start`` and ``m.end``: the measured window
is the block. Files are rewritten whole (temp file + os.replace) at least every ``flush_every``
seconds — a SIGKILLed run leaves files that parse — unless a write costs more than 1 % of that
time in CPU, in which case flushes are spaced to keep that cost at 1 % (long runs, big series).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from .summary import META_KEY, summarize

log = logging.getLogger("mlel.monitoring")

# The clock of the timestamps. A seam for tests, whose simulated counters advance with it.
_clock = time.time

MAX_FLUSH_COST = 0.01
MAX_CONSECUTIVE_ERRORS = 5

try:
    import orjson

    def _dumps(obj) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
except ImportError:  # pragma: no cover - orjson is a requirement, json is the fallback
    import json

    def _dumps(obj) -> bytes:
        return json.dumps(obj).encode()


def write_atomic(path, data: bytes) -> None:
    """Write bytes so that readers see the old file or the new one, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class Recorder:
    """One meter's series and its file (sampled by a Sampler thread)."""

    def __init__(self, meter, interval: float, path=None, flush_every: float = 2.0):
        self.meter = meter
        self.interval = interval
        self.path = Path(path) if path is not None else None
        self.flush_every = flush_every
        self.series: dict = {}
        self.meta = {"source": meter.source, "estimated": bool(meter.estimated),
                     "interval": interval, "complete": False, "errors": 0, **meter.meta()}
        self.disabled = False
        self._next_flush = 0.0
        self._errors_in_row = 0

    def record(self, now: float | None = None) -> None:
        if self.disabled:
            return
        now = _clock() if now is None else now
        try:
            sample = self.meter.sample(now)
        except Exception as exc:  # a meter failing must never break the experiment
            self.meta["errors"] += 1
            self._errors_in_row += 1
            self.meta["last_error"] = f"{type(exc).__name__}: {exc}"
            if self._errors_in_row == MAX_CONSECUTIVE_ERRORS:
                log.warning("monitoring %s: %d failed samples in a row (%s); stopping it",
                            self.meter.source, self._errors_in_row, exc)
                self.disabled = True
            return
        self._errors_in_row = 0
        if not sample:
            return
        ts = now * 1000.0  # ms since epoch, the 2022 unit
        for device, values in sample.items():
            series = self.series.get(device)
            if series is None:
                series = self.series[device] = {"timestamp": []}
            n = len(series["timestamp"])
            for key, value in values.items():
                column = series.get(key)
                if column is None:  # a quantity first seen now: earlier samples lack it
                    column = series[key] = [None] * n
                column.append(value)
            series["timestamp"].append(ts)
            for key, column in series.items():
                if len(column) < n + 1:  # a quantity missing from this sample
                    column.append(None)

    def flush_if_due(self, now_monotonic: float) -> None:
        if self.path is not None and now_monotonic >= self._next_flush:
            self.flush()

    def finish(self) -> None:
        self.meta["complete"] = True
        if self.path is not None:
            self.flush()

    # output -----------------------------------------------------------------------------------------
    def content(self) -> dict:
        return {**self.series, META_KEY: self.meta}

    def flush(self) -> None:
        # the cost is this thread's CPU time: waiting for the GIL or the disk costs the workload nothing
        t0 = time.thread_time()
        try:
            write_atomic(self.path, _dumps(self.content()))
        except OSError as exc:
            self.meta["last_error"] = f"write failed: {exc}"
            log.warning("monitoring %s: cannot write %s (%s)", self.meter.source, self.path, exc)
        cost = time.thread_time() - t0
        self._next_flush = time.monotonic() + max(self.flush_every, cost / MAX_FLUSH_COST)

    def summary(self) -> dict | None:
        return summarize(self.content())


class Sampler:
    """One background thread sampling the recorders that share an interval (a thread wake-up
    costs ~0.1 ms of CPU in a VM: one per interval, not one per meter)."""

    def __init__(self, recorders: list, interval: float):
        self.recorders = recorders
        self.interval = interval
        self.cpu_s = 0.0  # the thread's CPU time: what monitoring cost
        self._stop = threading.Event()
        self._thread = None

    def _run(self) -> None:
        next_t = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, next_t - time.monotonic())):
            for rec in self.recorders:
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
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for rec in self.recorders:
            rec.meta["sampler_cpu_s"] = self.cpu_s


def start_samplers(recorders: list) -> list:
    """Flush every recorder's first file, then one Sampler thread per distinct interval."""
    groups: dict = {}
    for rec in recorders:
        rec.flush_if_due(time.monotonic())
        groups.setdefault(rec.interval, []).append(rec)
    samplers = [Sampler(recs, interval) for interval, recs in groups.items()]
    for sampler in samplers:
        sampler.start()
    return samplers


def discover_meters(gpu_interval: float, cpu_interval: float, cpu_tdp=None):
    """[(meter, interval)] of every available source, and notes saying what was found and why not."""
    from . import nvml, rapl
    from .estimate import EstimateMeter
    from .process import ProcessMeter

    meters, notes = [], []
    if gpu_interval > 0:
        try:
            meter, note = nvml.open_meter()
        except Exception as exc:  # a broken driver must not stop the experiment
            meter, note = None, f"GPU power not measured: NVML failed ({type(exc).__name__}: {exc})"
        notes.append(note)
        if meter is not None:
            meters.append((meter, gpu_interval))
    if cpu_interval > 0:
        try:
            meter = rapl.RaplMeter()
            notes.extend(meter.notes)
            notes.append(f"CPU power measured by RAPL ({', '.join(z.key for z in meter.zones)})")
            meters.append((meter, cpu_interval))
        except (rapl.RaplUnavailable, OSError) as exc:
            # the estimate takes over the CPU; never counted on top of a real sensor
            estimate = EstimateMeter(cpu_tdp)
            notes.append(f"CPU power ESTIMATED (no RAPL: {exc}); TDP {estimate.tdp_w:g} W "
                         f"({estimate.tdp_source})")
            meters.append((estimate, cpu_interval))
        try:
            meters.append((ProcessMeter(), cpu_interval))
        except ImportError as exc:
            notes.append(f"process monitoring off: {exc}")
    return meters, notes


class Measurement:
    """What ``measure()`` returns: a context manager; after the block, the results.

    Attributes after the block: ``energy_ws`` (J of all power sources, each device once),
    ``energy_by_source``, ``sources`` (power source -> "measured" | "estimated"), ``summaries``
    (source -> SPEC §3 summary, psutil included), ``start``/``end`` (unix s), ``baseline_power_w``
    and ``dynamic_energy_ws`` (with an idle baseline), ``gco2e``, ``notes`` (what was measured how).
    """

    def __init__(self, output_dir=None, interval: float = 0.2, *, gpu_interval=None, cpu_interval=None,
                 prefix: str = "", idle_seconds: float = 0.0, cpu_tdp=None, country=None,
                 flush_every: float = 2.0, meters=None):
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.gpu_interval = interval if gpu_interval is None else gpu_interval
        self.cpu_interval = interval if cpu_interval is None else cpu_interval
        self.prefix = prefix
        self.idle_seconds = float(idle_seconds or 0.0)
        self.cpu_tdp = cpu_tdp
        self.country = country
        self.flush_every = flush_every
        self._meters = meters  # [(meter, interval)]: instead of discovery (tests, custom meters)
        self.notes: list[str] = []
        self.recorders: list[Recorder] = []
        self.samplers: list[Sampler] = []
        self.start = self.end = None
        self.energy_ws = 0.0
        self.energy_by_source: dict = {}
        self.sources: dict = {}
        self.summaries: dict = {}
        self.baseline_power_w: dict = {}
        self.dynamic_energy_ws = None
        self.carbon_intensity_g_per_kwh = self.gco2e = None
        self.error = None

    # life cycle -------------------------------------------------------------------------------------
    def __enter__(self) -> "Measurement":
        if self._meters is None:
            self._meters, notes = discover_meters(self.gpu_interval, self.cpu_interval, self.cpu_tdp)
            self.notes.extend(notes)
        for note in self.notes:
            (log.warning if "ESTIMATED" in note or "not readable" in note else log.info)(
                "monitoring: %s", note)
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        if self.idle_seconds > 0:
            self._measure_idle()
        self.recorders = [Recorder(meter, interval, self._path(meter.source), self.flush_every)
                          for meter, interval in self._meters]
        # first samples back to back, power meters first, threads and files after: the window
        # starts at the block
        self.recorders.sort(key=lambda rec: not rec.meta.get("power_keys"))
        self.start = _clock()
        for rec in self.recorders:
            rec.record(self.start if rec.meta.get("power_keys") else None)
        self.samplers = start_samplers(self.recorders)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        # runs for KeyboardInterrupt too: stop and flush first, then let the exception propagate
        self.error = None if exc_type is None else exc_type.__name__
        self.stop()
        return False

    def stop(self) -> None:
        if self.end is not None or self.start is None:
            return  # already stopped, or never started
        for sampler in self.samplers:
            sampler.stop()
        self.end = _clock()
        for rec in self.recorders:  # last samples back to back: the window ends at the block
            rec.record(self.end if rec.meta.get("power_keys") else None)
        for rec in self.recorders:
            rec.finish()
        for meter, _ in self._meters:
            try:
                meter.close()
            except Exception:
                pass
        self._results()
        if self.output_dir is not None:
            write_atomic(self.output_dir / f"{self.prefix}energy.json", _dumps(self.energy_record()))

    def _path(self, source: str):
        if self.output_dir is None:
            return None
        return self.output_dir / f"{self.prefix}monitoring_{source}.json"

    def _measure_idle(self) -> None:
        """Run the meters for idle_seconds before the workload: baseline power per source."""
        idle = [Recorder(meter, interval) for meter, interval in self._meters]
        for rec in idle:
            rec.record()
        samplers = start_samplers(idle)
        time.sleep(self.idle_seconds)
        for sampler in samplers:
            sampler.stop()
        for rec in idle:
            rec.record()
        for rec in idle:
            summary = rec.summary()
            if summary and summary["total"]["total_power_draw"] != -1 and summary["total"]["total_duration"] > 0:
                total = summary["total"]
                self.baseline_power_w[rec.meter.source] = total["total_power_draw"] / total["total_duration"]

    # results ----------------------------------------------------------------------------------------
    def _results(self) -> None:
        from .carbon import carbon_intensity, gco2e

        self.summaries, self.sources, self.energy_by_source = {}, {}, {}
        for rec in self.recorders:
            summary = rec.summary()
            self.summaries[rec.meter.source] = summary
            if summary is None or summary["total"]["total_power_draw"] == -1:
                continue  # no samples, or a source without power (psutil)
            self.sources[rec.meter.source] = "estimated" if rec.meter.estimated else "measured"
            self.energy_by_source[rec.meter.source] = summary["total"]["total_power_draw"]
        self.energy_ws = sum(self.energy_by_source.values())
        if self.baseline_power_w:
            idle = sum(self.baseline_power_w.get(src, 0.0) * self.summaries[src]["total"]["total_duration"]
                       for src in self.energy_by_source)
            self.dynamic_energy_ws = self.energy_ws - idle
        self.carbon_intensity_g_per_kwh, self.country_code, self.carbon_source = carbon_intensity(self.country)
        self.gco2e = gco2e(self.energy_ws, self.carbon_intensity_g_per_kwh)

    def energy_record(self) -> dict:
        """The content of <prefix>energy.json."""
        rec = {"energy_ws": self.energy_ws, "sources": self.sources,
               "energy_by_source_ws": self.energy_by_source,
               "start": self.start, "end": self.end,
               "idle_seconds": self.idle_seconds}
        if self.baseline_power_w:
            rec["baseline_power_w"] = self.baseline_power_w
            rec["dynamic_energy_ws"] = self.dynamic_energy_ws
        rec.update({"country": self.country, "carbon_intensity_g_per_kwh": self.carbon_intensity_g_per_kwh,
                    "carbon_intensity_source": self.carbon_source, "gco2e": self.gco2e,
                    "notes": self.notes, "error": self.error})
        return rec


def measure(output_dir=None, interval: float = 0.2, *, gpu_interval=None, cpu_interval=None,
            prefix: str = "", idle_seconds: float = 0.0, cpu_tdp=None, country=None,
            flush_every: float = 2.0) -> Measurement:
    """Measure the energy of a block: ``with measure(run_dir) as m: work()``; see Measurement.

    output_dir: where ``<prefix>monitoring_<source>.json`` and ``<prefix>energy.json`` go (None: no
    files); interval: seconds between samples, or per class ``gpu_interval``/``cpu_interval`` (0 turns
    that class off); idle_seconds: measure a baseline first; cpu_tdp: W for the estimate; country:
    ISO code of the grid for gCO2e; flush_every: seconds between file rewrites."""
    return Measurement(output_dir, interval, gpu_interval=gpu_interval, cpu_interval=cpu_interval,
                       prefix=prefix, idle_seconds=idle_seconds, cpu_tdp=cpu_tdp, country=country,
                       flush_every=flush_every)


def measured(output_dir=None, interval: float = 0.2, **kwargs):
    """Decorator form: each call of the function runs under ``measure(output_dir, ...)``; the
    Measurement of the latest call is the wrapper's ``last_measurement``."""
    import functools

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kw):
            m = Measurement(output_dir, interval, **kwargs)
            try:
                with m:
                    return fn(*args, **kw)
            finally:
                wrapper.last_measurement = m
        wrapper.last_measurement = None
        return wrapper
    return decorate
