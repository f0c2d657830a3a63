"""Run folders (SPEC §2) -> merged logs (SPEC §3, the 2022 schema plus our keys).

``merge_run_folder(path)`` reads one folder and returns the merged log (a dict); nothing is written.
``merge_directory(runs, output_dir)`` merges every run folder under ``runs`` into
``<output_dir>/<folder name>.json`` safely:

* writes are atomic (temp file + rename): a crash never leaves half a log;
* an existing log is never overwritten without ``force``; one with the same content is left alone
  and reported as already merged, so merging twice is a no-op;
* a run without results (crashed, interrupted) is merged with ``"incomplete": true`` and the reason;
* a folder whose files do not parse is reported with the file and the reason; the others are merged.

Monitoring files are summarised by ``mlel.monitoring.summary`` (the monitor's own code).
The CLI (``merge_results.py``) exits with 0 when every folder is merged or up to date, 1 when a
folder failed or an existing log differs (use ``--force``), 2 on bad arguments, 3 when ``--directory``
holds no run folder.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mlel.monitoring.summary import MonitoringFileError, summarize_file

# The 2022 sources, always present (null when missing), then ours.
SOURCES_2022 = ("pynvml", "pyrapl", "psutil")
EXTRA_SOURCES = ("estimate",)
_RUN_NAME = re.compile(r"^(infer|train)_\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}")
_MONITORING = re.compile(r"^(?P<prefix>[a-z]+_)?monitoring_(?P<source>[A-Za-z0-9]+)\.json$")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOTHING = 0, 1, 2, 3


class RunFolderError(ValueError):
    """A run folder cannot be merged: ``file`` names the culprit, the message says why."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file, self.reason = file, reason


# --- reading one folder ----------------------------------------------------------------------------

def _read_json(folder: Path, name: str, required: bool = False):
    path = folder / name
    if not path.is_file():
        if required:
            raise RunFolderError(name, "missing")
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(name, f"does not parse ({exc})") from exc


def _requirements(folder: Path) -> list[str]:
    path = folder / "requirements.txt"
    if not path.is_file():
        return []
    return [line for line in path.read_text(errors="replace").splitlines() if line.strip()]


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


def _monitoring(folder: Path, prefix: str) -> dict:
    sources = list(SOURCES_2022) + list(EXTRA_SOURCES)
    for path in sorted(folder.glob(f"{prefix}monitoring_*.json")):
        m = _MONITORING.match(path.name)
        if m and (m.group("prefix") or "") == prefix and m.group("source") not in sources:
            sources.append(m.group("source"))  # a source this project may add later
    out = {}
    for source in sources:
        name = f"{prefix}monitoring_{source}.json"
        try:
            out[f"monitoring_{source}"] = summarize_file(folder / name)
        except MonitoringFileError as exc:
            raise RunFolderError(name, str(exc)) from exc
    return out


def _split(folder: Path, prefix: str) -> tuple[dict, str | None]:
    """(the split's merged block, reason it is incomplete or None)."""
    block = _monitoring(folder, prefix)
    results = _read_json(folder, f"{prefix}results.json")
    if results is not None and not isinstance(results, dict):
        raise RunFolderError(f"{prefix}results.json", "not a JSON object")
    block["results"] = results
    duration = None
    if results is not None:
        try:
            duration = float(results["end"]) - float(results["start"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RunFolderError(f"{prefix}results.json", f"no numeric start/end ({exc})") from exc
    block["duration"] = duration
    block["energy"] = _read_json(folder, f"{prefix}energy.json")
    reason = None
    if results is None:
        info = None
        try:
            info = _read_json(folder, "incomplete.json")
        except RunFolderError:
            pass  # the run died while writing why: the missing results say enough
        reason = (info or {}).get("reason") if isinstance(info, dict) else None
        reason = reason or f"no {prefix}results.json (run crashed or was interrupted)"
    return block, reason


def find_training_folder(ref, base: Path, train_dirs=()) -> Path | None:
    """The training run folder an inference config's ``infer_model`` points to, if it is one."""
    if not isinstance(ref, str) or not ref:
        return None
    ref_path = Path(ref)
    candidates = [ref_path] if ref_path.is_absolute() else [base / ref_path, Path.cwd() / ref_path]
    # runs move between machines: look for the folder by name beside the inference run, and in train_dirs
    candidates += [base / ref_path.name] + [Path(d) / ref_path.name for d in train_dirs]
    for cand in candidates:
        if cand.is_dir() and (cand / "config.json").is_file() and run_task(cand) == "training":
            return cand
    return None


def merge_run_folder(path, train_dirs=()) -> dict:
    """One run folder -> its merged log (dict). Raises RunFolderError for files that do not parse."""
    folder = Path(path)
    if not folder.is_dir():
        raise RunFolderError(str(folder), "not a directory")
    config = _read_json(folder, "config.json", required=True)
    if not isinstance(config, dict):
        raise RunFolderError("config.json", "not a JSON object")
    platform = _read_json(folder, "execution_platform.json", required=True)
    log = {"directory_name": folder.name, "config": config, "execution_platform": platform,
           "requirements": _requirements(folder)}
    if run_task(folder) == "inference":
        log["train"] = {f"monitoring_{s}": None for s in SOURCES_2022} | {"results": None, "duration": None}
        log["validation"], reason = _split(folder, "validation_")
        training = find_training_folder(config.get("infer_model"), folder.parent, train_dirs)
        if training is not None and training.resolve() != folder.resolve():
            try:
                log["training"] = merge_run_folder(training, train_dirs)
            except RunFolderError as exc:
                raise RunFolderError(f"{training.name}/{exc.file}", f"training folder: {exc.reason}") from exc
    else:
        block, reason = _split(folder, "")
        log.update(block)
    if reason:
        log["incomplete"] = True
        log["incomplete_reason"] = reason
    return log


# --- merging a directory ---------------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened to one run folder."""
    folder: Path
    status: str            # merged | overwritten | unchanged | exists | failed
    output: Path | None = None
    message: str = ""
    log: dict | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status in ("merged", "overwritten", "unchanged")


def find_run_folders(directory) -> list[Path]:
    """Run folders under directory (any depth): folders with a config.json or a run-folder name.
    A directory that is itself a run folder is merged alone."""
    directory = Path(directory)
    if (directory / "config.json").is_file():
        return [directory]
    found = []
    for root, dirs, files in os.walk(directory):
        root = Path(root)
        if root != Path(directory) and ("config.json" in files or _RUN_NAME.match(root.name)):
            found.append(root)
            dirs[:] = []  # a run folder's subfolders are its own business
        else:
            dirs.sort()
    return sorted(found, key=lambda p: p.name)


def dumps(log: dict) -> bytes:
    return (json.dumps(log, indent=4) + "\n").encode()


def write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def archive_folder(folder: Path, log_dir: Path, force: bool = False) -> str:
    target = log_dir / f"{folder.name}.tar.gz"
    if target.exists() and not force:
        return f"archive {target.name} kept"
    fd, tmp = tempfile.mkstemp(dir=log_dir, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            tar.add(folder, arcname=folder.name)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return f"archived to {target.name}"


def merge_directory(directory, output_dir, *, train_dirs=(), output_log_dir=None,
                    force: bool = False) -> list[Outcome]:
    """Merge every run folder under directory into output_dir; one Outcome per folder."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if output_log_dir is not None:
        Path(output_log_dir).mkdir(parents=True, exist_ok=True)
    outcomes, seen = [], {}
    for folder in find_run_folders(directory):
        target = output_dir / f"{folder.name}.json"
        if folder.name in seen:
            outcomes.append(Outcome(folder, "failed", message=f"same name as {seen[folder.name]}"))
            continue
        seen[folder.name] = folder
        try:
            log = merge_run_folder(folder, train_dirs)
        except RunFolderError as exc:
            outcomes.append(Outcome(folder, "failed", message=str(exc)))
            continue
        data = dumps(log)
        if target.exists():
            if target.read_bytes() == data:
                outcomes.append(Outcome(folder, "unchanged", target, "already merged, nothing to do", log))
                continue
            if not force:
                outcomes.append(Outcome(folder, "exists", target,
                                        f"{target.name} exists and differs; --force overwrites it", log))
                continue
        status = "overwritten" if target.exists() else "merged"
        write_atomic(target, data)
        message = "incomplete: " + log["incomplete_reason"] if log.get("incomplete") else ""
        if output_log_dir is not None:
            note = archive_folder(folder, Path(output_log_dir), force)
            message = f"{message}; {note}" if message else note
        outcomes.append(Outcome(folder, status, target, message, log))
    return outcomes


# --- reporting -------------------------------------------------------------------------------------

def _row(outcome: Outcome) -> list[str]:
    log = outcome.log or {}
    config = log.get("config") or {}
    split = log.get("validation") if "validation" in log else log
    split = split or {}
    results = split.get("results") or {}
    model = config.get("model") or config.get("infer_model") or "?"
    if isinstance(model, str) and os.sep in model:
        model = Path(model).name
    duration = split.get("duration")
    acc = (results.get("metrics") or {}).get("accuracy")
    if acc is None and isinstance(results.get("history"), dict):
        history = results["history"].get("val_accuracy") or results["history"].get("accuracy") or []
        acc = history[-1] if history else None
    energy, kinds = 0.0, set()
    for key, summary in split.items():
        if key.startswith("monitoring_") and isinstance(summary, dict):
            total = summary.get("total") or {}
            draw = total.get("total_power_draw")
            if isinstance(draw, (int, float)) and draw >= 0:
                energy += draw
                kinds.add("estimated" if total.get("estimated") else "measured")
    return [outcome.folder.name, str(model), str(config.get("backend", "?")),
            f"{duration:.1f} s" if isinstance(duration, (int, float)) else "-",
            f"{acc:.3f}" if isinstance(acc, (int, float)) else "-",
            f"{energy:.1f} Ws" if kinds else "-", "+".join(sorted(kinds)) or "-",
            outcome.status + (" (incomplete)" if log.get("incomplete") else "")]


def summary_table(outcomes: list[Outcome]) -> str:
    head = ["run", "model", "backend", "duration", "accuracy", "energy", "source", "status"]
    rows = [head] + [_row(o) for o in outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="merge_results.py",
                                 description="Merge run folders into one JSON log each (SPEC §3).")
    ap.add_argument("--directory", required=True, help="folder holding run folders (any depth)")
    ap.add_argument("--output-dir", default="results", help="where merged logs go (default: results)")
    ap.add_argument("--train-dirs", action="append", default=[], metavar="DIR",
                    help="where to look for training folders that inference runs name (repeatable)")
    ap.add_argument("--output-log-dir", default=None, metavar="DIR",
                    help="also keep a .tar.gz of each raw run folder here")
    ap.add_argument("--force", action="store_true", help="overwrite merged logs that differ")
    args = ap.parse_args(argv)
    if not Path(args.directory).is_dir():
        print(f"merge_results.py: --directory {args.directory}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    outcomes = merge_directory(args.directory, args.output_dir, train_dirs=args.train_dirs,
                               output_log_dir=args.output_log_dir, force=args.force)
    if not outcomes:
        print(f"merge_results.py: no run folders under {args.directory}", file=sys.stderr)
        return EXIT_NOTHING
    for o in outcomes:
        if o.status == "failed":
            print(f"FAILED {o.folder}: {o.message}", file=sys.stderr)
        elif o.status == "exists":
            print(f"SKIPPED {o.folder.name}: {o.message}", file=sys.stderr)
        elif o.message and o.status != "unchanged":
            print(f"{o.status} {o.folder.name}: {o.message}")
    print(summary_table(outcomes))
    counts = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    print(", ".join(f"{n} {status}" for status, n in counts.items()) + f" -> {Path(args.output_dir)}")
    if counts.get("unchanged") == len(outcomes):
        print("already merged: nothing to do, nothing written")
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED
