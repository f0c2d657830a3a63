"""The MLflow importer on REAL runs logged by the mlflow client into a temporary file store, read
through the client (folder and file: URI) and from a search_runs() CSV export."""
from __future__ import annotations

import os

import pytest

from mlel.base import units
from mlel.importers.cli import main
from mlel.importers.mlflow_runs import import_mlflow
from mlel.importers.table import ColumnMap, TableMapping
from mlel.results import read_result_records

import mlflow  # mlflow-skinny: a requirement of the MLflow importer

RUNS = [  # model, hardware, status, metrics
    ("ResNet50", "A100", "FINISHED", {"running_time": 0.002, "energy": 2e-5, "acc": 76.1}),
    ("ResNet101", "A100", "FINISHED", {"running_time": 0.004, "energy": 4e-5, "acc": 77.4}),
    ("VGG16", "A100", "FAILED", {"running_time": 0.009}),
    ("MobileNetV2", "A100", "FINISHED", {"running_time": 0.001, "energy": 1e-5}),  # logged no accuracy
]
MAPS = ["inference_time=metrics.running_time:s", "inference_power_draw=metrics.energy:kWh",
        "top1_val=metrics.acc:%", "parameters=params.params:count"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow") / "mlruns"
    previous = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    mlflow.set_tracking_uri(folder.as_uri())
    mlflow.set_experiment("energy")
    for model, hardware, status, metrics in RUNS:
        mlflow.start_run(run_name=model)
        mlflow.log_params({"model": model, "hardware": hardware, "backend": "PyTorch", "params": 25.6e6})
        mlflow.log_metrics(metrics)
        mlflow.end_run(status=status)
    export = folder.parent / "runs.csv"
    mlflow.search_runs(search_all_experiments=True).to_csv(export, index=False)
    mlflow.set_tracking_uri(None)
    if previous is None:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    return folder, export


def _mapping(**changes):
    values = dict(task="inference", model="params.model", environment=("params.hardware", "params.backend"),
                  properties=tuple(ColumnMap.parse(m) for m in MAPS))
    values.update(changes)
    return TableMapping(**values)


def test_finished_runs_become_records_in_the_2022_units(store):
    folder, _ = store
    report = import_mlflow(folder, _mapping())
    by_model = {r.model: r for r in report.records}
    assert set(by_model) == {"ResNet50", "ResNet101", "MobileNetV2"}
    resnet = by_model["ResNet50"]
    assert resnet.value("inference_time") == pytest.approx(2.0)  # 0.002 s per sample -> ms / sample
    assert resnet.properties["inference_time"].unit == "ms / sample"
    assert resnet.value("inference_power_draw") == pytest.approx(2e-5 * units.J_PER_KWH)  # Ws / sample
    assert resnet.value("top1_val") == pytest.approx(0.761)
    assert resnet.value("parameters") == pytest.approx(25.6)
    assert resnet.environment.name == "A100 - PyTorch" and resnet.environment.hardware == "A100"
    assert resnet.provenance.tool == "MLflow" and {p.source for p in resnet.properties.values()} == {"reported"}
    assert by_model["MobileNetV2"].value("top1_val") is None  # not logged: n.a., not an error


def test_unfinished_runs_are_skipped_and_reported_or_included_marked(store):
    folder, _ = store
    report = import_mlflow(folder, _mapping())
    assert [(p.field, "FAILED" in p.reason) for p in report.problems] == [("status", True)]
    included = import_mlflow(folder, _mapping(), include_unfinished=True)
    vgg = next(r for r in included.records if r.model == "VGG16")
    assert "unfinished" in vgg.notes and "FAILED" in vgg.notes


def test_the_search_runs_csv_gives_the_same_records(store):
    folder, export = store
    from_store = import_mlflow(folder, _mapping()).records
    from_csv = import_mlflow(export, _mapping()).records
    key = lambda r: r.model  # noqa: E731
    assert [(r.model, dict(r.properties), r.environment) for r in sorted(from_csv, key=key)] == \
        [(r.model, dict(r.properties), r.environment) for r in sorted(from_store, key=key)]
    assert all(r.provenance.file == "runs.csv" for r in from_csv)


def test_cli_with_uri_and_maps_writes_records_that_read_back(store, tmp_path, capsys):
    folder, _ = store
    out = tmp_path / "out"
    argv = ["mlflow", folder.as_uri(), "--output-dir", str(out), "--model", "params.model",
            "--environment", "params.hardware,params.backend", "--task", "inference"]
    for m in MAPS:
        argv += ["--map", m]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "inference 3" in captured.out and "status: run status FAILED" in captured.err
    assert len(read_result_records(out).records) == 3
    assert main(argv) == 0
    assert "0 written, 3 unchanged" in capsys.readouterr().out


def test_usage_errors_exit_2(store, tmp_path, capsys):
    folder, _ = store
    base = ["mlflow", str(folder), "--output-dir", str(tmp_path / "o"), "--model", "params.model",
            "--environment", "params.hardware", "--task", "inference"]
    assert main(base + ["--map", "energy_per_token=metrics.energy"]) == 2  # not a property of the task
    assert "no such property" in capsys.readouterr().err
    assert main(base + ["--map", "inference_time=metrics.running_time:parsec$"]) == 2
    assert main(base) == 2  # nothing mapped
    assert main(["mlflow", str(tmp_path), "--output-dir", str(tmp_path / "o"), "--model", "m", "--environment", "e",
                 "--task", "inference", "--map", "inference_time=x"]) == 2  # not a store
    assert not (tmp_path / "0").exists()  # and nothing was created in it
