"""Power monitoring: measure the energy of any block of Python code.

    from mlel.monitoring import measure
    with measure("runs/x", interval=0.2, prefix="validation_", country="DEU") as m:
        work()
    m.result           # the frozen MeasurementResult: energy_j, sources, summaries, start_s, end_s, ...
    m.energy_ws        # J of all power sources over the block, each device once
    m.sources          # {"pynvml": "measured", "estimate": "estimated", ...}
    m.summaries        # {source: SPEC §3 summary}, psutil included
    m.start, m.end     # unix seconds

    @measured("runs/y")            # decorator form; the wrapper's .last_measurement holds the result
    def train(): ...

Sources, each appended to ``<output_dir>/<prefix>monitoring_<source>.jsonl`` while the block runs
(handed to the kernel every ``flush_every`` = 0.25 s: a SIGKILL loses at most that), written whole
as ``<prefix>monitoring_<source>.json`` and summarised on exit:
``pynvml`` (NVIDIA GPUs, energy counter or integrated power), ``pyrapl`` (RAPL package and DRAM via
powercap sysfs, ``$MLEL_POWERCAP_ROOT``), ``psutil`` (the process tree: CPU %, memory; no power) and,
only where no CPU power sensor can be read, ``estimate`` (TDP × utilisation, flagged estimated).
On exit ``<prefix>energy.json`` records energy, sources, idle baseline (``idle_seconds``) and gCO2e
(``country``: ISO code, CodeCarbon's offline grid data). Options: ``gpu_interval``/``cpu_interval``
(default ``interval``; 0 turns that class of meters off), ``cpu_tdp`` (W, for the estimate).
"""
import importlib

# Lazy (PEP 562): readers of merged logs import mlel.monitoring.energy without starting the monitor's
# machinery (threads, psutil, series files) — a tenth of a second in every rating CLI run.
_EXPORTS = {"measure": "monitor", "measured": "monitor", "Measurement": "monitor",
            "MeasurementResult": "records", "Sample": "records", "SourceEnergy": "records",
            "SourceMeta": "records", "read_series": "series", "MonitoringFileError": "summary",
            "summarize": "summary", "summarize_file": "summary"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
