"""mlel.apps.sweep: the grid, shared training for ONNX backends, resumability, failures, executors.

The end-to-end test runs the real train.py / infer.py / merge_results.py through submitit's local
executor (real submitit, a process per job) with a tiny model and few batches. SLURM is simulated at
the OS boundary: fake ``srun`` / ``sbatch`` executables on PATH record what submitit would submit.
"""
from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest

from mlel.apps import sweep
from mlel.apps.sweep import Experiment, finished_runs, grid, is_merged, merged_keys

FAST = ("--gpu-monitor-interval", "0.1", "--cpu-monitor-interval", "0.1", "--idle-seconds", "0")


def test_grid_puts_framework_backends_first_and_onnx_shares_their_training(tmp_path):
    experiments = grid(["ResNet18", "MobileNetV3Small"], ["onnx_torch", "torch", "tf"], [0, 1],
                       ["train", "infer"], tmp_path)
    assert len(experiments) == 12
    backends = [e.backend for e in experiments]
    assert backends == ["pytorch"] * 4 + ["tensorflow"] * 4 + ["onnx_pytorch"] * 4
    torch_exp = next(e for e in experiments if e.backend == "pytorch" and e.model == "ResNet18" and e.seed == 1)
    onnx_exp = next(e for e in experiments if e.backend == "onnx_pytorch" and e.model == "ResNet18" and e.seed == 1)
    assert onnx_exp.trainer == "pytorch"
    assert onnx_exp.folder("train") == torch_exp.folder("train")
    assert onnx_exp.folder("infer") != torch_exp.folder("infer")


def test_grid_rejects_unknown_backends(tmp_path):
    with pytest.raises(Exception, match="unknown backend 'jax'"):
        grid(["ResNet18"], ["jax"], [0], ["infer"], tmp_path)


def _fake_run(folder: Path, task: str, name: str, complete: bool = True) -> Path:
    run = folder / f"{task}_{name}"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    if complete:
        (run / ("results.json" if task == "train" else "validation_results.json")).write_text("{}")
    else:
        (run / "incomplete.json").write_text('{"reason": "SIGTERM"}')
    return run


def _merged_log(results: Path, task: str, model: str, backend: str, seed: int = 0,
                incomplete: bool = False) -> Path:
    """A merged log as merge writes it, reduced to what "already merged" reads."""
    name = f"{task}_2026_01_01_00_00_0{len(list(results.glob('*.json')))}_{model}_{backend}_seed{seed}"
    log = {"directory_name": name, "config": {"model": model, "backend": backend, "seed": seed}}
    if incomplete:
        log.update(incomplete=True, incomplete_reason="SIGTERM")
    path = results / f"{name}.json"
    path.write_text(json.dumps(log))
    return path


def test_only_finished_runs_count(tmp_path):
    experiment = Experiment("ResNet18", "onnx_pytorch", 0, ("train", "infer"), str(tmp_path))
    _fake_run(experiment.folder("train"), "train", "2026_01_01_00_00_00", complete=False)
    assert finished_runs(experiment.folder("train"), "train") == []
    trained = _fake_run(experiment.folder("train"), "train", "2026_01_01_00_00_01")
    assert finished_runs(experiment.folder("train"), "train") == [trained]


def test_merged_is_decided_from_results_alone_every_task_complete(tmp_path):
    """Issue 14 item 2: a fresh clone has results/ but no runs/ — what is merged there is done."""
    experiment = Experiment("ResNet18", "onnx_pytorch", 3, ("train", "infer"), str(tmp_path / "no-runs"))
    results = tmp_path / "results"
    results.mkdir()
    (results / "notes.json").write_text("[1, 2]")  # foreign JSON marks nothing
    _merged_log(results, "train", "ResNet18", "pytorch", seed=3)  # the ONNX model's training
    assert not is_merged(experiment, merged_keys(results))  # its inference is not merged yet
    _merged_log(results, "infer", "ResNet18", "onnx_pytorch", seed=3, incomplete=True)
    assert not is_merged(experiment, merged_keys(results))  # an incomplete log is not done
    _merged_log(results, "infer", "ResNet18", "onnx_pytorch", seed=4)
    _merged_log(results, "infer", "ResNet18", "pytorch", seed=3)
    assert not is_merged(experiment, merged_keys(results))  # other seed, other backend
    _merged_log(results, "infer", "resnet18", "onnx_torch", seed=3)  # as a user may have typed them
    assert is_merged(experiment, merged_keys(results))
    assert not (tmp_path / "no-runs").exists()


def test_rerun_in_a_fresh_clone_runs_only_what_results_lack(tmp_path, monkeypatch):
    results = tmp_path / "results"
    results.mkdir()
    experiments = grid(["ResNet18", "MobileNetV2"], ["torch"], [0], ["train", "infer"], tmp_path / "runs")
    _merged_log(results, "train", "ResNet18", "pytorch")
    _merged_log(results, "infer", "ResNet18", "pytorch")
    ran: list[str] = []
    monkeypatch.setattr(sweep, "run_experiment", lambda e: ran.append(e.name) or sweep.Outcome(e.name, True))
    outcomes = sweep.run_grid(experiments, results, progress=lambda message: None)
    assert ran == ["train+infer_MobileNetV2_pytorch_seed0"]
    assert [o.error for o in outcomes] == ["already merged", ""]


def test_progress_bar_names_the_current_experiment_and_an_eta(tmp_path, monkeypatch):
    seen: list[str] = []
    stream = io.StringIO()

    def fake_run(experiment):
        seen.append(stream.getvalue())  # what the bar showed while this experiment ran
        return sweep.Outcome(experiment.name, True)

    monkeypatch.setattr(sweep, "run_experiment", fake_run)
    results = tmp_path / "results"
    results.mkdir()
    experiments = grid(["ResNet18", "MobileNetV2"], ["torch"], [0], ["infer"], tmp_path / "runs")
    sweep.run_grid(experiments, results, progress=lambda message: None, bar_stream=stream)
    assert "0/2" in seen[0] and "infer_ResNet18_pytorch_seed0" in seen[0]
    assert "1/2" in seen[1] and "infer_MobileNetV2_pytorch_seed0" in seen[1]
    assert "ETA" in seen[1]
    assert "2/2" in stream.getvalue()


def test_cli_spells_directory_and_output_dir_and_keeps_old_spellings_hidden(capsys):
    parser = sweep.build_parser()
    new = parser.parse_args(["--models", "M", "-d", "res", "--output-dir", "out"])
    old = parser.parse_args(["--models", "M", "--results", "res", "--runs-dir", "out"])
    assert (new.results, new.runs_dir) == (old.results, old.runs_dir) == ("res", "out")
    defaults = parser.parse_args(["--models", "M"])
    assert (defaults.results, defaults.runs_dir, defaults.mlflow) == ("results", "runs", None)
    assert parser.parse_args(["--models", "M", "--mlflow"]).mlflow == ""
    help_text = parser.format_help()
    assert "--directory" in help_text and "--output-dir" in help_text and "Exit codes" in help_text
    assert "--runs-dir" not in help_text and "--results" not in help_text
    options = sweep._slurm_options(parser.parse_args(["--models", "M", "--slurm-gpus-per-node", "4"]))
    assert options["gpus_per_node"] == 4


def test_unknown_executor_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown executor 'ray'"):
        sweep.run_grid([], tmp_path, executor="ray")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_local_executor_runs_the_grid_reports_failures_merges_and_resumes(tmp_path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    results.mkdir()
    args = dict(train_args=("--epochs", "1", "--input-size", "32", "--n-batches", "4", "-b", "16", *FAST),
                infer_args=("--n-batches", "2", "-b", "16", *FAST))
    # a failing model first (the grid goes on after it), then one model on both backends (one shared
    # training); an ONNX experiment whose training fails is tests/slurm's (the same run_experiment)
    experiments = (grid(["NoSuchNet"], ["torch"], [0], ["train", "infer"], runs, **args)
                   + grid(["MobileNetV3Small"], ["torch", "onnx_torch"], [0], ["train", "infer"], runs, **args))
    messages: list[str] = []
    outcomes = sweep.run_grid(experiments, results, executor="local", progress=messages.append)

    by_name = {o.experiment: o for o in outcomes}
    assert len(by_name) == 3
    failed = sorted(name for name, o in by_name.items() if not o.ok)
    assert failed == ["train+infer_NoSuchNet_pytorch_seed0"]
    assert "NoSuchNet" in by_name[failed[0]].error and "train.py exited with" in by_name[failed[0]].error
    assert [o.experiment for o in outcomes] == [e.name for e in experiments]  # all ran, in order
    assert any(m.startswith("FAILED train+infer_NoSuchNet_pytorch") for m in messages)
    assert (runs / "submitit").is_dir()  # the jobs went through submitit

    # one training for both backends, one inference each, all merged
    assert len(finished_runs(runs / "train_MobileNetV3Small_pytorch_seed0", "train")) == 1
    assert not (runs / "train_MobileNetV3Small_onnx_pytorch_seed0").exists()
    merged = sorted(p.name for p in results.glob("*.json"))
    assert len(merged) == 3, merged
    logs = [json.loads((results / name).read_text()) for name in merged]
    inference = [log for log in logs if "validation" in log]
    assert sorted(log["config"]["backend"] for log in inference) == ["onnx_pytorch", "pytorch"]
    for log in inference:  # each evaluation is linked to the one training run
        assert log["validation"]["results"] and f"{log['training']['directory_name']}.json" in merged

    # the merged results load and rate cleanly
    from mlel.runlog.logs import load_logs
    from mlel.ratings import rate_runs

    loaded, problems = load_logs(results)
    assert problems == [] and len(loaded) == 3
    rated, _ = rate_runs(loaded)
    assert rated

    # rerun: nothing left to do, no new run folders
    before = sorted(str(p) for p in runs.rglob("config.json"))
    messages.clear()
    again = sweep.run_grid([e for e in experiments if e.model != "NoSuchNet"], results, executor="local",
                           progress=messages.append)
    assert all(o.ok and o.error == "already merged" for o in again) and len(again) == 2
    assert sorted(str(p) for p in runs.rglob("config.json")) == before
    assert all(m.startswith("skip ") for m in messages)


def _fake_slurm(bin_dir: Path) -> Path:
    """srun and sbatch stand-ins: sbatch saves each script and answers with a job id."""
    bin_dir.mkdir()
    scripts = bin_dir / "scripts"
    scripts.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "sbatch").write_text(
        "#!/bin/sh\n"
        f'n=$(ls "{scripts}" | wc -l); n=$((n + 100))\n'
        f'cp "$1" "{scripts}/$n.sh"\n'
        'echo "Submitted batch job $n"\n')
    for tool in ("srun", "sbatch"):
        (bin_dir / tool).chmod(stat.S_IRWXU)
    return scripts


def test_slurm_submits_exclusive_jobs_and_onnx_waits_for_its_training(tmp_path, monkeypatch):
    """Fake sbatch: what a one-node test cluster cannot show (a named GPU partition, GPUs per node);
    tests/slurm runs the same sweep through a real SLURM cluster."""
    pytest.importorskip("submitit")
    scripts = _fake_slurm(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    experiments = grid(["ResNet18"], ["onnx_torch", "torch"], [0], ["train", "infer"], tmp_path / "runs")
    options = sweep._slurm_options(sweep.build_parser().parse_args(
        ["--models", "M", "--slurm-partition", "gpu", "--slurm-gpus-per-node", "2", "--slurm-timeout-min", "30"]))
    jobs = sweep._submit_slurm(experiments, options)

    assert [job.job_id for job in jobs] == ["100", "101"]
    torch_script = (scripts / "100.sh").read_text()
    onnx_script = (scripts / "101.sh").read_text()
    for script in (torch_script, onnx_script):
        assert "#SBATCH --exclusive" in script and "#SBATCH --partition=gpu" in script
        assert "#SBATCH --gpus-per-node=2" in script and "#SBATCH --time=30" in script
    assert "dependency" not in torch_script
    assert "#SBATCH --dependency=afterany:100" in onnx_script


class _Job:
    """A submitit job as _wait_slurm sees it: done after ``polls`` checks, then its result."""

    def __init__(self, job_id: str, polls: int, result):
        self.job_id, self._polls, self._result = job_id, polls, result

    def done(self) -> bool:
        self._polls -= 1
        return self._polls < 0

    def result(self):
        if isinstance(self._result, Exception):
            raise self._result
        return self._result


def test_slurm_jobs_are_finished_as_they_end_and_a_killed_job_fails(tmp_path):
    experiments = grid(["ResNet18", "MobileNetV2", "VGG16"], ["torch"], [0], ["infer"], tmp_path / "runs")
    slow, fast, killed = experiments
    jobs = [_Job("7", 3, sweep.Outcome(slow.name, True)), _Job("8", 0, sweep.Outcome(fast.name, True)),
            _Job("9", 1, RuntimeError("Job 9 was cancelled (TIMEOUT)"))]
    finished: list[str] = []

    def finish(outcome, experiment):
        finished.append(experiment.name)
        return outcome

    outcomes = sweep._wait_slurm(jobs, experiments, finish, sweep._Bar(3, None), poll_s=0)
    assert finished == [fast.name, killed.name, slow.name]  # as they ended, not as submitted
    assert [o.experiment for o in outcomes] == [e.name for e in experiments]  # reported in grid order
    assert not outcomes[2].ok and outcomes[2].error.startswith("job 9: Job 9 was cancelled")


def test_local_jobs_get_the_sweeps_time_limit_not_submitits_two_minutes(tmp_path):
    pytest.importorskip("submitit")
    assert sweep._executor("local", tmp_path, {}).parameters["timeout_min"] == sweep.DEFAULT_TIMEOUT_MIN == 1440
    assert sweep._executor("local", tmp_path, {"timeout_min": 30}).parameters["timeout_min"] == 30


@pytest.mark.parametrize("argv", [["--infer-args", "--trust"], ["--infer-args=--trust"]])
def test_options_passed_on_may_start_with_a_dash(argv):
    # argparse alone refuses "--infer-args --trust" ("expected one argument")
    from mlel.apps.sweep import build_parser, joined_pass_on

    args = build_parser().parse_args(joined_pass_on(["--models", "ResNet50", *argv, "--train-args", "-h"]))
    assert (args.infer_args, args.train_args) == ("--trust", "-h")
