"""The monitor: ``measure()`` runs meters in background threads around a block of code.

The first and last samples of the power meters are taken in the caller's thread at block entry and
exit, stamped with ``start`` and ``end``: the measured window is the block. While it runs, samples
go to append-only ``.jsonl`` files (:mod:`.series`: a SIGKILL loses at most ``flush_every``
seconds); at the end each source's series is written whole as ``<prefix>monitoring_<source>.json``,
and the result — a frozen :class:`~.records.MeasurementResult` — as ``<prefix>energy.json``.
"""
from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

from mlel.base.errors import OutputError
from mlel.base.io import write_json

from . import recorder as _recorder
from .energy import dynamic_energy_j, sum_energy
from .meters import open_meters
from .records import MeasurementResult, SourceEnergy
from .recorder import DEFAULT_FLUSH_S, Recorder, Sampler, start_samplers
from .sources import NO_POWER
from .summary import energy_check_notes

log = logging.getLogger("mlel.monitoring")

__all__ = ["Measurement", "MeasurementResult", "Recorder", "Sampler", "discover_meters", "measure",
           "measured", "start_samplers"]


def discover_meters(gpu_interval: float, cpu_interval: float, cpu_tdp=None):
    """[(meter, interval)] of every available source, and notes saying what was found and why not:
    the registered meters (:mod:`.meters`), tried in the source table's order."""
    # importing a meter module registers it
    from . import amd_energy, amdsmi, estimate, jetson, nvml, powermetrics, process, rapl  # noqa: F401

    return open_meters(gpu_interval, cpu_interval, cpu_tdp)


def _baseline_power_w(idle: list) -> dict:
    """Average power per source over an idle phase (sources with power and a positive duration)."""
    out = {}
    for rec in idle:
        summary = rec.summary()
        total = (summary or {}).get("total") or {}
        energy, duration = total.get("total_power_draw"), total.get("total_duration") or 0.0
        if energy is not None and energy != NO_POWER and duration > 0:
            out[rec.meter.source] = energy / duration
    return out


def _source_energies(recorders: list) -> tuple[dict, tuple, tuple]:
    """(summaries of every source, SourceEnergy of each power source, energies left out and why)."""
    summaries, energies, problems = {}, [], []
    for rec in recorders:
        summary = rec.summary()
        summaries[rec.meter.source] = summary
        total = (summary or {}).get("total")
        if total is None or total["total_power_draw"] == NO_POWER:
            continue  # no samples, or a source without power (psutil)
        problems += [f"{rec.meter.source}: {p}" for p in total.get("energy_problems", [])]
        if total["total_power_draw"] is None:
            continue
        energies.append(SourceEnergy(rec.meter.source, total["total_power_draw"],
                                     total["total_duration"], bool(rec.meter.estimated)))
    return summaries, tuple(energies), tuple(problems)


def build_result(recorders: list, start_s: float, end_s: float, *, idle_seconds: float = 0.0,
                 baseline_power_w: dict | None = None, country=None, notes=(), error=None) -> MeasurementResult:
    """The frozen result of a finished block, from its recorders."""
    from .carbon import carbon_intensity, gco2e

    summaries, sources, problems = _source_energies(recorders)
    checks = energy_check_notes(summaries)  # the counter check's flags: said at the end of the run
    for note in checks:
        log.warning("monitoring: %s", note)
    notes = (*notes, *checks)
    total = sum_energy(s.energy_j for s in sources)
    energy_j = total.total_j or 0.0
    baseline = dict(baseline_power_w or {})
    dynamic = dynamic_energy_j({s.source: s.energy_j for s in sources},
                               {s.source: s.duration_s for s in sources}, baseline)
    intensity, _, carbon_source = carbon_intensity(country)
    return MeasurementResult(
        start_s=start_s, end_s=end_s, energy_j=energy_j, sources=sources, summaries=summaries,
        idle_seconds=idle_seconds, baseline_power_w=baseline, dynamic_energy_j=dynamic,
        country=country, carbon_intensity_g_per_kwh=intensity, carbon_intensity_source=carbon_source,
        gco2e=gco2e(energy_j, intensity), notes=tuple(notes), error=error,
        problems=problems + tuple(f"total: {p}" for p in total.rejected))


class Measurement:
    """What ``measure()`` returns: a context manager; after the block, ``result`` holds the frozen
    :class:`~.records.MeasurementResult`. The attributes of earlier releases read from it:
    ``energy_ws`` (J of all power sources, each device once), ``energy_by_source``, ``sources``
    (power source -> "measured" | "estimated"), ``summaries`` (source -> SPEC §3 summary, psutil
    included), ``start``/``end`` (unix s), ``baseline_power_w`` and ``dynamic_energy_ws`` (with an
    idle baseline), ``gco2e``, ``notes`` (what was measured how), ``error``."""

    def __init__(self, output_dir=None, interval: float = 0.2, *, gpu_interval=None, cpu_interval=None,
                 prefix: str = "", idle_seconds: float = 0.0, cpu_tdp=None, country=None,
                 flush_every: float = DEFAULT_FLUSH_S, meters=None):
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.gpu_interval = interval if gpu_interval is None else gpu_interval
        self.cpu_interval = interval if cpu_interval is None else cpu_interval
        self.prefix = prefix
        self.idle_seconds = float(idle_seconds or 0.0)
        self.cpu_tdp = cpu_tdp
        self.country = country
        self.flush_every = flush_every
        self._meters = meters  # [(meter, interval)]: instead of discovery (tests, custom meters)
        self._notes: list[str] = []
        self._baseline_power_w: dict = {}
        self.recorders: list[Recorder] = []
        self.samplers: list[Sampler] = []
        self.start: float | None = None
        self.result: MeasurementResult | None = None

    # life cycle -------------------------------------------------------------------------------------
    def __enter__(self) -> "Measurement":
        if self._meters is None:
            self._meters, notes = discover_meters(self.gpu_interval, self.cpu_interval, self.cpu_tdp)
            self._notes.extend(notes)
        for note in self._notes:
            (log.warning if "ESTIMATED" in note or "not readable" in note else log.info)(
                "monitoring: %s", note)
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        if self.idle_seconds > 0:
            self._baseline_power_w = self._measure_idle()
        self.recorders = [Recorder(meter, interval, self._path(meter.source), self.flush_every)
                          for meter, interval in self._meters]
        # first samples back to back, power meters first, threads after: the window starts at the block
        self.recorders.sort(key=lambda rec: not rec.measures_power)
        self.start = _recorder.clock()
        for rec in self.recorders:
            rec.record(self.start if rec.measures_power else None)
        self.samplers = start_samplers(self.recorders)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        # runs for KeyboardInterrupt too: stop and flush first, then let the exception propagate
        self.stop(error=None if exc_type is None else exc_type.__name__)
        return False

    def stop(self, error: str | None = None) -> MeasurementResult | None:
        if self.result is not None or self.start is None:
            return self.result  # already stopped, or never started
        for sampler in self.samplers:
            sampler.stop()
        end = _recorder.clock()
        for rec in self.recorders:  # last samples back to back: the window ends at the block
            rec.record(end if rec.measures_power else None)
        for rec in self.recorders:
            rec.finish()
        self._close_meters()
        self.result = build_result(self.recorders, self.start, end, idle_seconds=self.idle_seconds,
                                   baseline_power_w=self._baseline_power_w, country=self.country,
                                   notes=self._notes, error=error)
        if self.output_dir is not None:
            try:
                write_json(self.output_dir / f"{self.prefix}energy.json", self.result.to_dict())
            except OutputError as exc:  # the series files hold the samples; say why this one is missing
                log.warning("monitoring: %s", exc)
        return self.result

    def _close_meters(self) -> None:
        for meter, _ in self._meters:
            try:
                meter.close()
            except Exception as exc:  # closing a driver must not hide the result: logged
                log.warning("monitoring %s: close failed (%s: %s)", meter.source, type(exc).__name__, exc)

    def _path(self, source: str):
        if self.output_dir is None:
            return None
        return self.output_dir / f"{self.prefix}monitoring_{source}.json"

    def _measure_idle(self) -> dict:
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
        return _baseline_power_w(idle)

    # the results, read from the frozen record -------------------------------------------------------
    @property
    def end(self) -> float | None:
        return None if self.result is None else self.result.end_s

    @property
    def energy_ws(self) -> float:
        return 0.0 if self.result is None else self.result.energy_j

    @property
    def energy_by_source(self) -> dict:
        return {} if self.result is None else self.result.energy_by_source_j

    @property
    def sources(self) -> dict:
        return {} if self.result is None else self.result.source_kinds

    @property
    def summaries(self) -> dict:
        return {} if self.result is None else dict(self.result.summaries)

    @property
    def baseline_power_w(self) -> dict:
        return dict(self._baseline_power_w)

    @property
    def dynamic_energy_ws(self) -> float | None:
        return None if self.result is None else self.result.dynamic_energy_j

    @property
    def gco2e(self) -> float | None:
        return None if self.result is None else self.result.gco2e

    @property
    def notes(self) -> list[str]:
        return list(self._notes)

    @property
    def error(self) -> str | None:
        return None if self.result is None else self.result.error

    def energy_record(self) -> dict:
        """The content of <prefix>energy.json."""
        return {} if self.result is None else self.result.to_dict()


def measure(output_dir=None, interval: float = 0.2, *, gpu_interval=None, cpu_interval=None,
            prefix: str = "", idle_seconds: float = 0.0, cpu_tdp=None, country=None,
            flush_every: float = DEFAULT_FLUSH_S) -> Measurement:
    """Measure the energy of a block: ``with measure(run_dir) as m: work()``; see Measurement.

    output_dir: where ``<prefix>monitoring_<source>.json`` and ``<prefix>energy.json`` go (None: no
    files); interval: seconds between samples, or per class ``gpu_interval``/``cpu_interval`` (0 turns
    that class off); idle_seconds: measure a baseline first; cpu_tdp: W for the estimate; country:
    ISO code of the grid for gCO2e; flush_every: at most this many seconds of samples are lost if the
    process is killed."""
    return Measurement(output_dir, interval, gpu_interval=gpu_interval, cpu_interval=cpu_interval,
                       prefix=prefix, idle_seconds=idle_seconds, cpu_tdp=cpu_tdp, country=country,
                       flush_every=flush_every)


def measured(output_dir=None, interval: float = 0.2, **kwargs):
    """Decorator form: each call of the function runs under ``measure(output_dir, ...)``; the
    Measurement of the latest call is the wrapper's ``last_measurement``."""

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
