"""Import MLflow runs: from a local ``mlruns`` folder or a tracking URI (through the ``mlflow``
client; ``mlflow-skinny`` is enough), or from a CSV written by ``mlflow.search_runs()``.

Each run becomes a table row with the column names ``search_runs()`` gives (``run_id``,
``experiment_id``, ``status``, ``start_time``, ``metrics.<key>``, ``params.<key>``, ``tags.<key>``),
so one mapping works on both. Runs are taken in start-time order (then run id), so repeated runs of
one entry keep their file names across re-imports. Provenance: tool ``MLflow``, the source as given.

A local store is read through a private copy of its metadata (``meta.yaml``, metrics, params, tags;
no artifacts) made of regular files only, each size-capped (:func:`mlel.base.io.read_file_bytes`): a
FIFO, device, socket or symbolic link among them is named and skipped, never waited on or read
without end by the client.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mlel.base.errors import InputError, UsageError
from mlel.base.io import read_file_bytes
from mlel.importers.common import ImportReport
from mlel.results import Problem
from mlel.importers.table import TableMapping, import_csv, import_rows, resolve_property_set

TOOL = "MLflow"
_PAGE = 1000


def tracking_uri(source: str) -> str:
    """A tracking URI for ``source``: a folder becomes a ``file:`` store (it must hold an experiment,
    so the client never creates one in a folder that is not a store); a URI is used as it is."""
    path = Path(source)
    if path.is_dir():
        if not any(path.glob("*/meta.yaml")):
            raise UsageError(f"{source}: not an MLflow file store (no <experiment>/meta.yaml)")
        # MLflow 3 refuses file stores unless told they are wanted; reading one is exactly that
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        return path.resolve().as_uri()
    if "://" in source or source.startswith(("databricks", "sqlite:")):
        return source
    raise UsageError(f"{source}: no such folder, CSV file or tracking URI")


def _run_row(run) -> dict:
    info, data = run.info, run.data
    row = {"run_id": info.run_id, "experiment_id": info.experiment_id, "status": info.status,
           "start_time": info.start_time, "end_time": info.end_time}
    row.update({f"metrics.{k}": v for k, v in data.metrics.items()})
    row.update({f"params.{k}": v for k, v in data.params.items()})
    row.update({f"tags.{k}": v for k, v in data.tags.items()})
    return row


def fetch_runs(uri: str) -> list[dict]:
    """Every active run of every active experiment at ``uri``, as ``search_runs()`` columns."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as error:
        raise UsageError(f"reading an MLflow store needs the mlflow client (pip install mlflow-skinny): {error}") from None
    try:
        client = MlflowClient(tracking_uri=uri)
        experiment_ids = [e.experiment_id for e in client.search_experiments()]
        runs, token = [], None
        while experiment_ids:
            page = client.search_runs(experiment_ids, max_results=_PAGE, page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                break
    except Exception as error:  # the client raises many kinds (MlflowException, ImportError, OSError)
        raise InputError(f"{uri}: cannot read MLflow runs ({type(error).__name__}: {error})") from None
    rows = [_run_row(run) for run in runs]
    rows.sort(key=lambda r: (r["start_time"] or 0, r["run_id"]))
    return rows


def import_mlflow(source: str | os.PathLike, mapping: TableMapping, *, properties_file=None,
                  include_unfinished: bool = False) -> ImportReport:
    """Records of the MLflow runs at ``source`` (mlruns folder, tracking URI or search_runs CSV)."""
    source = str(source)
    if Path(source).is_file():
        return import_csv(source, mapping, properties_file=properties_file,
                          include_unfinished=include_unfinished, tool=TOOL)
    property_set = resolve_property_set(mapping.task, properties_file)
    uri, skipped = tracking_uri(source), []
    if Path(source).is_dir():
        with tempfile.TemporaryDirectory(prefix="mlel-mlruns-") as copy:
            skipped = regular_copy(Path(source), Path(copy), source)
            rows = fetch_runs(Path(copy).resolve().as_uri())
    else:
        rows = fetch_runs(uri)
    columns = sorted({key for row in rows for key in row})
    report = import_rows(rows, columns, mapping, file=source, tool=TOOL, property_set=property_set,
                         include_unfinished=include_unfinished)
    report.problems[:0] = skipped
    return report


def regular_copy(store: Path, target: Path, shown: str) -> list[Problem]:
    """Copy the store's metadata into ``target``, regular files only (no symbolic link followed,
    no run's ``artifacts``); returns one Problem per file refused, named by its path under ``shown``."""
    problems = []
    for root, dirs, files in os.walk(store):  # followlinks=False: a linked folder is not entered
        here = Path(root).relative_to(store)
        for name in [d for d in dirs if Path(root, d).is_symlink()]:
            problems.append(Problem(f"{shown}/{(here / name).as_posix()}", "a symbolic link: not read"))
        dirs[:] = sorted(d for d in dirs if not Path(root, d).is_symlink()
                         and not (d == "artifacts" and len(here.parts) == 2))
        (target / here).mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                data = read_file_bytes(Path(root, name), follow=False)
            except OSError as error:
                problems.append(Problem(f"{shown}/{(here / name).as_posix()}", str(error.strerror or error)))
                continue
            (target / here / name).write_bytes(data)
    return problems
