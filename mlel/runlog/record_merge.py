"""Merge's branch for a recorded experiment's run folder (:mod:`mlel.runlog.recorded`): the folder's files
-> one generic result record (``mlee-result/1``). It reads with merge's own helpers (the same
errors, the same monitoring summaries) and leaves the arithmetic to :mod:`mlel.runlog.recorded`."""
from __future__ import annotations

from pathlib import Path

from mlel.base.environment import backend_name, hardware_name
from mlel.base.errors import MleeError
from mlel.runlog.logs import split_energy
from mlel.runlog.folder import RunFolderError, folder_requirements, read_folder_json, read_split
from mlel.runlog.run_facts import source_totals, windows_of
from mlel.tasks.properties import PropertySet, load_property_set, read_property_set
from mlel.runlog.recorded import Measured, MergedRecord, build_record, is_recorded_config, numeric_metrics
from mlel.runlog.recorded import PROPERTIES_FILE


def recorded_config(folder: Path) -> dict | None:
    """config.json of a recorded experiment, else None (infer/train folders and unreadable configs
    are the merged-log branch's business)."""
    if not folder.is_dir():
        return None
    try:
        config = read_folder_json(folder, "config.json")
    except RunFolderError:
        return None
    return config if is_recorded_config(config) else None


def _property_set(folder: Path, task) -> PropertySet:
    custom = (folder / PROPERTIES_FILE).is_file()
    try:
        return read_property_set(folder / PROPERTIES_FILE) if custom else load_property_set(str(task))
    except MleeError as exc:
        raise RunFolderError(PROPERTIES_FILE if custom else "config.json", f"task: {exc}") from exc


def _logged_so_far(folder: Path) -> dict:
    """The metrics an interrupted run had logged (kept in incomplete.json)."""
    try:
        info = read_folder_json(folder, "incomplete.json")
    except RunFolderError:
        return {}  # the run died while writing why
    return numeric_metrics(info.get("metrics")) if isinstance(info, dict) else {}


def build_recorded(folder: Path, config: dict) -> MergedRecord:
    """A recorded experiment's folder -> its MergedRecord; without results.json it is incomplete,
    and the metrics logged so far and the monitored window still count."""
    prop_set = _property_set(folder, config.get("task"))
    split, reason = read_split(folder, "")
    energy = split_energy({f"monitoring_{s}": v for s, v in split.monitoring.items()})
    if split.results is None:
        totals = [(summary or {}).get("total") or {} for summary in split.monitoring.values()]
        duration = max((t["total_duration"] for t in totals if t.get("total_duration")), default=None)
        metrics = _logged_so_far(folder)
    else:
        duration, metrics = split.duration_s, numeric_metrics(split.results.get("metrics"))
    platform = read_folder_json(folder, "execution_platform.json")
    backend = config.get("backend")
    software = backend_name(str(backend), list(folder_requirements(folder))) if backend else ""
    hardware = hardware_name(platform) if isinstance(platform, dict) else "unknown hardware"
    # each power source's window, as a merged log's are read; one interval samples every source
    interval = config.get("interval")
    windows = windows_of(source_totals(split.monitoring, energy.sources), interval, interval)
    measured = Measured(energy.energy_j, energy.energy_by_source_j, energy.sources, duration, metrics, windows)
    return MergedRecord(build_record(config, measured, prop_set, hardware, software, folder.name),
                        measured, reason)
