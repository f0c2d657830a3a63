"""Reading one run folder's files (SPEC §2): its JSON files, requirements, monitoring series and
splits, each failure a :class:`RunFolderError` naming the file. Merge (:mod:`mlel.runlog.merge`) and
its branch for recorded experiments (:mod:`mlel.runlog.record_merge`) both read through here.

Every file is read as a regular file of the run folder itself, size-capped
(:func:`mlel.base.io.read_file_bytes` with ``follow=False``): a symbolic link (to ``/etc/passwd``, to
``/dev/zero``), a FIFO, a device or a socket is refused and named, never copied into a merged log,
waited on or read without end."""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from mlel.base.io import file_kind, read_file_bytes, read_json
from mlel.monitoring.sources import KNOWN_SOURCES  # merged even when absent (null); others found are added
from mlel.monitoring.summary import MonitoringFileError, summarize_file
from mlel.runlog.logs import Split

TRUST_PREFIX = "trust_"  # infer.py --trust: its own measured window's files (issue 28)
_MONITORING = re.compile(r"^(?P<prefix>[a-z]+_)?monitoring_(?P<source>[A-Za-z0-9]+)\.jsonl?$")


class RunFolderError(ValueError):
    """A run folder cannot be merged: ``file`` names the culprit, the message says why."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file, self.reason = file, reason



def _present(folder: Path, name: str) -> bool:
    """Whether the run folder holds ``name``: False when absent, True for a regular file;
    RunFolderError naming anything else (a symbolic link, a FIFO, a device, a socket, a folder)."""
    try:
        mode = os.lstat(folder / name).st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise RunFolderError(name, f"cannot read ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(mode):
        raise RunFolderError(name, f"{file_kind(mode)}, not a regular file of the run folder: refused")
    return True


def read_folder_json(folder: Path, name: str, required: bool = False):
    if not _present(folder, name):
        if required:
            raise RunFolderError(name, "missing")
        return None
    try:
        return read_json(folder / name, follow=False)
    except OSError as exc:  # FileRefused: replaced since, or over the size cap
        raise RunFolderError(name, f"cannot read ({exc.strerror or exc})") from exc
    except ValueError as exc:  # decode errors and the depth cap are ValueErrors
        raise RunFolderError(name, f"does not parse ({exc})") from exc


def folder_requirements(folder: Path) -> tuple[str, ...]:
    if not _present(folder, "requirements.txt"):
        return ()
    try:
        text = read_file_bytes(folder / "requirements.txt", follow=False).decode(errors="replace")
    except OSError as exc:
        raise RunFolderError("requirements.txt", f"cannot read ({exc.strerror or exc})") from exc
    return tuple(line for line in text.splitlines() if line.strip())


def run_task(folder: Path) -> str:
    """'inference' or 'training', from the folder name (SPEC §2), else from the files in it."""
    folder = Path(folder)
    if folder.name.startswith("infer_"):
        return "inference"
    if folder.name.startswith("train_"):
        return "training"
    if any(folder.glob("validation_*")):
        return "inference"
    return "training"


def read_monitoring(folder: Path, prefix: str) -> dict:
    """source -> SPEC §3 summary (None where absent), from the .json series or, for a killed run,
    the .jsonl."""
    sources = list(KNOWN_SOURCES)
    for path in sorted(folder.glob(f"{prefix}monitoring_*.json*")):
        m = _MONITORING.match(path.name)
        if m and (m.group("prefix") or "") == prefix and m.group("source") not in sources:
            sources.append(m.group("source"))  # a source this project may add later
    out = {}
    for source in sources:
        name = f"{prefix}monitoring_{source}.json"
        _present(folder, f"{name}l")  # the series' own reader follows links: refused here first
        _present(folder, name)
        try:
            out[source] = summarize_file(folder / name)
        except MonitoringFileError as exc:
            raise RunFolderError(name, str(exc)) from exc
    return out


def incomplete_reason(folder: Path, prefix: str) -> str:
    info = None
    try:
        info = read_folder_json(folder, "incomplete.json")
    except RunFolderError:
        pass  # the run died while writing why: the missing results say enough
    reason = info.get("reason") if isinstance(info, dict) else None
    return reason or f"no {prefix}results.json (run crashed or was interrupted)"


def read_split(folder: Path, prefix: str) -> tuple[Split, str | None]:
    """(the split, the reason it is incomplete or None)."""
    monitoring = read_monitoring(folder, prefix)
    results = read_folder_json(folder, f"{prefix}results.json")
    if results is not None and not isinstance(results, dict):
        raise RunFolderError(f"{prefix}results.json", "not a JSON object")
    duration = None
    if results is not None:
        try:
            duration = float(results["end"]) - float(results["start"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RunFolderError(f"{prefix}results.json", f"no numeric start/end ({exc})") from exc
    split = Split(monitoring, results, duration, read_folder_json(folder, f"{prefix}energy.json"))
    return split, None if results is not None else incomplete_reason(folder, prefix)


def read_trust_split(folder: Path) -> Split | None:
    """The trust window of an ``infer.py --trust`` run (trust_results.json, its monitoring and
    energy), None for a run without one; results None where the trust passes did not finish."""
    if not any(folder.glob(f"{TRUST_PREFIX}*")):
        return None
    return read_split(folder, TRUST_PREFIX)[0]
