"""infer.py / train.py ``--mlflow --rate-against DIR`` (issue 26): a run rated by the ratings pipeline
together with the merged logs of DIR logs its rated metrics, letters, compound and label PDF to a real
MLflow file store; a run that cannot be rated says in one line why, in the pipeline's words.

Real run folders (real monitoring, merge_helpers.make_run: their environment is the helper's fixed
platform, so the test holds on any machine) go through the real command line with a runner that
hands back the folder instead of measuring a model; the last test rates a fresh train.py run against
the project's own results/ (where this machine's environment is among them)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from merge_helpers import make_run
from mlel.apps.experiment_cli import build_infer_parser, cli_main, log_to_mlflow
from mlel.base.errors import EXIT_OK, EXIT_USAGE
from mlel.experiment import InferOptions, RunResult
from mlel.ratings.report import rate_directory
from mlel.runlog.merge import merge_directory

mlflow = pytest.importorskip("mlflow")
REPO = Path(__file__).resolve().parents[1]
NOT_LOGGED = "--mlflow: ratings not logged: "


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """results/ with a merged ResNet101 (the reference), others/ with a merged VGG16 only (same
    environment, no reference), and a ResNet50 run folder to log."""
    base = tmp_path_factory.mktemp("firsthour")
    runs = base / "runs"
    make_run(runs, "infer_2026_01_01_00_00_01", model="ResNet101", accuracy=0.77, seconds=1.1)
    make_run(runs, "infer_2026_01_01_00_00_02", model="VGG16", accuracy=0.71, seconds=1.2)
    merge_directory(runs, base / "merged")
    (base / "results").mkdir()
    (base / "others").mkdir()
    shutil.copy2(base / "merged" / "infer_2026_01_01_00_00_01.json", base / "results")
    shutil.copy2(base / "merged" / "infer_2026_01_01_00_00_02.json", base / "others")
    run = make_run(base / "new", "infer_2026_01_01_00_00_03", model="ResNet50", accuracy=0.76, seconds=1.05)
    return base, run


def _direct(run: Path, directory: Path | None, tmp_path: Path) -> dict:
    """The run's summary as `python -m mlel.ratings` rates it, merged beside the logs of ``directory``."""
    together = tmp_path / "together"
    together.mkdir()
    for log in sorted(directory.glob("*.json")) if directory else ():
        shutil.copy2(log, together)
    merge_directory(run.parent, together)
    return next(s for s in rate_directory(together).rated if s["model"] == "ResNet50")


def _infer(run: Path, *args: str) -> int:
    def runner(opts):
        return RunResult(run, EXIT_OK)
    return cli_main(build_infer_parser("mlee-infer"), InferOptions, runner, ["--model", "resnet50", *args])


def _logged(store: Path, tmp_path: Path):
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri(store.resolve().as_uri())
    try:
        (row,) = [row for _, row in mlflow.search_runs(search_all_experiments=True).iterrows()]
    finally:
        mlflow.set_tracking_uri(None)
    artifacts = Path(mlflow.artifacts.download_artifacts(artifact_uri=row["artifact_uri"],
                                                         dst_path=str(tmp_path / "download")))
    return row, artifacts


def test_rated_against_the_reference_logs_values_indices_letters_compound_and_label(folders, tmp_path, capsys):
    base, run = folders
    store = tmp_path / "store"
    assert _infer(run, "--mlflow", str(store), "--rate-against", str(base / "results")) == EXIT_OK
    out = capsys.readouterr().out
    direct = _direct(run, base / "results", tmp_path)
    assert direct["compound"] in "ABCDE" and f"compound rating {direct['compound']}" in out
    assert NOT_LOGGED not in out

    row, artifacts = _logged(store, tmp_path)
    assert row["tags.mlee.compound"] == direct["compound"]
    assert row["tags.mlee.reference"] == "ResNet101"
    assert row["tags.mlee.rated_against"] == str(base / "results")
    for key, metric in direct["metrics"].items():
        if metric["value"] is None:  # not measured (a run without --trust): its reason, never a letter
            assert row[f"tags.mlee.not_rated.{key}"] == metric["not_rated"], key
            assert f"tags.mlee.rating.{key}" not in row and f"metrics.{key}" not in row, key
            continue
        assert row[f"tags.mlee.rating.{key}"] == metric["rating"], key
        assert row[f"metrics.index.{key}"] == pytest.approx(metric["index"]), key
        assert row[f"metrics.{key}"] == pytest.approx(metric["value"]), key
    assert "tags.mlee.not_rated" not in row or row["tags.mlee.not_rated"] != row["tags.mlee.not_rated"]  # NaN
    assert (artifacts / "label.pdf").read_bytes().startswith(b"%PDF")
    assert (artifacts / run.name / "config.json").is_file()


def test_without_rate_against_one_line_gives_the_pipelines_reason(folders, tmp_path, capsys):
    base, run = folders
    store = tmp_path / "store"
    assert _infer(run, "--mlflow", str(store)) == EXIT_OK
    reason = _direct(run, None, tmp_path)["not_rated"]  # alone: a lone model
    assert reason.startswith("lone model")
    lines = [line for line in capsys.readouterr().out.splitlines() if "ratings not logged" in line]
    assert lines == [f"{NOT_LOGGED}rated alone (no --rate-against DIR): {reason}"]

    row, artifacts = _logged(store, tmp_path)
    assert row["tags.mlee.not_rated"] == reason
    assert not any(c.startswith(("tags.mlee.rating.", "metrics.index.")) and row[c] == row[c] for c in row.index)
    assert row["metrics.energy_j"] > 0 and row["metrics.inference_power_draw"] > 0  # values still logged
    assert not (artifacts / "label.pdf").exists()


def test_a_directory_without_the_reference_in_the_environment_says_so(folders, tmp_path, capsys):
    base, run = folders
    store = tmp_path / "store"
    assert _infer(run, "--mlflow", str(store), "--rate-against", str(base / "others")) == EXIT_OK
    reason = _direct(run, base / "others", tmp_path)["not_rated"]
    assert reason.startswith("no ResNet101 in")
    lines = [line for line in capsys.readouterr().out.splitlines() if "ratings not logged" in line]
    assert lines == [f"{NOT_LOGGED}rated with {base / 'others'}: {reason}"]
    row, artifacts = _logged(store, tmp_path)
    assert row["tags.mlee.not_rated"] == reason and not (artifacts / "label.pdf").exists()


@pytest.mark.parametrize("args,words", [(["--rate-against", "."], "give --mlflow"),
                                        (["--mlflow", "--rate-against", "no/such/dir"], "no/such/dir: not a directory")])
def test_rate_against_is_checked_before_the_run(args, words, capsys):
    def runner(opts):
        raise AssertionError("the experiment must not start")
    with pytest.raises(SystemExit) as stopped:
        cli_main(build_infer_parser("mlee-infer"), InferOptions, runner, ["--model", "resnet50", *args])
    assert stopped.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "mlee-infer: error: --rate-against" in err and words in err


def test_a_fresh_training_run_rates_against_the_projects_results(torch_trained_run, tmp_path, capsys):
    """A real train.py run of this machine, rated against results/ of this repository: letters only
    where results/ holds ResNet101 training in this machine's environment (it does on the machine
    the results were measured on: 'EPYC - PyTorch 2.14.1'; elsewhere this test says so and skips)."""
    from mlel.apps.tracking import tracked_run

    results = REPO / "results"
    record = tracked_run(torch_trained_run, results)
    environment = record.tags["mlee.environment"]
    references = {s["environment"] for s in rate_directory(results, task="training").rated
                  if s["model"] == "ResNet101"}
    if environment not in references:
        pytest.skip(f"results/ has no ResNet101 training in this machine's environment '{environment}' "
                    f"(it has {sorted(references)}): the tests above rate folders of a fixed environment")
    store = tmp_path / "store"
    assert log_to_mlflow(torch_trained_run, str(store), str(results)) == EXIT_OK
    assert NOT_LOGGED not in capsys.readouterr().out
    row, artifacts = _logged(store, tmp_path)
    assert row["tags.mlee.compound"] == record.summary["compound"] and row["tags.mlee.compound"] in "ABCDE"
    assert row["tags.mlee.rating.train_power_draw"] in "ABCDE"
    assert (artifacts / "label.pdf").read_bytes().startswith(b"%PDF")
