"""Run a grid of experiments — models × backends × seeds, training and/or inference — then merge.

    python -m mlel.sweep --models ResNet18 MobileNetV3Small --backends torch tensorflow \\
        --tasks train infer --output-dir runs -d results [--executor inline|local|slurm] [--mlflow [URI]]

One experiment = one (model, backend, seed): ``train.py`` (if asked), then ``infer.py`` on the trained
folder (or on the model by name). Experiments never overlap on one machine, so their energy
measurements stay clean: ``inline`` runs them one after the other here, ``local`` does the same
through submitit's local executor (a process per job), ``slurm`` submits one job per experiment with
an exclusive node. A failed experiment is reported and the rest goes on. Rerunning skips experiments
already merged into ``-d/--directory`` (resumable): decided from the merged logs themselves (task,
model, backend, seed of every complete log), so a fresh clone with ``results/`` and no ``runs/`` skips
them too.
"""
from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from mlel.base.errors import EXIT_CODES_EPILOG, MleeError

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

    def keys(self) -> set[tuple[str, str, str, int]]:
        """(task, model, backend, seed) of each merged log this experiment makes (model names
        are case-insensitive, as the CLIs take them)."""
        return {(task, self.model.lower(), self.trainer if task == "train" else self.backend, self.seed)
                for task in self.tasks}


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
    """Run train.py / infer.py as ``python -m mlel.train`` / ``mlel.infer``: the same tools, and
    they work where mlel is installed without the checkout (a wheel, a cluster's shared venv)."""
    module = "mlel." + script.removesuffix(".py")
    result = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True)
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


def merged_keys(results: Path) -> set[tuple[str, str, str, int]]:
    """(task, model, backend, seed) of every complete merged log in ``results``; others are ignored."""
    import orjson

    from mlel.base.names import backend_key

    keys = set()
    for path in Path(results).glob("*.json"):
        try:
            log = orjson.loads(path.read_bytes())
            config, name = log["config"], log["directory_name"]
            task = name.split("_", 1)[0]
            if task in _RESULT_FILE and not log.get("incomplete"):
                keys.add((task, config["model"].lower(), backend_key(config["backend"]),
                          int(config.get("seed") or 0)))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, MleeError):
            continue  # not a merged log of ours: it cannot mark anything as done
    return keys


def is_merged(experiment: Experiment, merged: set[tuple[str, str, str, int]]) -> bool:
    """Every task of the experiment has a complete merged log (see :func:`merged_keys`)."""
    return experiment.keys() <= merged


def grid(models, backends, seeds, tasks, runs_dir, train_args=(), infer_args=()) -> list[Experiment]:
    """Every (model, backend, seed). Plain framework backends come before ONNX ones, so a model
    the ONNX backend evaluates is trained (once) by its framework's own experiment first."""
    from mlel.backends import runnable_backend

    names = list(dict.fromkeys(runnable_backend(b) for b in backends))
    names.sort(key=lambda name: name.startswith("onnx_"))
    return [Experiment(m, b, s, tuple(tasks), str(runs_dir), tuple(train_args), tuple(infer_args))
            for b, m, s in itertools.product(names, models, seeds)]


DEFAULT_TIMEOUT_MIN = 24 * 60  # per experiment; submitit's local default (2 min) would kill real runs


def _executor(kind: str, log_folder: Path, slurm_options: dict):
    import submitit

    timeout_min = slurm_options.get("timeout_min", DEFAULT_TIMEOUT_MIN)
    if kind == "local":
        executor = submitit.LocalExecutor(folder=str(log_folder))
        executor.update_parameters(timeout_min=timeout_min)
        return executor
    executor = submitit.AutoExecutor(folder=str(log_folder), cluster="slurm")
    executor.update_parameters(slurm_exclusive=True, **slurm_options)  # a node to itself: clean energy
    return executor


class _Bar:
    """A progress bar over the experiments to run: the current experiment and an ETA (tqdm).
    Without a stream it only counts, so tests and library callers see nothing."""

    FORMAT = "{n_fmt}/{total_fmt} |{bar:20}| {desc} [{elapsed} elapsed, ETA {remaining}]"

    def __init__(self, total: int, stream: TextIO | None):
        self._bar = None
        if stream is not None and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=stream, unit="exp", bar_format=self.FORMAT,
                             dynamic_ncols=True, mininterval=0.5)

    def current(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(text)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_grid(experiments: list[Experiment], results: Path, executor: str = "inline",
             slurm_options: dict | None = None, progress: Callable[[str], None] = print,
             bar_stream: TextIO | None = None,
             after_merge: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run what is not merged yet, merging each experiment as it ends (then ``after_merge``, e.g.
    MLflow logging). Returns one Outcome per experiment, run or skipped."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor '{executor}'; choose from: {', '.join(EXECUTORS)}")
    merged = merged_keys(results)
    todo = [e for e in experiments if not is_merged(e, merged)]
    outcomes = [Outcome(e.name, True, error="already merged") for e in experiments if e not in todo]
    for outcome in outcomes:
        progress(f"skip {outcome.experiment}: already merged")
    bar = _Bar(len(todo), bar_stream)

    def finish(outcome: Outcome, experiment: Experiment) -> Outcome:
        progress(f"{'done' if outcome.ok else 'FAILED'} {outcome.experiment}"
                 + (f": {outcome.error}" if outcome.error else ""))
        merge_folders(experiment.folders(), results, progress)  # partial runs too: merged as incomplete
        if after_merge is not None and outcome.ok:
            after_merge(outcome)
        bar.advance()
        return outcome

    try:
        if executor == "slurm" and todo:
            jobs = _submit_slurm(todo, slurm_options or {})
            return outcomes + _wait_slurm(jobs, todo, finish, bar)
        pool = (_executor("local", Path(todo[0].runs_dir) / "submitit", slurm_options or {})
                if todo and executor == "local" else None)
        for position, experiment in enumerate(todo, 1):  # one at a time: energy runs never overlap
            progress(f"[{position}/{len(todo)}] {experiment.name}")
            bar.current(experiment.name)
            outcome = pool.submit(run_experiment, experiment).result() if pool else run_experiment(experiment)
            outcomes.append(finish(outcome, experiment))
        return outcomes
    finally:
        bar.close()


def _job_outcome(job, experiment: Experiment) -> Outcome:
    """A finished job's Outcome; a job SLURM killed or that crashed outside run_experiment fails."""
    try:
        return job.result()
    except Exception as error:  # submitit's UncompletedJobError / FailedJobError
        return Outcome(experiment.name, False, error=f"job {job.job_id}: {str(error).strip()[:500]}")


def _wait_slurm(jobs: list, todo: list[Experiment], finish, bar: _Bar, poll_s: float = 1.0) -> list[Outcome]:
    """Finish each job as it ends (not in submission order), so a failure is reported at once."""
    pending = dict(zip(jobs, todo))
    outcomes: dict[str, Outcome] = {}
    while pending:
        for job, experiment in list(pending.items()):
            if job.done():
                outcomes[experiment.name] = finish(_job_outcome(job, experiment), experiment)
                del pending[job]
        if pending:
            bar.current(f"{len(pending)} job(s) left: {next(iter(pending.values())).name}")
            time.sleep(poll_s)
    return [outcomes[e.name] for e in todo]


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
    from mlel.runlog.merge import merge_directory

    for folder in folders:
        if folder.is_dir():  # an inference run names its training folder in its config: found from there
            for outcome in merge_directory(folder, results):
                if not outcome.ok:
                    progress(f"merge of {outcome.folder.name}: {outcome.status}: {outcome.message}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlel.sweep", description=__doc__, epilog=EXIT_CODES_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--backends", nargs="+", default=["torch"], help="(default: torch)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="(default: 0)")
    parser.add_argument("--tasks", nargs="+", choices=("train", "infer"), default=["train", "infer"],
                        help="(default: train infer)")
    parser.add_argument("--output-dir", dest="runs_dir", default="runs", metavar="DIR",
                        help="where run folders go (default: runs)")
    parser.add_argument("-d", "--directory", dest="results", default="results", metavar="DIR",
                        help="the merged logs: read to skip what is done, written as experiments end "
                             "(default: results)")
    # the spellings before issue 14 still work, unlisted
    parser.add_argument("--runs-dir", dest="runs_dir", help=argparse.SUPPRESS)
    parser.add_argument("--results", dest="results", help=argparse.SUPPRESS)
    parser.add_argument("--executor", choices=EXECUTORS, default="inline", help="(default: inline)")
    parser.add_argument("--train-args", default="", help='extra train.py options, e.g. "--epochs 3"')
    parser.add_argument("--infer-args", default="", help='extra infer.py options, e.g. "--n-batches 10"')
    parser.add_argument("--slurm-partition", help="SLURM partition (default: the cluster's default)")
    parser.add_argument("--slurm-timeout-min", type=int, default=DEFAULT_TIMEOUT_MIN,
                        help="time limit of each experiment in minutes, SLURM job or local process "
                             "(default: 1440)")
    parser.add_argument("--slurm-gpus-per-node", type=int,
                        help="GPUs each job asks for (default: none asked; the node is exclusive anyway)")
    parser.add_argument("--mlflow", nargs="?", const="", metavar="URI",
                        help="log each finished run to MLflow: to URI, or without one to ./mlruns "
                             "(default: off)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def _slurm_options(args) -> dict:
    slurm = {"timeout_min": args.slurm_timeout_min}
    if args.slurm_partition:
        slurm["slurm_partition"] = args.slurm_partition
    if args.slurm_gpus_per_node is not None:
        slurm["gpus_per_node"] = args.slurm_gpus_per_node
    return slurm


def _mlflow_hook(uri: str | None, results: Path, progress) -> Callable[[Outcome], None] | None:
    if uri is None:
        return None
    from mlel.apps.tracking import log_record, tracked_run

    def log(outcome: Outcome) -> None:
        for run in outcome.run_folders:
            try:
                record = tracked_run(Path(run), results)
                run_id = log_record(record, Path(run), uri or None)
            except MleeError as error:  # tracking is a side channel: the sweep goes on
                progress(f"mlflow: {Path(run).name} not logged: {error}")
                continue
            why = f" (ratings not logged: {record.not_rated})" if record.not_rated else ""
            progress(f"mlflow: {Path(run).name} -> run {run_id}{why}")
    return log


PASSED_ON = ("--train-args", "--infer-args")  # their value is another tool's options: it may start with "-"


def joined_pass_on(argv: list[str]) -> list[str]:
    """``--infer-args "--trust"`` as ``--infer-args=--trust``: argparse takes a value that starts with
    "-" for an option of its own and refuses it ("expected one argument")."""
    out, words = [], iter(argv)
    for word in words:
        follower = next(words, None) if word in PASSED_ON else None
        out.append(word if follower is None else f"{word}={follower}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(joined_pass_on(sys.argv[1:] if argv is None else argv))
    experiments = grid(args.models, args.backends, args.seeds, args.tasks, Path(args.runs_dir).resolve(),
                       args.train_args.split(), args.infer_args.split())
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    progress = tqdm.write  # messages above the bar, never through it
    outcomes = run_grid(experiments, results, args.executor, _slurm_options(args), progress,
                        bar_stream=None if args.no_progress else sys.stderr,
                        after_merge=_mlflow_hook(args.mlflow, results, progress))
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} experiments ok"
          + (f"; failed: {', '.join(o.experiment for o in failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
