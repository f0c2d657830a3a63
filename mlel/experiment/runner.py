"""The measured part of a run: inference or training under mlel.monitoring -> results files."""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from pathlib import Path

from mlel.base.errors import EXIT_OK
from mlel.base.io import write_json
from mlel.base.units import MS_PER_S, PER_GIGA

from .console import progress, tee_output
from .parallel import check_parallel, data_parallel
from .work import EarlyStop, epoch_work, infer_work
from .options import InferOptions, RunOptions, RunResult, TrainOptions, lr_at
from .rundir import ended_early, start_run
from .setup import Setup, seed_and_build, setup_inference, setup_training
from .signals import Interrupted, SignalWatch, signals_raise

HISTORY_KEYS = ("loss", "accuracy", "top_5_accuracy", "val_loss", "val_accuracy", "val_top_5_accuracy",
                "lr", "timestamp")
EARLY_END = (Exception, Interrupted, KeyboardInterrupt)  # what a started run survives to record


def _measure(run_dir: Path, opts: RunOptions, prefix: str, idle_seconds: float | None = None):
    from mlel.monitoring import measure
    return measure(run_dir, gpu_interval=opts.gpu_monitor_interval, cpu_interval=opts.cpu_monitor_interval,
                   prefix=prefix, idle_seconds=opts.idle_seconds if idle_seconds is None else idle_seconds,
                   cpu_tdp=opts.cpu_tdp, country=opts.country)


def _energy_line(m) -> str:
    if not m.sources:
        return "energy: no power source could be read"
    sources = ", ".join(f"{s} ({kind})" for s, kind in m.sources.items())
    return f"energy: {m.energy_ws:.1f} J from {sources}"


def _resolved(setup: Setup, seed: int, weights: str, **extra) -> dict:
    """What config.json records beyond the options: the setup as resolved."""
    return dict(model=setup.spec.name, backend=setup.backend.name, dataset=setup.dataset,
                data_path=setup.data_path if setup.dataset == "imagenet" else None,
                input_size=setup.input_size, num_classes=setup.num_classes,
                device=setup.backend.device, seed=seed, weights=weights, **extra)


def _describe(setup: Setup, opts: RunOptions, seed: int, weights: str, n_batches: int) -> str:
    what = f"{setup.spec.name} ({setup.input_size}px, {setup.num_classes} classes)"
    if setup.trained_run is not None:
        what += f" trained in {setup.trained_run}"
    note = " - untrained: accuracy is meaningless" if weights == "random" and isinstance(opts, InferOptions) else ""
    notes = "".join(f"\n  {line}" for line in setup.notes)
    return (f"{what} on {setup.backend.name} ({setup.backend.device}); data: {setup.dataset}, "
            f"{n_batches} batches of {opts.batch_size}; weights: {weights}{note}; seed {seed}{notes}")


def _run(task: str, opts: RunOptions, setup_run, extra_of, work, early: dict | None = None) -> RunResult:
    """The frame both runs share: set up and build (a signal before the run folder exists leaves
    nothing), start the run folder, then ``work`` with the console teed to its logfile; a run that
    ends early records why (and ``early``, e.g. the history so far)."""
    with signals_raise() as watch, contextlib.ExitStack() as group:
        run_dir = None
        try:
            setup = setup_run(opts)
            check_parallel(opts, setup)
            seed, weights = seed_and_build(setup, opts)
            devices = group.enter_context(data_parallel(task, opts, setup, seed))
            run_dir, _ = start_run(task, opts, _resolved(setup, seed, weights, **extra_of(setup),
                                                         devices=devices))
        except (Interrupted, KeyboardInterrupt) as exc:
            return ended_early(run_dir, exc)
        with tee_output(run_dir / "logfile.txt"):
            try:
                return work(setup, run_dir, seed, weights, watch)
            except EARLY_END as exc:
                return ended_early(run_dir, exc, early)


def run_inference(opts: InferOptions) -> RunResult:
    """Measure one model's inference; see the package doc for what lands in the run folder."""
    def extra(setup: Setup) -> dict:
        return {"infer_model": opts.infer_model or opts.model,
                "n_batches": setup.data.n_batches(opts.batch_size, opts.n_batches),  # resolved: what runs
                "warmup": opts.warmup_batches}  # the name ratings' warm-up gate reads
    return _run("infer", opts, setup_inference, extra,
                lambda setup, run_dir, seed, weights, watch: _infer(opts, setup, run_dir, seed, weights, watch))


def evaluate_passes(evaluate, next_pass, min_duration_s: float, clock=time.monotonic):
    """Whole passes (``next_pass()`` gives one pass's batches) until ``min_duration_s`` has passed,
    at least one: MLPerf's minimum-duration rule, so a small evaluation set still gives a measured
    window long enough to carry a grade. Returns (metrics over all passes, passes)."""
    from mlel.backends.base import combined
    start, evaluations = clock(), []
    while not evaluations or clock() - start < min_duration_s:
        evaluations.append(evaluate(next_pass()))
    return combined(evaluations), len(evaluations)


def _pass_feeds(opts: InferOptions, setup: Setup, feed, bar):
    """next_pass() for evaluate_passes: the first pass is ``feed``; later ones the same list (in
    memory) or a fresh loader, with the progress bar restarted."""
    count = itertools.count(1)

    def next_pass():
        number = next(count)
        if number == 1:
            return feed
        bar.set_description(f"inference, pass {number}")
        bar.reset()
        if isinstance(feed, list):
            return feed
        return setup.data.batches(opts.batch_size, opts.n_batches, transform=setup.backend.prepare,
                                  shard=setup.backend.shard)
    return next_pass


def _infer(opts: InferOptions, setup: Setup, run_dir: Path, seed: int, weights: str,
           watch: SignalWatch) -> RunResult:
    backend, stats = setup.backend, setup.backend.stats()
    n_batches = setup.data.n_batches(opts.batch_size, opts.n_batches)
    print(f"MLEE inference -> {run_dir}\n  " + _describe(setup, opts, seed, weights, n_batches), flush=True)
    print(f"  model: {stats.params:,} parameters, "
          f"{'n.a.' if stats.flops is None else f'{stats.flops * PER_GIGA:.3g} GFLOPs'} per sample, "
          f"{stats.fsize:,} bytes", flush=True)
    n_warmup, feed = infer_work(opts, setup)
    print(f"  warm-up: {n_warmup} batches before the measurement (--warmup-batches "
          f"{opts.warmup_batches})", flush=True)
    bar = None
    try:
        with _measure(run_dir, opts, "validation_") as m:
            bar = progress(len(feed) if isinstance(feed, list) else n_batches, "inference")  # after the notes
            tick = watch.ticker(bar)
            start = time.time()
            metrics, passes = evaluate_passes(lambda batches: backend.evaluate(batches, progress=tick),
                                              _pass_feeds(opts, setup, feed, bar), opts.min_duration_s)
            end = time.time()
    finally:
        if bar is not None:
            bar.close()
    results = {"start": start, "end": end, "passes": passes, "metrics": metrics.as_dict(),
               "model": dataclasses.asdict(stats)}
    write_json(run_dir / "validation_results.json", results)
    rate = metrics.n_samples / (end - start) if end > start else float("nan")
    acc = "n.a. (no labels)" if metrics.accuracy is None else \
        f"{metrics.accuracy:.4f} (top-5 {metrics.top_5_accuracy:.4f}, loss {metrics.loss:.4f})"
    passes_note = f"{passes} pass{'es' if passes > 1 else ''}"
    print(f"done: {metrics.n_samples} samples ({passes_note}) in {end - start:.2f} s ({rate:.1f} samples/s); "
          f"accuracy {acc}; {_energy_line(m)}\n  results: {run_dir}", flush=True)
    trust = _trust(opts, setup, run_dir, seed, watch) if opts.trust else None
    return RunResult(run_dir, EXIT_OK, results=results, trust=trust)


def _trust(opts: InferOptions, setup: Setup, run_dir: Path, seed: int, watch: SignalWatch) -> dict | None:
    """The trust passes (mlel.experiment.trust_run) in their own measured window, after the
    efficiency window has ended: trust_results.json, trust_monitoring_*.json, trust_energy.json."""
    from .trust_run import TRUST_PREFIX, TRUST_RESULTS, passes_per_batch, trust_line, trust_passes
    if setup.data.num_classes is None:
        print(f"trust: not measured: no labels ({setup.dataset} data); nothing recorded", flush=True)
        return None
    bar = None
    try:  # no idle baseline again: the trust window's energy is what the passes cost, measured alike
        with _measure(run_dir, opts, TRUST_PREFIX, idle_seconds=0.0) as m:
            bar = progress(setup.data.n_batches(opts.batch_size, opts.n_batches) * passes_per_batch(), "trust")
            start = time.time()
            outcome = trust_passes(setup.backend, setup.data.batches(opts.batch_size, opts.n_batches), seed,
                                   watch.ticker(bar))
            end = time.time()
    finally:
        if bar is not None:
            bar.close()
    record = {"start": start, "end": end, **outcome.as_dict()}
    write_json(run_dir / TRUST_RESULTS, record)
    print(trust_line(outcome, end - start, _energy_line(m)), flush=True)
    return record


def run_training(opts: TrainOptions) -> RunResult:
    """Train one model under measurement; saves it in the run folder for infer.py."""
    history = {key: [] for key in HISTORY_KEYS}

    def extra(setup: Setup) -> dict:
        setup.backend.configure_training(opts.opt, opts.lr, opts.momentum, opts.weight_decay,
                                         bn_momentum=opts.bn_momentum)
        return {"full_epochs": opts.full_epochs or opts.epochs,
                "n_batches": setup.data.n_batches(opts.batch_size, opts.n_batches)}  # per epoch
    return _run("train", opts, setup_training, extra,
                lambda setup, run_dir, seed, weights, watch: _train(opts, setup, run_dir, seed, weights,
                                                                    history, watch),
                {"history": history})


def _epoch(opts: TrainOptions, setup: Setup, epoch: int, seed: int, watch: SignalWatch, history: dict):
    """Train one epoch, evaluate, append to the history; returns the evaluation."""
    backend, world = setup.backend, setup.backend.shard[1]
    lr = lr_at(opts, epoch)
    # one bar per epoch (no nested bars: the logfile keeps each epoch's last state)
    bar = progress(-(-(setup.data.n_batches(opts.batch_size, opts.n_batches)
                       + setup.val_data.n_batches(opts.batch_size)) // world), f"epoch {epoch + 1}/{opts.epochs}")
    try:
        fit, ev = epoch_work(opts, setup, epoch, seed, watch.ticker(bar))
    finally:
        bar.close()
    for key, value in zip(HISTORY_KEYS, (fit.loss, fit.accuracy, fit.top_5_accuracy, ev.loss, ev.accuracy,
                                         ev.top_5_accuracy, lr, time.time() * MS_PER_S)):
        history[key].append(value)
    print(f"  loss {fit.loss:.4f} acc {fit.accuracy:.4f} top5 {fit.top_5_accuracy:.4f} | "
          f"val_loss {ev.loss:.4f} val_acc {ev.accuracy:.4f} val_top5 {ev.top_5_accuracy:.4f} "
          f"| lr {lr:.3g}", flush=True)
    return ev


def _train(opts: TrainOptions, setup: Setup, run_dir: Path, seed: int, weights: str, history: dict,
           watch: SignalWatch) -> RunResult:
    backend = setup.backend
    n_train = setup.data.n_batches(opts.batch_size, opts.n_batches)
    print(f"MLEE training -> {run_dir}\n  " + _describe(setup, opts, seed, weights, n_train)
          + f"; {opts.epochs} epochs, {opts.opt} lr {opts.lr} ({opts.lr_scheduler})", flush=True)
    stop, stopped = EarlyStop(opts.early_patience, opts.early_delta), None
    with _measure(run_dir, opts, "") as m:
        start = time.time()
        for epoch in range(opts.epochs):
            ev = _epoch(opts, setup, epoch, seed, watch, history)
            if stop.should_stop(ev.loss):
                stopped = epoch + 1
                print(f"early stop: val_loss did not improve by {opts.early_delta} for {stop.waited} epochs",
                      flush=True)
                break
        end = time.time()
    model_file = backend.save(run_dir)
    backend.model_file = model_file
    stats = backend.stats()
    results = {"start": start, "end": end, "history": history, "model": dataclasses.asdict(stats),
               "early_stopped_epoch": stopped, "model_file": model_file.name}
    write_json(run_dir / "results.json", results)
    print(f"done: {len(history['loss'])} epochs in {end - start:.1f} s; val accuracy "
          f"{history['val_accuracy'][-1]:.4f}; {_energy_line(m)}\n  trained model: {model_file}\n"
          f"  measure its inference: python -m mlel.infer --infer-model {run_dir}", flush=True)
    return RunResult(run_dir, EXIT_OK, results=results)
