"""`python -m mlel.sweep --executor slurm` through a real SLURM cluster (slurmctld + slurmd + munge).

The smallest grid that shows it all: one model that trains (one epoch of 4 batches of digits at
32 px) and one unknown model, each on torch and onnx_torch: four experiments, four jobs through the
real ``sbatch``, two (trainer, ONNX) pairs, so each ONNX job must wait for its own model's trainer.
What SLURM itself recorded (jobcomp/filetxt: start, end, eligible time, CPUs per job) shows that
every experiment was its own job, that each ONNX job became eligible and started only after the job
training its model had ended, and that jobs had the node to themselves, one after another. The
failing model is reported while the others finish, and the merged logs in results/ rate. (The local
executor's sweep, resumption included, is tests/test_sweep.py.)
"""
from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAST = "--gpu-monitor-interval 0.1 --cpu-monitor-interval 0.1 --idle-seconds 0"
MODELS = ("MobileNetV3Small",)


def jobcomp_records(path: Path) -> dict[str, dict[str, str]]:
    """SLURM's jobcomp/filetxt lines -> {job id: {field: value}}."""
    records = {}
    for line in path.read_text().splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if "JobId" in fields:
            records[fields["JobId"]] = fields
    return records


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def submitted_experiments(submitit_folder: Path) -> dict[str, object]:
    """job id -> the Experiment submitit pickled for that job."""
    jobs = {}
    for path in submitit_folder.glob("*_submitted.pkl"):
        with path.open("rb") as handle:
            jobs[path.name.split("_")[0]] = pickle.load(handle).args[0]
    return jobs


def _wait_for_records(path: Path, job_ids: set[str], timeout_s: float = 30) -> dict[str, dict[str, str]]:
    """slurmctld writes a job's record when it ends, just after the job's result file: wait for all."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = jobcomp_records(path) if path.exists() else {}
        if job_ids <= records.keys() or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sweep_through_real_slurm_one_job_per_experiment_onnx_after_its_trainer(slurm_cluster, tmp_path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    started = time.perf_counter()
    sweep = subprocess.run(
        [sys.executable, "-m", "mlel.sweep", "--executor", "slurm", "--no-progress",
         "--models", *MODELS, "NoSuchNet", "--backends", "torch", "onnx_torch", "--tasks", "train", "infer",
         "--train-args", f"--epochs 1 --input-size 32 --n-batches 4 -b 16 {FAST}", "--infer-args", f"--n-batches 2 -b 16 {FAST}",
         "--output-dir", str(runs), "-d", str(results), "--slurm-timeout-min", "20"],
        cwd=REPO, capture_output=True, text=True, timeout=800)
    sweep_s = time.perf_counter() - started
    output = sweep.stdout + sweep.stderr
    assert sweep.returncode == 1, output  # the unknown model failed, and says so
    assert "2 of 4 experiments ok" in sweep.stdout, output
    assert re.search(r"FAILED train\+infer_NoSuchNet_pytorch_seed0: .*train\.py exited with", output), output

    experiments = submitted_experiments(runs / "submitit")
    assert len(experiments) == 4  # every experiment its own job
    assert len({e.name for e in experiments.values()}) == 4
    records = _wait_for_records(slurm_cluster.jobcomp, set(experiments))
    assert set(experiments) <= records.keys(), records.keys()
    jobs = {job_id: records[job_id] for job_id in experiments}
    print(f"\nsweep through SLURM: {sweep_s:.0f} s; cluster start {slurm_cluster.start_s:.1f} s; jobs:")
    for job_id, record in sorted(jobs.items(), key=lambda item: item[1]["StartTime"]):
        print(f"  job {job_id} {experiments[job_id].name}: {record['JobState']} eligible "
              f"{record['EligibleTime']} start {record['StartTime']} end {record['EndTime']} "
              f"cpus {record['ProcCnt']}")
    assert all(record["JobState"] == "COMPLETED" for record in jobs.values())

    # exclusive: each job got every CPU of the node, so no two ran at once
    assert all(int(record["ProcCnt"]) == slurm_cluster.node_cpus for record in jobs.values())
    spans = sorted((_time(r["StartTime"]), _time(r["EndTime"])) for r in jobs.values())
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:])), spans

    # each ONNX job waited for the job that trained its model
    trainer_of = {e.model: job_id for job_id, e in experiments.items() if e.backend == "pytorch"}
    assert set(trainer_of) == {*MODELS, "NoSuchNet"} and len(set(trainer_of.values())) == 2
    onnx_jobs = [job_id for job_id, e in experiments.items() if e.backend == "onnx_pytorch"]
    assert len(onnx_jobs) == 2
    for job_id, experiment in experiments.items():
        if experiment.backend == "onnx_pytorch":
            trainer = jobs[trainer_of[experiment.model]]
            assert _time(jobs[job_id]["EligibleTime"]) >= _time(trainer["EndTime"])
            assert _time(jobs[job_id]["StartTime"]) >= _time(trainer["EndTime"])
            script = (runs / "submitit" / f"{job_id}_submission.sh").read_text()
            assert f"--dependency=afterany:{trainer_of[experiment.model]}" in script

    # merged as they ended: per model one training and two inferences, and they rate
    merged = sorted(p.name for p in results.glob("*.json"))
    assert len(merged) == 3 * len(MODELS), merged
    rated = subprocess.run([sys.executable, "-m", "mlel.ratings", "--directory", str(results),
                            "--reference", MODELS[0], "--json"], cwd=REPO, capture_output=True, text=True)
    assert rated.returncode == 0, rated.stderr
    summaries = json.loads(rated.stdout)
    inference = {(s["model"], s["environment"].split(" - ")[1].split()[0]) for s in summaries
                 if s["task"] == "inference"}
    assert inference == {(m, b) for m in MODELS for b in ("PyTorch", "ONNX")}, (merged, summaries)
    assert {s["model"] for s in summaries if s["task"] == "training"} == set(MODELS)
