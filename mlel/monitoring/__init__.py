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
from .monitor import Measurement, measure, measured
from .records import MeasurementResult, Sample, SourceEnergy, SourceMeta
from .series import read_series
from .summary import MonitoringFileError, summarize, summarize_file

__all__ = ["measure", "measured", "Measurement", "MeasurementResult", "Sample", "SourceEnergy",
           "SourceMeta", "summarize", "summarize_file", "read_series", "MonitoringFileError"]
