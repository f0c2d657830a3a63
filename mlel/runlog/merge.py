"""Run folders (SPEC §2) -> merged logs (SPEC §3, the 2022 schema plus our keys).

``merge_run_folder(path)`` reads one folder and returns the merged log (a dict); nothing is written.
``merge_directory(runs, output_dir)`` merges every run folder under ``runs`` into
``<output_dir>/<folder name>.json`` safely:

* a log is published create-exclusive (written to a temp file, then hard-linked to its name, which
  fails if the name exists): two merges into one folder never overwrite each other's logs;
* an existing log is never overwritten without ``force``; one with the same content is left alone
  and reported as already merged, so merging twice is a no-op;
* a run without results (crashed, interrupted — even before its platform file was written) is
  merged with ``"incomplete": true`` and the reason;
* a folder whose files do not parse is reported with the file and the reason; the others are merged;
* an output folder that is a file, unwritable or full ends in one line and exit 1, no temp file left;
  SIGTERM / SIGINT during a write act once the file is published or removed, and the temp files a
  SIGKILLed merge left (our own name pattern, their process gone) are removed by the next run;
* run-folder files are read as regular files only (a symbolic link, FIFO or device is refused, named).

What goes where in a merged log is :mod:`mlel.runlog.logs`'s business (:class:`~mlel.runlog.logs.MergedLog`);
monitoring series are summarised by ``mlel.monitoring.summary`` (the monitor's own code). The CLI
(``merge_results.py``) exits with 0 when every folder is merged or up to date, 1 when a folder failed,
an existing log differs (use ``--force``) or the output cannot be written, 2 on bad arguments, 3 when
``--directory`` holds no run folder, 130 on SIGINT and 143 on SIGTERM (one line, no traceback; every log
is written whole or not at all).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tarfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path


from mlel.base.errors import EXIT_CODES_EPILOG, EXIT_FAILED, EXIT_OK, EXIT_SIGTERM, EXIT_USAGE, MleeError, OutputError
from mlel.base.stopping import until_stopped
from mlel.base.io import dumps, publish, remove_stale_temps
from mlel.runlog.folder import (RunFolderError, folder_requirements, read_folder_json, read_split,
                                 read_trust_split, run_task)
from mlel.runlog.logs import MergedLog
from mlel.runlog.merge_report import report, summary_table  # noqa: F401 - summary_table: public here too

_RUN_NAME = re.compile(r"^(infer|train)_\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}")

EXIT_NOTHING = 3


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


def _setup_files(folder: Path, prefix: str) -> tuple[dict, dict | None]:
    """(config, platform). A run interrupted before writing them (SIGTERM right after its folder
    was made) has no results either: it is incomplete, not broken."""
    results_written = (folder / f"{prefix}results.json").is_file()
    config = read_folder_json(folder, "config.json", required=results_written)
    if config is not None and not isinstance(config, dict):
        raise RunFolderError("config.json", "not a JSON object")
    platform = read_folder_json(folder, "execution_platform.json", required=results_written)
    return config or {}, platform


def portable_config(config: dict, base: Path) -> dict:
    """Paths under ``base`` (the directory merge runs in) written relative to it: a merged log
    names the run's files without the machine's absolute paths (README: our own results/)."""
    prefix = str(base.resolve()).rstrip(os.sep) + os.sep
    return {key: value[len(prefix):] if isinstance(value, str) and value.startswith(prefix) else value
            for key, value in config.items()}


def build_merged_log(path, train_dirs=()) -> MergedLog:
    """One run folder -> its MergedLog record. Raises RunFolderError for files that do not parse."""
    folder = Path(path)
    if not folder.is_dir():
        raise RunFolderError(str(folder), "not a directory")
    task = run_task(folder)
    prefix = "validation_" if task == "inference" else ""
    config, platform = _setup_files(folder, prefix)
    split, reason = read_split(folder, prefix)
    if not config or platform is None:
        missing = "config.json" if not config else "execution_platform.json"
        reason = f"interrupted before {missing} was written ({reason})"
    training = None
    if task == "inference":
        found = find_training_folder(config.get("infer_model"), folder.parent, train_dirs)
        if found is not None and found.resolve() != folder.resolve():
            try:
                training = merge_run_folder(found, train_dirs)
            except RunFolderError as exc:
                raise RunFolderError(f"{found.name}/{exc.file}", f"training folder: {exc.reason}") from exc
    trust = read_trust_split(folder) if task == "inference" else None
    return MergedLog(folder.name, portable_config(config, Path.cwd()), platform, folder_requirements(folder),
                     task, split, training, reason, trust)


def merge_run_folder(path, train_dirs=()) -> dict:
    """One run folder -> its merged log (or generic result record) as a dict. Raises RunFolderError."""
    return build_run_record(path, train_dirs).to_dict()


def build_run_record(path, train_dirs=()):
    """One run folder -> a MergedLog, or a MergedRecord for a recorded experiment (mlel.runlog.recorded)."""
    from mlel.runlog.record_merge import build_recorded, recorded_config
    config = recorded_config(Path(path))
    return build_merged_log(path, train_dirs) if config is None else build_recorded(Path(path), config)


# --- merging a directory ---------------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened to one run folder."""
    folder: Path
    status: str            # merged | overwritten | unchanged | exists | failed
    output: Path | None = None
    message: str = ""
    record: MergedLog | None = field(default=None, repr=False)  # or a MergedRecord (mlel.runlog.recorded)

    @property
    def ok(self) -> bool:
        return self.status in ("merged", "overwritten", "unchanged")

    @property
    def log(self) -> dict | None:
        return None if self.record is None else self.record.to_dict()


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


def archive_folder(folder: Path, log_dir: Path, force: bool = False) -> str:
    """Keep a .tar.gz of the raw run folder (streamed to a temp file, renamed when complete)."""
    target = log_dir / f"{folder.name}.tar.gz"
    if target.exists() and not force:
        return f"archive {target.name} kept"
    tmp = log_dir / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "xb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            tar.add(folder, arcname=folder.name)
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return f"archived to {target.name}"


def _make_dir(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{what} {path}: exists and is not a directory") from None
    except OSError as exc:
        raise OutputError(f"{what} {path}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {path}: not writable")


def _merge_one(folder: Path, target: Path, train_dirs, output_log_dir, force: bool) -> Outcome:
    try:
        record = build_run_record(folder, train_dirs)
    except RunFolderError as exc:
        return Outcome(folder, "failed", message=str(exc))
    try:
        status = publish(target, dumps(record.to_dict()), force)
    except OutputError as exc:
        return Outcome(folder, "failed", message=str(exc), record=record)
    if status == "unchanged":
        return Outcome(folder, status, target, "already merged, nothing to do", record)
    if status == "exists":
        return Outcome(folder, status, target, f"{target.name} exists and differs; --force overwrites it",
                       record)
    message = f"incomplete: {record.incomplete_reason}" if record.incomplete_reason else ""
    if output_log_dir is not None:
        try:
            note = archive_folder(folder, Path(output_log_dir), force)
        except OutputError as exc:
            return Outcome(folder, "failed", target, f"merged, but {exc}", record)
        message = f"{message}; {note}" if message else note
    return Outcome(folder, status, target, message, record)


def merge_directory(directory, output_dir, *, train_dirs=(), output_log_dir=None,
                    force: bool = False) -> list[Outcome]:
    """Merge every run folder under directory into output_dir; one Outcome per folder.
    Raises OutputError when output_dir (or output_log_dir) is not a writable directory."""
    output_dir = Path(output_dir)
    _make_dir(output_dir, "output folder")
    remove_stale_temps(output_dir)
    if output_log_dir is not None:
        _make_dir(Path(output_log_dir), "archive folder")
        remove_stale_temps(output_log_dir)
    outcomes, seen = [], {}
    for folder in find_run_folders(directory):
        if folder.name in seen:
            outcomes.append(Outcome(folder, "failed", message=f"same name as {seen[folder.name]}"))
            continue
        seen[folder.name] = folder
        outcomes.append(_merge_one(folder, output_dir / f"{folder.name}.json", train_dirs,
                                   output_log_dir, force))
    return outcomes


# --- the command line ------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="merge_results.py",
                                 description="Merge run folders into one JSON log each (SPEC §3).",
                                 epilog=EXIT_CODES_EPILOG)
    ap.add_argument("-d", "--directory", default="runs",
                    help="folder holding run folders, at any depth (default: runs)")
    ap.add_argument("--output-dir", default="results", help="where merged logs go (default: results)")
    ap.add_argument("--train-dirs", action="append", default=[], metavar="DIR",
                    help="where to look for training folders that inference runs name (repeatable)")
    ap.add_argument("--output-log-dir", default=None, metavar="DIR",
                    help="also keep a .tar.gz of each raw run folder here")
    ap.add_argument("--force", action="store_true", help="overwrite merged logs that differ")
    return ap


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if not Path(args.directory).is_dir():
        print(f"merge_results.py: --directory {args.directory}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    code = until_stopped(lambda: _run(args),
                         lambda how: f"merge_results.py: {how}: stopped; logs in {args.output_dir} are whole")
    if code == EXIT_SIGTERM:  # SystemExit(143), as before: a caller of main() sees the exit it asked for
        raise SystemExit(code)
    return code


def _run(args) -> int:
    try:
        for folder in {args.output_dir, args.output_log_dir} - {None}:
            for name in remove_stale_temps(folder):
                print(f"merge_results.py: removed {Path(folder, name)}, a temp file an interrupted merge left",
                      file=sys.stderr)
        outcomes = merge_directory(args.directory, args.output_dir, train_dirs=args.train_dirs,
                                   output_log_dir=args.output_log_dir, force=args.force)
    except MleeError as exc:
        print(f"merge_results.py: {exc}", file=sys.stderr)
        return exc.exit_code
    if not outcomes:
        print(f"merge_results.py: no run folders under {args.directory}", file=sys.stderr)
        return EXIT_NOTHING
    report(outcomes, args.output_dir)
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED


if __name__ == "__main__":  # python -m mlel.merge (merge_results.py is its shim)
    sys.exit(main())
