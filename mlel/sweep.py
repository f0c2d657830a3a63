"""Run a grid of experiments — models × backends × seeds, training and/or inference — then merge.

    python -m mlel.sweep --models ResNet18 MobileNetV3Small --backends torch tensorflow \\
        --tasks train infer --runs-dir runs --results results [--executor inline|local|slurm]

One experiment = one (model, backend, seed): ``train.py`` (if asked), then ``infer.py`` on the trained
folder (or on the model by name). Experiments never overlap on one machine, so their energy
measurements stay clean: ``inline`` runs them one after the other here, ``local`` does the same
through submitit's local executor (a process per job), ``slurm`` submits one job per experiment with
an exclusive node. A failed experiment is reported and the rest goes on. Rerunning skips experiments
whose runs are already merged into ``--results`` (resumable).
"""
from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXECUTORS = ("inline", "local", "slurm")


@dataclass(frozen=True)
class Experiment:
    model: str
    backend: str             # canonical name: pytorch, tensorflow, onnx_pytorch, onnx_tensorflow
    seed: int
    tasks: tuple[str, ...]   # ("train", "infer"), ("train",) or ("infer",)
    runs_dir: str
    train_args: tuple[str, ...] = ()
    infer_args: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{'+'.join(self.tasks)}_{self.model}_{self.backend}_seed{self.seed}"

    @property
    def trainer(self) -> str:
        """The framework that trains this model: an ONNX backend runs what its framework trained."""
        return self.backend.removeprefix("onnx_")

    def folder(self, task: str) -> Path:
        # training is shared: pytorch and onnx_pytorch evaluate one trained model, trained once
        backend = self.trainer if task == "train" else self.backend
        return Path(self.runs_dir) / f"{task}_{self.model}_{backend}_seed{self.seed}"

    def folders(self) -> list[Path]:
        return [self.folder(task) for task in self.tasks]


@dataclass
class Outcome:
    experiment: str
    ok: bool
    run_folders: list[str] = field(default_factory=list)
    error: str = ""


_RESULT_FILE = {"train": "results.json", "infer": "validation_results.json"}


def finished_runs(folder: Path, task: str) -> list[Path]:
    """Run folders of ``task`` in ``folder`` that ran to the end (crashed or cut-short ones do not count)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{task}_*") if (p / _RESULT_FILE[task]).is_file()
                  and not (p / "incomplete.json").exists())


def _cli(script: str, *args: str) -> None:
    result = subprocess.run([sys.executable, str(REPO / script), *args], cwd=REPO,
                            capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{script} exited with {result.returncode}: " + " | ".join(tail))


def run_experiment(experiment: Experiment) -> Outcome:
    """Run one experiment's CLIs in order (this is what a job executes). Never raises."""
    e = experiment
    tag = f"{e.model}_{e.backend}_seed{e.seed}"
    try:
        target = e.model
        if "train" in e.tasks:
            train_folder = e.folder("train")
            if not finished_runs(train_folder, "train"):
                _cli("train.py", "--model", e.model, "--backend", e.trainer, "--seed", str(e.seed),
                     "--output-dir", str(train_folder), "--suffix", f"{e.model}_{e.trainer}_seed{e.seed}",
                     *e.train_args)
            target = str(finished_runs(train_folder, "train")[-1])
        if "infer" in e.tasks and not finished_runs(e.folder("infer"), "infer"):
            _cli("infer.py", "--infer-model", target, "--backend", e.backend, "--seed", str(e.seed),
                 "--output-dir", str(e.folder("infer")), "--suffix", tag, *e.infer_args)
        runs = [str(run) for task in e.tasks for run in finished_runs(e.folder(task), task)]
        return Outcome(e.name, True, runs)
    except Exception as error:  # a failed experiment must not stop the grid
        return Outcome(e.name, False, error=str(error))


def is_merged(experiment: Experiment, results: Path) -> bool:
    """Every task of the experiment has a finished run whose merged log is in ``results``."""
    return all(any((results / f"{run.name}.json").exists()
                   for run in finished_runs(experiment.folder(task), task))
               for task in experiment.tasks)


def grid(models, backends, seeds, tasks, runs_dir, train_args=(), infer_args=()) -> list[Experiment]:
    """Every (model, backend, seed). Plain framework backends come before ONNX ones, so a model
    the ONNX backend evaluates is trained (once) by its framework's own experiment first."""
    from mlel.backends import canonical_backend

    names = list(dict.fromkeys(canonical_backend(b) for b in backends))
    names.sort(key=lambda name: name.startswith("onnx_"))
    return [Experiment(m, b, s, tuple(tasks), str(runs_dir), tuple(train_args), tuple(infer_args))
            for b, m, s in itertools.product(names, models, seeds)]


def _executor(kind: str, log_folder: Path, slurm_options: dict):
    import submitit

    if kind == "local":
        return submitit.LocalExecutor(folder=str(log_folder))
    executor = submitit.AutoExecutor(folder=str(log_folder), cluster="slurm")
    executor.update_parameters(slurm_exclusive=True, **slurm_options)  # a node to itself: clean energy
    return executor


def run_grid(experiments: list[Experiment], results: Path, executor: str = "inline",
             slurm_options: dict | None = None, progress=print) -> list[Outcome]:
    """Run what is not merged yet, merging each experiment as it ends. Returns one Outcome per experiment run or skipped."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor '{executor}'; choose from: {', '.join(EXECUTORS)}")
    todo = [e for e in experiments if not is_merged(e, results)]
    outcomes = [Outcome(e.name, True, error="already merged") for e in experiments if e not in todo]
    for outcome in outcomes:
        progress(f"skip {outcome.experiment}: already merged")
    def finish(outcome: Outcome, experiment: Experiment) -> Outcome:
        progress(f"{'done' if outcome.ok else 'FAILED'} {outcome.experiment}"
                 + (f": {outcome.error}" if outcome.error else ""))
        merge_folders(experiment.folders(), results, progress)  # partial runs too: merged as incomplete
        return outcome

    if executor == "slurm" and todo:
        jobs = _submit_slurm(todo, slurm_options or {})
        return outcomes + [finish(job.result(), e) for job, e in zip(jobs, todo)]
    pool = _executor("local", Path(todo[0].runs_dir) / "submitit", {}) if todo and executor == "local" else None
    for position, experiment in enumerate(todo, 1):  # one at a time: energy runs never overlap
        progress(f"[{position}/{len(todo)}] {experiment.name}")
        outcome = pool.submit(run_experiment, experiment).result() if pool else run_experiment(experiment)
        outcomes.append(finish(outcome, experiment))
    return outcomes


def _submit_slurm(todo: list[Experiment], slurm_options: dict) -> list:
    """One exclusive job per experiment; an ONNX experiment waits for the job training its model."""
    pool = _executor("slurm", Path(todo[0].runs_dir) / "submitit", slurm_options)
    jobs, trainers = [], {}
    for experiment in todo:  # grid order: framework backends first
        dependency = trainers.get(experiment.folder("train")) if "train" in experiment.tasks else None
        extra = {"dependency": f"afterany:{dependency.job_id}"} if dependency else {}
        pool.update_parameters(slurm_additional_parameters=extra)
        job = pool.submit(run_experiment, experiment)
        if "train" in experiment.tasks:
            trainers.setdefault(experiment.folder("train"), job)
        jobs.append(job)
    return jobs


def merge_folders(folders: list[Path], results: Path, progress=print) -> None:
    """Merge the run folders under each experiment folder into ``results`` (merged ones are kept)."""
    from mlel.merge import merge_directory

    for folder in folders:
        if folder.is_dir():  # an inference run names its training folder in its config: found from there
            for outcome in merge_directory(folder, results):
                if not outcome.ok:
                    progress(f"merge of {outcome.folder.name}: {outcome.status}: {outcome.message}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlel.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--backends", nargs="+", default=["torch"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--tasks", nargs="+", choices=("train", "infer"), default=["train", "infer"])
    parser.add_argument("--runs-dir", default="runs", help="where run folders go (default: runs)")
    parser.add_argument("--results", default="results", help="merged logs (default: results)")
    parser.add_argument("--executor", choices=EXECUTORS, default="inline")
    parser.add_argument("--train-args", default="", help='extra train.py options, e.g. "--epochs 3"')
    parser.add_argument("--infer-args", default="", help='extra infer.py options, e.g. "--n-batches 10"')
    parser.add_argument("--slurm-partition", help="SLURM partition (with --executor slurm)")
    parser.add_argument("--slurm-timeout-min", type=int, default=24 * 60)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    experiments = grid(args.models, args.backends, args.seeds, args.tasks, Path(args.runs_dir).resolve(),
                       args.train_args.split(), args.infer_args.split())
    slurm = {"timeout_min": args.slurm_timeout_min}
    if args.slurm_partition:
        slurm["slurm_partition"] = args.slurm_partition
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    outcomes = run_grid(experiments, results, args.executor, slurm)
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} experiments ok"
          + (f"; failed: {', '.join(o.experiment for o in failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
