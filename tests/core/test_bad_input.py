"""Bad input: each problem is named, the rest still rated, exit codes per SPEC §7."""
import json
import shutil
import subprocess
import sys

import pytest

from mlel.runlog.logs import load_logs
from mlel.ratings import rate_runs


def ratings_cli(*args):
    return subprocess.run([sys.executable, "-m", "mlel.ratings", *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture
def mixed_dir(tmp_path, reference_dir):
    """Three real logs (ResNet101, EfficientNetB0 on A100 TF), plus broken and foreign files."""
    for name in ("infer_2022_03_03_17_21_20.json", "infer_2022_03_03_17_30_03.json",
                 "train_2022_03_04_15_28_22.json"):
        shutil.copy(reference_dir / name, tmp_path / name)
    text = (reference_dir / "infer_2022_03_03_17_25_29.json").read_text()
    (tmp_path / "truncated.json").write_text(text[: len(text) // 2])
    (tmp_path / "foreign.json").write_text(json.dumps({"hello": [1, 2, 3]}))
    (tmp_path / "array.json").write_text("[1, 2]")
    (tmp_path / "incomplete.json").write_text(json.dumps({"incomplete": True, "incomplete_reason": "SIGTERM"}))
    (tmp_path / "notes.txt").write_text("not a log, not even .json")
    return tmp_path


def test_problems_named_rest_rated(mixed_dir):
    runs, problems = load_logs(mixed_dir)
    assert len(runs) == 3
    reasons = {p.file: p.reason for p in problems}
    assert set(reasons) == {"truncated.json", "foreign.json", "array.json", "incomplete.json"}
    assert "not valid JSON" in reasons["truncated.json"]
    assert "config" in reasons["foreign.json"]
    assert "list" in reasons["array.json"]
    assert "incomplete" in reasons["incomplete.json"] and "SIGTERM" in reasons["incomplete.json"]


def test_cli_reports_and_rates(mixed_dir):
    out = ratings_cli("--directory", mixed_dir, "--json")
    assert out.returncode == 0
    for name in ("truncated.json", "foreign.json", "array.json", "incomplete.json"):
        assert name in out.stderr
    assert len(json.loads(out.stdout)) == 3


def test_empty_directory_exits_nonzero(tmp_path):
    out = ratings_cli("--directory", tmp_path)
    assert out.returncode == 1
    assert "nothing could be rated" in out.stderr and str(tmp_path) in out.stderr


def test_missing_directory_is_usage_error(tmp_path):
    out = ratings_cli("--directory", tmp_path / "nope")
    assert out.returncode == 2 and "nope" in out.stderr


def test_reference_absent_from_environment(mixed_dir):
    runs, _ = load_logs(mixed_dir)
    rated, warnings = rate_runs([r for r in runs if r.model != "ResNet101"])
    assert len(rated) == 1  # EfficientNetB0 is still listed, with no index
    assert any("'ResNet101'" in w and "A100 x8 - TensorFlow 2.8.0" in w for w in warnings)
    assert rated[0]["metrics"]["inference_power_draw"]["index"] is None
    out = ratings_cli("--directory", mixed_dir, "--reference", "NoSuchNet")  # issue 14 item 4: a usage error
    assert out.returncode == 2 and "'NoSuchNet'" in out.stderr and out.stdout == ""
    assert "models there: EfficientNetB0, ResNet101" in out.stderr  # names the references that exist
    assert ratings_cli("--directory", mixed_dir, "--reference", "EfficientNetB0").returncode == 0


@pytest.mark.parametrize("content, needle", [
    ("{not json", "not valid JSON"),
    (json.dumps({"gflops": [1, 2, 3, 4]}), "'gflops'"),
    (json.dumps({"watts": [4, 3, 2, 1]}), "unknown metric"),
])
def test_bad_boundaries_file(mixed_dir, tmp_path_factory, content, needle):
    path = tmp_path_factory.mktemp("cfg") / "bounds.json"
    path.write_text(content)
    out = ratings_cli("--directory", mixed_dir, "--boundaries", path)
    assert out.returncode == 2 and needle in out.stderr and "bounds.json" in out.stderr


def test_bad_weights_file(mixed_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "weights.json"
    path.write_text(json.dumps({"inference": {"top1_val": -2}}))
    out = ratings_cli("--directory", mixed_dir, "--weights", path)
    assert out.returncode == 2 and "inference.top1_val" in out.stderr


def test_good_weights_change_compound(mixed_dir, tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"inference": {"parameters": 0, "inference_power_draw": 0,
                                              "inference_time": 0, "top1_val": 0, "gflops": 1}}))
    out = ratings_cli("--directory", mixed_dir, "--weights", path, "--json", "--task", "inference")
    effnet = [s for s in json.loads(out.stdout) if s["model"] == "EfficientNetB0"][0]
    assert effnet["compound"] == effnet["metrics"]["gflops"]["rating"]


# experiment options (issue 15): exit 2 with the option named, nothing written ---------------------
BAD_RUN_OPTIONS = [
    (["--cpu-tdp", "-100"], "--cpu-tdp must be > 0"),
    (["--cpu-tdp", "nan"], "--cpu-tdp must be a finite number"),
    (["--cpu-tdp", "inf"], "--cpu-tdp must be a finite number"),
    (["--cpu-monitor-interval", "-1"], "--cpu-monitor-interval must be >= 0.01"),
    (["--cpu-monitor-interval", "0"], "--cpu-monitor-interval must be >= 0.01"),
    (["--cpu-monitor-interval", "nan"], "--cpu-monitor-interval must be a finite number"),
    (["--gpu-monitor-interval", "-0.5"], "--gpu-monitor-interval must be >= 0.01"),
    (["--idle-seconds", "-1"], "--idle-seconds must be >= 0"),
    (["--seed", "1e23"], "invalid int value"),
    (["--seed", str(2 ** 80)], "--seed must be <= 4294967295"),
    (["--seed", "-7"], "--seed must be >= 0"),
    (["--suffix", "../.."], "--suffix '../..'"),
    (["--suffix", "a/b"], "--suffix 'a/b'"),
    (["-b", "-4"], "--batch-size must be >= 1"),
    (["--n-batches", "-5"], "--n-batches must be >= 1"),
    (["--repeat", "0"], "--repeat must be >= 1"),
]


def _exit_and_error(main, argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own type errors
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, message", BAD_RUN_OPTIONS)
@pytest.mark.parametrize("task", ["infer", "train"])
def test_bad_experiment_options_exit_2_before_any_folder(tmp_path, capsys, task, args, message):
    from mlel.apps.experiment_cli import infer_main, train_main
    main = infer_main if task == "infer" else train_main
    out = tmp_path / "runs"
    code, err = _exit_and_error(main, ["--model", "resnet18", "--output-dir", str(out), *args], capsys)
    assert code == 2 and message in err
    assert not out.exists() and "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--epochs", "-1"], "--epochs must be >= 1"),
    (["--lr", "nan"], "--lr must be a finite number"),
    (["--lr", "0"], "--lr must be > 0"),
    (["--wd", "-0.1"], "--weight-decay must be >= 0"),
    (["--full-epochs", "0"], "--full-epochs must be >= 1"),
    (["--early-patience", "0"], "--early-patience must be >= 1"),
])
def test_bad_training_recipe_exits_2(tmp_path, capsys, args, message):
    from mlel.apps.experiment_cli import train_main
    code, err = _exit_and_error(train_main, ["--model", "resnet18", "--output-dir", str(tmp_path / "r"),
                                             *args], capsys)
    assert code == 2 and message in err and not (tmp_path / "r").exists()


def test_output_dir_that_is_a_file_exits_2(tmp_path, capsys):
    from mlel.apps.experiment_cli import infer_main
    blocker = tmp_path / "runs"
    blocker.write_text("a file, not a folder")
    for out in (blocker, blocker / "below"):
        code, err = _exit_and_error(infer_main, ["--model", "resnet18", "--output-dir", str(out)], capsys)
        assert code == 2 and "exists and is not a folder" in err and str(blocker) in err
    assert blocker.read_text() == "a file, not a folder"


@pytest.mark.parametrize("content", [b"garbage, not a pickle", b"", b"PK\x03\x04truncated zip"])
def test_garbage_weights_file_exits_2(tmp_path, capsys, content):
    from mlel.apps.experiment_cli import infer_main
    weights = tmp_path / "model.pth"
    weights.write_bytes(content)
    code, err = _exit_and_error(infer_main, ["--model", "resnet18", "--backend", "torch", "--input-size", "32",
                                             "--weights", str(weights), "--output-dir", str(tmp_path / "r")],
                                capsys)
    assert code == 2 and "not a PyTorch weights file" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_pickled_non_state_dict_exits_2(tmp_path, capsys):
    import torch
    from mlel.apps.experiment_cli import infer_main
    weights = tmp_path / "list.pth"
    torch.save([1, 2, 3], weights)
    code, err = _exit_and_error(infer_main, ["--model", "resnet18", "--backend", "torch", "--input-size", "32",
                                             "--weights", str(weights), "--output-dir", str(tmp_path / "r")],
                                capsys)
    assert code == 2 and "no state dict" in err
