"""Log a finished run folder to MLflow: params, metrics, tags and artifacts (run folder + label PDF).

    from mlel.apps.tracking import log_run
    run_id = log_run(Path("runs/infer_2026_..."), None, results_dir=Path("results"))

Default store: ``./mlruns`` (an MLflow file store; the lightweight ``mlflow-skinny`` client is enough).
Any tracking URI otherwise (``http://...``, ``sqlite:///...``, ``file:///...``, or a folder path).

What is logged (one MLflow run per run folder, experiment ``mlee`` unless told otherwise):

* params: the run's config (nested keys joined with ``.``);
* metrics: ``energy_j``, ``energy_per_sample_j`` (inference) or ``energy_per_epoch_j`` (training),
  ``runtime_s``, ``accuracy``/``top5_accuracy`` where measured, ``energy_<source>_j`` per power
  source, and — rated together with the merged logs of ``results_dir`` — every metric of SPEC §4 in
  its SPEC unit under its own key (``inference_power_draw``, ``top1_val``, ...) with ``index.<key>``;
* tags: ``mlee.task``, ``mlee.model``, ``mlee.backend``, ``mlee.environment``, ``mlee.estimated``
  (``true`` where any energy is estimated), ``mlee.reference``, ``mlee.rating.<key>``,
  ``mlee.compound`` (letters only where the reference model has results in the environment; else
  ``mlee.not_rated`` or ``mlee.not_graded``: the ratings pipeline's reason);
* artifacts: the run folder, its merged log (``merged_log.json``) and, when rated, ``label.pdf``.

The run is always rated by the ratings pipeline (:func:`mlel.ratings.rate_runs`), alone or with the
merged logs of ``results_dir``: a letter and its reason are the pipeline's, never this module's.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mlel.base.errors import InputError, MleeError, UsageError

DEFAULT_STORE = "mlruns"
DEFAULT_EXPERIMENT = "mlee"
_PARAM_CHUNK = 100      # MLflow's limit of params per log_batch call
_PARAM_MAX_CHARS = 6000  # MLflow's limit of one param value


@dataclass(frozen=True)
class TrackedRun:
    """What one run folder becomes in MLflow, computed without MLflow."""

    name: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    merged_log: dict
    summary: dict | None = None  # the rated summary (the pipeline's, letters or not)
    times_ms: tuple[int | None, int | None] = field(default=(None, None))
    not_rated: str | None = None  # why no compound letter (the pipeline's reason); None: rated


def flatten(config: dict, prefix: str = "") -> dict[str, str]:
    """Nested config -> {"a.b": "value"}; values as text, cut to MLflow's limit."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:_PARAM_MAX_CHARS]
    return flat


def _run_metrics(run, split: dict) -> dict[str, float]:
    """Measured quantities of the run itself (SI units)."""
    from mlel.runlog.logs import split_energy

    metrics = {"energy_j": run.energy_ws, "runtime_s": run.duration_s, "accuracy": run.accuracy,
               "top5_accuracy": run.top5_accuracy, "n_samples": run.n_samples, "epochs": run.epochs}
    if run.energy_ws is not None and run.n_samples:
        metrics["energy_per_sample_j"] = run.energy_ws / run.n_samples
    if run.energy_ws is not None and run.epochs:
        metrics["energy_per_epoch_j"] = run.energy_ws / run.epochs
    for source, energy in split_energy(split).energy_by_source_j.items():
        metrics[f"energy_{source}_j"] = energy
    return {key: float(value) for key, value in metrics.items() if value is not None}


def _rated_summary(run, results_dir: Path | None, reference: str | None) -> dict | None:
    """The run's rated summary, rated by the pipeline together with the merged logs of
    ``results_dir`` (alone without one); None only when the pipeline rates no entry of it."""
    from mlel.runlog.logs import load_logs
    from mlel.ratings import RatingOptions, rate_runs

    runs = [run]
    if results_dir is not None:
        try:
            others, _problems = load_logs(results_dir)  # unreadable files only cannot help rating
        except OSError as error:
            raise InputError(f"{results_dir}: cannot read the results to rate against ({error})") from None
        runs += [other for other in others if other.file != run.file]  # this run, merged there already
    rated, _warnings = rate_runs(runs, RatingOptions(reference=reference))
    return next((s for s in rated if run.file in s["logs"] and s["task"] == run.task), None)


def _why_not_rated(summary: dict | None) -> str | None:
    """The pipeline's reason why the run has no compound letter (None: it has one)."""
    if summary is None:
        return "the ratings pipeline rated no entry of this run"
    if summary.get("compound"):
        return None
    return (summary.get("not_graded") or summary.get("not_rated")
            or "no metric of the compound rating was rated")


def _rating_fields(summary: dict) -> tuple[dict[str, float], dict[str, str]]:
    metrics, tags = {}, {"mlee.graded": str(summary.get("graded", True)).lower()}
    if summary.get("not_graded"):  # kept and logged, but no letter (validity gates)
        tags["mlee.not_graded"] = summary["not_graded"]
    if summary.get("not_rated"):  # no letter without evidence: the reason, never an E
        tags["mlee.not_rated"] = summary["not_rated"]
    if summary.get("scheme"):
        tags["mlee.scheme"] = summary["scheme"]
    if summary.get("compound"):
        tags["mlee.compound"] = summary["compound"]
    for key, metric in summary["metrics"].items():
        if metric.get("value") is not None:
            metrics[key] = float(metric["value"])
        if metric.get("index") is not None:
            metrics[f"index.{key}"] = float(metric["index"])
        if metric.get("rating"):
            tags[f"mlee.rating.{key}"] = metric["rating"]
        elif metric.get("not_rated"):
            tags[f"mlee.not_rated.{key}"] = metric["not_rated"]
    return metrics, tags


def tracked_run(run_dir: Path, results_dir: Path | None = None, reference: str | None = None) -> TrackedRun:
    """Merge ``run_dir`` in memory and rate it (with the merged logs of ``results_dir``, against
    ``reference``, default: the task's own): what :func:`log_run` sends. Raises InputError when the
    folder is not a finished run or ``results_dir`` is not a readable directory."""
    from mlel.runlog.logs import LogFormatError, parse_log
    from mlel.runlog.merge import RunFolderError, merge_run_folder

    run_dir = Path(run_dir)
    try:
        merged = merge_run_folder(run_dir)
        run = parse_log(merged, f"{run_dir.name}.json")
    except (RunFolderError, LogFormatError, OSError) as error:
        raise InputError(f"{run_dir}: not a finished run folder ({error})") from None
    split = merged["validation"] if run.task == "inference" else merged
    metrics = _run_metrics(run, split)
    summary = _rated_summary(run, results_dir, reference)
    tags = {"mlee.task": run.task, "mlee.model": run.model, "mlee.backend": run.backend,
            "mlee.environment": run.environment, "mlee.dataset": run.dataset,
            "mlee.estimated": str("estimated" in run.sources.values()).lower(),
            "mlee.sources": ", ".join(f"{s} ({how})" for s, how in sorted(run.sources.items())),
            "mlee.reference": (summary or {}).get("reference") or reference or "",
            "mlee.run_folder": run_dir.name}
    if results_dir is not None:
        tags["mlee.rated_against"] = str(results_dir)
    if summary is not None:
        rating_metrics, rating_tags = _rating_fields(summary)
        metrics.update(rating_metrics)
        tags.update(rating_tags)
    results = split.get("results") or {}
    times = tuple(int(results[k] * 1000) if isinstance(results.get(k), (int, float)) else None
                  for k in ("start", "end"))
    return TrackedRun(run_dir.name, flatten(merged.get("config") or {}), metrics, tags, merged, summary, times,
                      _why_not_rated(summary))


def resolve_uri(tracking_uri: str | None) -> str:
    """None -> ./mlruns; a folder path -> its file: URI; a URI as it is. File stores are allowed
    explicitly (MLflow 3 refuses them unless told they are wanted)."""
    uri = tracking_uri or DEFAULT_STORE
    if "://" not in uri and not uri.startswith(("databricks", "sqlite:", "file:")):
        uri = Path(uri).resolve().as_uri()
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return uri


def _client(uri: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as error:
        raise UsageError("MLflow logging needs the mlflow client: pip install mlflow-skinny "
                         f"(or mlflow) ({error})") from None
    return MlflowClient(tracking_uri=uri)


def _send(client, experiment: str, record: TrackedRun, run_dir: Path) -> str:
    from mlflow.entities import Metric, Param, RunTag

    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    start_ms, end_ms = record.times_ms
    run_id = client.create_run(experiment_id, start_time=start_ms, run_name=record.name).info.run_id
    try:
        params = [Param(k, v) for k, v in record.params.items()]
        for i in range(0, len(params), _PARAM_CHUNK):
            client.log_batch(run_id, params=params[i:i + _PARAM_CHUNK])
        stamp = end_ms or start_ms or 0
        client.log_batch(run_id, metrics=[Metric(k, v, stamp, 0) for k, v in record.metrics.items()],
                         tags=[RunTag(k, v) for k, v in record.tags.items()])
        client.log_artifacts(run_id, str(run_dir), run_dir.name)
        _log_generated(client, run_id, record)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED", end_time=end_ms)
    return run_id


def _log_generated(client, run_id: str, record: TrackedRun) -> None:
    """The merged log and, when rated, the label PDF: written to a temp folder, then logged."""
    from mlel.base.io import dumps

    with tempfile.TemporaryDirectory(prefix="mlee-mlflow-") as folder:
        (Path(folder) / "merged_log.json").write_bytes(dumps(record.merged_log))
        if record.not_rated is None:  # a label without a compound letter would say nothing
            from mlel.labels import EnergyLabel

            (Path(folder) / "label.pdf").write_bytes(EnergyLabel(record.summary).to_pdf())
        client.log_artifacts(run_id, folder)


def log_record(record: TrackedRun, run_dir: Path, tracking_uri: str | None = None,
               experiment: str = DEFAULT_EXPERIMENT) -> str:
    """Send what :func:`tracked_run` made of ``run_dir`` to MLflow; returns the MLflow run id."""
    uri = resolve_uri(tracking_uri)
    try:
        return _send(_client(uri), experiment, record, Path(run_dir))
    except MleeError:
        raise
    except Exception as error:  # the client raises many kinds (MlflowException, OSError, HTTP errors)
        raise MleeError(f"cannot log {Path(run_dir).name} to MLflow at {uri}: "
                        f"{type(error).__name__}: {error}") from None


def log_run(run_dir: Path, tracking_uri: str | None = None, *, results_dir: Path | None = None,
            reference: str | None = None, experiment: str = DEFAULT_EXPERIMENT) -> str:
    """Log one finished run folder to MLflow; returns the MLflow run id.

    ``results_dir``: merged logs to rate the run among (index and rating need the reference model's
    results in the same environment). Raises :class:`MleeError` (InputError for a folder that is not
    a finished run, UsageError without the mlflow client, MleeError when the store is unusable)."""
    return log_record(tracked_run(Path(run_dir), results_dir, reference), Path(run_dir), tracking_uri, experiment)
