"""Record your own experiment: a measured block of any Python code -> a run folder that
``merge_results.py`` turns into one generic result record (see :mod:`mlel.runlog.recorded`).

    from mlel.record import experiment
    with experiment(task="generic", model="m", output_dir="runs") as run:
        run.add(samples=100)

The run folder of a recorded experiment (:func:`experiment`): written at the edges
of the block — setup files on entry, the monitor's files while it runs, results (or the mark of an
early end) on exit. The arithmetic is :mod:`mlel.runlog.recorded`'s."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from mlel.base.errors import UsageError
from mlel.base.names import file_safe_name
from mlel.experiment.rundir import create_run_dir, end_reason, mark_incomplete
from mlel.base.io import write_atomic, write_json
from mlel.monitoring import Measurement, MeasurementResult, measure
from mlel.base.platform import platform_record, requirements_lines
from mlel.tasks.properties import PropertySet, load_property_set

from mlel.runlog.recorded import PROPERTIES_FILE, RUN_KIND


def _number(key: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key}: must be a finite number, got {value!r}")
    return value


class RecordedRun:
    """One recorded experiment; ``with`` it around the work. ``log(key=value)`` sets a value (a
    count such as ``tokens``, or a property's own value, e.g. ``total_params``), ``add(key=n)`` adds
    to a count. After the block: ``folder``, ``result`` (the monitor's MeasurementResult),
    ``metrics`` and ``energy_j``."""

    def __init__(self, task: str, model: str, dataset: str, output_dir, *, name=None, backend=None,
                 properties=None, interval: float = 0.2, country=None, cpu_tdp=None, configuration=None):
        if not isinstance(model, str) or not model.strip():
            raise UsageError(f"model must be a non-empty string, got {model!r}")
        self.property_set: PropertySet = load_property_set(properties if properties is not None else task)
        if self.property_set.task != task:
            raise UsageError(f"the property set {properties} is for task '{self.property_set.task}', not '{task}'")
        self.task, self.model, self.dataset = task, model, dataset
        self.output_dir, self.name, self.backend = Path(output_dir), name, backend
        self.custom_properties = properties is not None
        self.interval, self.country, self.cpu_tdp = interval, country, cpu_tdp
        self.configuration = dict(configuration or {})
        self.metrics: dict[str, Any] = {}
        self.folder: Path | None = None
        self.measurement: Measurement | None = None

    # the block ---------------------------------------------------------------------------------------
    def __enter__(self) -> "RecordedRun":
        # "-", not "_": a run folder's name is split on "_" (<task>_<timestamp>)
        folder_task = file_safe_name(self.task, "run", sep="-").replace("_", "-")
        self.folder, stamp = create_run_dir(self.output_dir, folder_task)
        try:
            self._write_setup(stamp)
            self.measurement = measure(self.folder, self.interval, country=self.country, cpu_tdp=self.cpu_tdp)
            self.measurement.__enter__()
        except BaseException as exc:  # the folder exists: it must say why it has no results
            mark_incomplete(self.folder, end_reason(exc)[1])
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.measurement.__exit__(exc_type, exc, tb)
        result = self.measurement.result
        if exc_type is None:
            write_json(self.folder / "results.json", {"start": result.start_s, "end": result.end_s,
                                                       "task": self.task, "metrics": self.metrics})
        else:
            mark_incomplete(self.folder, end_reason(exc)[1], {"metrics": self.metrics})
        return False

    def _write_setup(self, stamp: str) -> None:
        config = {"kind": RUN_KIND, "task": self.task, "model": self.model, "name": self.name,
                  "dataset": self.dataset, "backend": self.backend, "configuration": self.configuration,
                  "interval": self.interval, "country": self.country, "cpu_tdp": self.cpu_tdp,
                  "output_dir": os.fspath(self.output_dir), "timestamp": stamp}
        write_json(self.folder / "config.json", config)
        if self.custom_properties:
            write_json(self.folder / PROPERTIES_FILE, self.property_set.to_dict())
        write_json(self.folder / "execution_platform.json", platform_record())
        write_atomic(self.folder / "requirements.txt", ("\n".join(requirements_lines()) + "\n").encode())

    # logging -----------------------------------------------------------------------------------------
    def log(self, **values: Any) -> None:
        """Set logged values (the latest wins); numbers only, so merge can compute with them."""
        for key, value in values.items():
            self.metrics[key] = _number(key, value)

    def add(self, **increments: float) -> None:
        """Add to counts (``run.add(tokens=17, responses=1)`` once per response)."""
        for key, value in increments.items():
            self.metrics[key] = self.metrics.get(key, 0) + _number(key, value)

    # after the block ---------------------------------------------------------------------------------
    @property
    def result(self) -> MeasurementResult | None:
        return None if self.measurement is None else self.measurement.result

    @property
    def energy_j(self) -> float | None:
        return None if self.result is None else self.result.energy_j


def experiment(task: str, model: str, dataset: str = "", output_dir: str | os.PathLike = "runs", *,
               name: str | None = None, backend: str | None = None, properties=None,
               interval: float = 0.2, country: str | None = None, cpu_tdp: float | None = None,
               **configuration):
    """Measure a block as one recorded experiment; see the module's docstring and
    :class:`RecordedRun`. Keyword settings beyond these go to ``configuration``."""
    return RecordedRun(task, model, dataset, output_dir, name=name, backend=backend,
                       properties=properties, interval=interval, country=country, cpu_tdp=cpu_tdp,
                       configuration=configuration)
