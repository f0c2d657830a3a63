"""Readers and writers against hostile files (issue 27, "files, not devices"): deep or huge JSON,
FIFOs, devices and links among the files read, temp files an interrupted run leaves, and a re-import
of an entry another source wrote. Every case names the file and goes on with the others; nothing
hangs (subprocesses have a timeout, FIFO readers run in one)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mlel.base import io
from mlel.importers import cli as importers_cli
from mlel.importers.common import write_records
from mlel.importers.mlenergy import import_mlenergy
from mlel.results import read_result_records
from mlel.runlog import merge
from mlel.runlog.logs import load_logs

REPO = Path(__file__).resolve().parents[2]
MERGED_LOG = REPO.parent / "shared" / "reference" / "mlee-2022" / "results"
ROW = {"model_id": "org/model-a", "gpu_model": "B200", "num_gpus": 1, "max_num_seqs": 8,
       "energy_per_token_joules": 0.5, "median_itl_ms": 20.0}
pytestmark = pytest.mark.timeout(120)


def _record(model: str = "m", **configuration) -> dict:
    return {"schema": "mlee-result/1", "task": "generic", "model": model, "configuration": configuration,
            "environment": {"hardware": "H100", "software": "vLLM"},
            "properties": {"energy": {"value": 1.0, "unit": "J", "source": "reported"}},
            "provenance": {"tool": "test", "file": "t.json", "row": 0}}


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _task_file(path: Path, rows: list, task: str = "lm-arena-chat") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"task": task, "configurations": rows}))
    return path


def _importer(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlel.importers", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


# --- 1. depth and size caps -------------------------------------------------------------------------

def test_a_record_nested_5000_deep_is_named_and_the_directory_still_read(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps(_record("good")))
    deep = json.dumps(_record("deep", nested="@")).replace('"@"', _deep(5000))
    (tmp_path / "deep.json").write_text(deep)
    scan = read_result_records(tmp_path)
    assert [name for name, _ in scan.records] == ["good.json"]
    (problem,) = scan.problems
    assert problem.file == "deep.json" and "depth cap of 64" in problem.reason

    from mlel.ratings.report import read_directory  # ratings and ELEx read through here
    _, records, problems = read_directory(tmp_path)
    assert len(records) == 1 and [p.file for p in problems] == ["deep.json"]


def test_leaderboard_deep_huge_and_mistyped_files_are_named_and_skipped(tmp_path):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "deep.json").write_text('{"configurations": ' + _deep(100_000) + "}")
    (tasks / "deep-setting.json").write_text(
        json.dumps({"configurations": [dict(ROW, max_num_seqs="@")]}).replace('"@"', _deep(300)))
    _task_file(tasks / "lm-arena-chat.json", [ROW])
    _task_file(tasks / "gpqa.json", [dict(ROW, max_num_seqs=[[1]])], task="gpqa")
    (tmp_path / "index.json").write_text(json.dumps({"architectures": ["llm"], "models": ["org/model-a"]}))
    report = import_mlenergy(tmp_path)
    shown = [str(p) for p in report.problems]
    assert [r.model for r in report.records] == ["org/model-a"], shown
    assert any(p.file == "tasks/deep.json" and "depth cap of 64" in p.reason for p in report.problems), shown
    assert any(p.file == "tasks/deep-setting.json" and "depth cap" in p.reason for p in report.problems), shown
    assert any(p.file == "tasks/gpqa.json" and p.field == "max_num_seqs" for p in report.problems), shown
    assert {p.field for p in report.problems if p.file == "index.json"} == {"architectures", "models"}, shown
    out = tmp_path / "out"
    assert importers_cli.main(["mlenergy", str(tmp_path), "--output-dir", str(out)]) == 0


def test_a_leaderboard_num_gpus_of_10_to_the_400_is_named(tmp_path):
    tasks = tmp_path / "tasks"
    (tasks).mkdir()
    (tasks / "lm-arena-chat.json").write_text(
        '{"task": "lm-arena-chat", "configurations": [' + json.dumps(ROW) + ","
        + json.dumps(dict(ROW, model_id="org/model-b", num_gpus="@")).replace('"@"', "1" + "0" * 400) + "]}")
    report = import_mlenergy(tmp_path)
    assert [r.model for r in report.records] == ["org/model-a"]
    (problem,) = report.problems
    assert problem.field == "num_gpus" and problem.row == 1 and "2**53" in problem.reason


# --- 2. special files -------------------------------------------------------------------------------

def _specials(folder: Path, outside: Path) -> None:
    os.mkfifo(folder / "fifo.json")
    os.symlink("/dev/zero", folder / "zero.json")
    outside.write_text("secret")
    os.symlink(outside, folder / "outside.json")


def test_record_and_merged_log_readers_name_fifos_and_devices(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps(_record("good")))
    _specials(tmp_path, tmp_path.parent / f"{tmp_path.name}-outside.txt")
    scan = read_result_records(tmp_path)
    reasons = {p.file: p.reason for p in scan.problems}
    assert "FIFO" in reasons["fifo.json"] and "character device" in reasons["zero.json"], reasons
    _, problems = load_logs(tmp_path)
    reasons = {p.file: p.reason for p in problems}
    assert "FIFO" in reasons["fifo.json"] and "character device" in reasons["zero.json"], reasons


def test_read_file_bytes_caps_the_size_and_refuses_links_where_none_may_be(tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    with pytest.raises(io.FileRefused, match="size cap of 1,024"):
        io.read_file_bytes(big, limit=1024)
    os.symlink(big, tmp_path / "link.json")
    with pytest.raises(io.FileRefused, match="symbolic link"):
        io.read_file_bytes(tmp_path / "link.json", follow=False)


def test_leaderboard_importer_skips_a_fifo_and_a_dev_zero_link_by_name(tmp_path):
    tasks = tmp_path / "tasks"
    _task_file(tasks / "lm-arena-chat.json", [ROW])
    _specials(tasks, tmp_path / "outside.txt")
    result = _importer("mlenergy", str(tmp_path), "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "tasks/fifo.json: unreadable: a FIFO" in result.stderr
    assert "tasks/zero.json: unreadable: a character device" in result.stderr
    assert "1 written" in result.stdout


def test_mlflow_folder_reader_skips_a_fifo_and_a_dev_zero_link_by_name(tmp_path):
    script = f"""
import os, mlflow
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
mlflow.set_tracking_uri({(tmp_path / 'mlruns').as_uri()!r})
mlflow.set_experiment("energy")
for model in ("ResNet50", "ResNet101"):
    with mlflow.start_run(run_name=model) as run:
        mlflow.log_params({{"model": model, "hardware": "A100"}})
        mlflow.log_metrics({{"running_time": 0.002}})
print(run.info.run_id, run.info.experiment_id)
"""
    made = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    run_id, experiment = made.stdout.split()[-2:]
    metrics = tmp_path / "mlruns" / experiment / run_id / "metrics"
    os.mkfifo(metrics / "fifo_metric")
    os.symlink("/dev/zero", metrics / "zero_metric")
    result = _importer("mlflow", str(tmp_path / "mlruns"), "--output-dir", str(tmp_path / "out"),
                       "--task", "inference", "--model", "params.model", "--environment", "params.hardware",
                       "--map", "inference_time=metrics.running_time:s", timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"metrics/fifo_metric: a FIFO" in result.stderr and "metrics/zero_metric: a symbolic link" in result.stderr
    assert "2 written" in result.stdout


# --- 3. writers and temp files ----------------------------------------------------------------------

def _run_folder(runs: Path) -> Path:
    folder = runs / "infer_2024_01_01_10_00_00"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model": "ResNet101", "backend": "pytorch"}))
    (folder / "execution_platform.json").write_text(json.dumps({"Processor": "x", "GPU": {}}))
    (folder / "requirements.txt").write_text("torch==2.1.0\n")
    (folder / "validation_results.json").write_text(json.dumps(
        {"start": 0, "end": 10, "metrics": {"accuracy": 0.7, "n_samples": 100}, "model": {"params": 1}}))
    return folder


def test_merge_refuses_a_requirements_link_to_a_file_outside_the_run_folder(tmp_path):
    folder = _run_folder(tmp_path / "runs")
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:SECRET\n")
    (folder / "requirements.txt").unlink()
    os.symlink(secret, folder / "requirements.txt")
    (outcome,) = merge.merge_directory(tmp_path / "runs", tmp_path / "results")
    assert outcome.status == "failed" and "requirements.txt" in outcome.message
    assert "symbolic link" in outcome.message
    assert not any("SECRET" in p.read_text() for p in (tmp_path / "results").iterdir())


def test_merge_refuses_a_fifo_monitoring_file_without_waiting(tmp_path):
    folder = _run_folder(tmp_path / "runs")
    os.mkfifo(folder / "validation_monitoring_pynvml.json")
    (outcome,) = merge.merge_directory(tmp_path / "runs", tmp_path / "results")
    assert outcome.status == "failed" and "validation_monitoring_pynvml.json" in outcome.message
    assert "FIFO" in outcome.message


def test_sigterm_during_a_merge_write_leaves_no_temp_file(tmp_path, monkeypatch):
    _run_folder(tmp_path / "runs")
    real = io.tempfile.mkstemp

    def mkstemp_then_sigterm(*args, **kwargs):
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # arrives right after the temp file exists
        return made

    monkeypatch.setattr(io.tempfile, "mkstemp", mkstemp_then_sigterm)
    with pytest.raises(SystemExit) as ended:
        merge.main(["--directory", str(tmp_path / "runs"), "--output-dir", str(tmp_path / "results")])
    assert ended.value.code == 143
    assert [p.name for p in (tmp_path / "results").iterdir() if p.name.startswith(".")] == []


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, timeout=60)
    return int(child.stdout)


def test_a_rerun_removes_the_temp_file_a_sigkilled_import_left(tmp_path):
    out = tmp_path / "out"
    script = f"""
import os, signal, sys
from mlel.importers.common import write_records
from mlel.results import ResultRecord
record = ResultRecord.from_dict({_record()!r})
os.fdopen = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)  # killed with the temp file made
write_records([record], {str(out)!r})
"""
    killed = subprocess.run([sys.executable, "-c", script], cwd=REPO, timeout=60, capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    (left,) = [p.name for p in out.iterdir()]
    assert left.startswith(".") and left.endswith(".tmp")
    from mlel.results import ResultRecord
    summary = write_records([ResultRecord.from_dict(_record())], out)
    assert summary.cleaned == (left,) and len(summary.written) == 1
    assert not any(p.name.startswith(".") for p in out.iterdir())


def test_a_rerun_of_merge_removes_what_a_sigkilled_merge_left_and_only_that(tmp_path):
    _run_folder(tmp_path / "runs")
    results = tmp_path / "results"
    results.mkdir()
    dead, alive = _dead_pid(), os.getppid()
    stale = [f".x.json.{dead}.0123abcd.pending", f"..x.json.{dead}.0123abcd.pending.{dead}.k2j3h4g5.tmp",
             f".x.tar.gz.{dead}.89abcdef.tmp"]
    kept = [f".x.json.{alive}.0123abcd.pending", "notes.tmp", ".x.json.tmp"]
    for name in stale + kept:
        (results / name).write_text("")
    result = subprocess.run([sys.executable, str(REPO / "merge_results.py"), "--directory", str(tmp_path / "runs"),
                             "--output-dir", str(results)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names = {p.name for p in results.iterdir()}
    assert not names & set(stale) and set(kept) <= names
    assert all(f"removed {results / name}" in result.stderr for name in stale)


def test_sigint_in_an_importer_exits_130_with_one_line(tmp_path, monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(importers_cli, "run_import", interrupted)
    try:
        code = importers_cli.main(["mlenergy", str(tmp_path), "--output-dir", str(tmp_path / "out")])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped the importer's main (a traceback)")
    assert code == 130
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err and "Traceback" not in err


# --- 4. a re-import of an entry another source wrote ------------------------------------------------

def test_reimporting_an_entry_from_another_file_is_refused_and_said(tmp_path, capsys):
    first = _task_file(tmp_path / "a" / "tasks" / "chat.json", [ROW])
    second = _task_file(tmp_path / "b" / "tasks" / "chat-copy.json", [dict(ROW, energy_per_token_joules=0.9)])
    out = tmp_path / "out"
    assert importers_cli.main(["mlenergy", str(first), "--output-dir", str(out)]) == 0
    (written,) = out.iterdir()
    before = written.read_bytes()
    capsys.readouterr()
    assert importers_cli.main(["mlenergy", str(second), "--output-dir", str(out)]) == 1
    captured = capsys.readouterr()
    assert "0 written" in captured.out and "1 refused" in captured.out
    assert "refused: chat-copy.json" in captured.err and "chat.json" in captured.err
    assert written.read_bytes() == before and list(out.iterdir()) == [written]
    # the same source again, updated: replaced as before
    _task_file(first, [dict(ROW, energy_per_token_joules=0.7)])
    assert importers_cli.main(["mlenergy", str(first), "--output-dir", str(out)]) == 0
    assert "1 written" in capsys.readouterr().out
