"""mlel.apps.tracking: real run folders (real monitoring, merge_helpers.make_run) logged with the real
MLflow client to a temporary file store, read back with mlflow.search_runs()."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from merge_helpers import make_run
from mlel.base.errors import InputError, MleeError, UsageError
from mlel.runlog.merge import merge_directory
from mlel.ratings.report import rate_directory
from mlel.apps.tracking import log_run, resolve_uri

mlflow = pytest.importorskip("mlflow")


@pytest.fixture()
def measured(tmp_path):
    """A reference run (ResNet101) already merged into results/, and a ResNet50 run to log."""
    runs, results = tmp_path / "runs", tmp_path / "results"
    make_run(runs, "infer_2026_01_01_00_00_01", model="ResNet101", accuracy=0.77, seconds=1.1)
    merge_directory(runs, results)
    run = make_run(runs, "infer_2026_01_01_00_00_02", model="ResNet50", accuracy=0.76, seconds=1.05)
    return run, results


def _search(store: Path, **filters):
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri(store.resolve().as_uri())
    try:
        return mlflow.search_runs(search_all_experiments=True, **filters)
    finally:
        mlflow.set_tracking_uri(None)


def test_a_run_logged_to_a_file_store_carries_config_energy_index_rating_and_label(measured, tmp_path):
    run, results = measured
    store = tmp_path / "store"
    run_id = log_run(run, str(store), results_dir=results)

    found = _search(store)
    assert list(found["run_id"]) == [run_id]
    row = found.iloc[0]
    assert row["status"] == "FINISHED"
    assert row["params.model"] == "ResNet50" and row["params.batch_size"] == "8"
    assert row["tags.mlee.task"] == "inference" and row["tags.mlee.model"] == "ResNet50"
    assert row["tags.mlee.estimated"] == "true"  # no RAPL/NVML here: the CPU energy is an estimate
    assert row["metrics.energy_j"] > 0 and row["metrics.runtime_s"] > 0
    assert row["metrics.energy_per_sample_j"] == pytest.approx(row["metrics.energy_j"] / 64)
    assert row["metrics.accuracy"] == pytest.approx(0.76)
    per_source = [c for c in found.columns if c.startswith("metrics.energy_") and c.endswith("_j")
                  and c not in ("metrics.energy_per_sample_j",)]
    assert sum(row[c] for c in per_source if c != "metrics.energy_j") == pytest.approx(row["metrics.energy_j"])

    # the same index and ratings as rating the merged logs directly
    merge_directory(run.parent, results)
    direct = next(s for s in rate_directory(results).rated if s["model"] == "ResNet50")
    for key in ("inference_power_draw", "inference_time", "top1_val"):
        assert row[f"metrics.index.{key}"] == pytest.approx(direct["metrics"][key]["index"])
        assert row[f"metrics.{key}"] == pytest.approx(direct["metrics"][key]["value"])
        assert row[f"tags.mlee.rating.{key}"] == direct["metrics"][key]["rating"]
    assert row["tags.mlee.compound"] == direct["compound"]
    assert row["tags.mlee.environment"] == direct["environment"]

    artifacts = Path(mlflow.artifacts.download_artifacts(artifact_uri=row["artifact_uri"],
                                                         dst_path=str(tmp_path / "download")))
    assert (artifacts / run.name / "config.json").is_file()
    assert (artifacts / "merged_log.json").is_file()
    assert (artifacts / "label.pdf").read_bytes().startswith(b"%PDF")


def test_without_the_reference_there_is_no_rating_and_no_label(measured, tmp_path):
    run, _results = measured
    store = tmp_path / "store"
    log_run(run, str(store))  # rated alone: ResNet101 is not there
    row = _search(store).iloc[0]
    assert row["metrics.energy_j"] > 0
    assert not any(c.startswith(("metrics.index.", "tags.mlee.rating.")) for c in row.index if row[c] == row[c])
    artifacts = Path(mlflow.artifacts.download_artifacts(artifact_uri=row["artifact_uri"],
                                                         dst_path=str(tmp_path / "download")))
    assert not (artifacts / "label.pdf").exists()


def test_default_store_is_mlruns_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_uri(None) == (tmp_path / "mlruns").as_uri()
    assert resolve_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_unfinished_folder_unusable_store_and_missing_client_raise_mlee_errors(measured, tmp_path, monkeypatch):
    run, _results = measured
    crashed = make_run(tmp_path / "runs", "infer_2026_01_01_00_00_03", complete=False, reason="SIGTERM")
    with pytest.raises(InputError, match="not a finished run folder"):
        log_run(crashed, str(tmp_path / "store"))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(MleeError, match="cannot log .* to MLflow at file:"):
        log_run(run, str(blocker / "store"))
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)  # as if mlflow were not installed
    with pytest.raises(UsageError, match="pip install mlflow-skinny"):
        log_run(run, str(tmp_path / "store"))


def test_sweep_mlflow_hook_logs_every_finished_run_and_reports_what_it_cannot(measured, tmp_path):
    from mlel.apps import sweep

    run, results = measured
    crashed = make_run(tmp_path / "runs", "infer_2026_01_01_00_00_04", complete=False, reason="SIGTERM")
    store, messages = tmp_path / "store", []
    assert sweep._mlflow_hook(None, results, messages.append) is None  # no --mlflow: nothing logged
    hook = sweep._mlflow_hook(str(store), results, messages.append)
    hook(sweep.Outcome("infer_ResNet50", True, [str(run), str(crashed)]))
    found = _search(store)
    assert list(found["tags.mlee.run_folder"]) == [run.name]
    assert any(m.startswith(f"mlflow: {crashed.name} not logged") for m in messages), messages


def test_round_trip_importing_the_logged_runs_rates_as_the_merged_logs(tmp_path):
    """Runs logged by log_run, read back by the MLflow importer and rated, get the ratings that
    rating their merged logs directly gives (issue 16's acceptance)."""
    importers = pytest.importorskip("mlel.importers.mlflow_runs")
    from mlel.importers.table import ColumnMap, TableMapping
    from mlel.tasks.properties import load_property_set
    from mlel.ratings.rated import ModelResult
    from mlel.ratings import rate_entries

    runs, results, store = tmp_path / "runs", tmp_path / "results", tmp_path / "store"
    for second, (model, accuracy, seconds) in enumerate([("ResNet101", 0.77, 1.1), ("ResNet50", 0.76, 1.05),
                                                         ("VGG16", 0.71, 1.02)]):
        make_run(runs, f"infer_2026_01_01_00_00_0{second}", model=model, accuracy=accuracy, seconds=seconds)
    merge_directory(runs, results)
    for run in sorted(runs.iterdir()):
        log_run(run, str(store), results_dir=results)

    keys = load_property_set("inference").keys
    mapping = TableMapping(task="inference", model="tags.mlee.model", environment=("tags.mlee.environment",),
                           properties=tuple(ColumnMap.parse(f"{k}=metrics.{k}") for k in keys))
    records = importers.import_mlflow(store, mapping).records
    assert len(records) == 3
    entries = [ModelResult("inference", r.environment.name, r.model, [r.model], {k: r.value(k) for k in keys})
               for r in records]
    imported = {r.model: r.to_dict() for r in rate_entries(entries)[0]}
    direct = {s["model"]: s for s in rate_directory(results).rated}
    assert set(imported) == set(direct)
    for model, summary in direct.items():
        assert imported[model]["compound"] == summary["compound"], model
        for key in keys:
            assert imported[model]["metrics"][key]["rating"] == summary["metrics"][key]["rating"], (model, key)
            assert imported[model]["metrics"][key]["value"] == pytest.approx(summary["metrics"][key]["value"])
