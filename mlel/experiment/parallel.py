"""Data-parallel runs (issue 14): ``--data-parallel N`` runs one process per device, as PyTorch's
DistributedDataParallel is meant to be launched (the 2022 tool's DataParallel on all GPUs, in its
modern form). On GPUs rank r uses cuda:r (NCCL); on the CPU the N processes share the cores
(gloo), which is how the mode is tested without GPUs.

The process that the user started is rank 0: it validates the options, creates the run folder,
measures and writes every file, exactly as in a single-device run. It spawns ranks 1..N-1 before
the measurement; each builds the same model from the same seed, joins the group (the rendezvous
waits until all are ready, so start-up is never measured), and runs the same sequence of steps on
its own shard of the batches. Metrics are summed over the group, so rank 0's results are the
whole run's. Workers print nothing; a worker that fails breaks the group's next collective, which
ends rank 0's run as failed (its folder marked incomplete).

TensorFlow (``--backend tensorflow``) needs no processes: the backend mirrors the model with
MirroredStrategy over N devices (GPUs 0..N-1, or N logical CPU devices) and splits each batch
over the replicas, in this one process (``TensorFlowBackend.mirror``).

config.json records ``data_parallel`` (N) and ``devices`` (each rank's or replica's device).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import sys
from typing import Iterator

from mlel.base.errors import MleeError, UsageError

from .options import InferOptions, RunOptions, TrainOptions

JOIN_TIMEOUT_S = 60.0


def rank_devices(device: str, world: int) -> list[str]:
    """The device of each rank: cuda:0..N-1 on GPUs, the CPU for all on the CPU."""
    if device.startswith("cuda"):
        return [f"cuda:{rank}" for rank in range(world)]
    return [device] * world


def _free_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def check_parallel(opts: RunOptions, setup) -> None:
    """UsageError where N processes cannot share the work (before any process or folder)."""
    world = opts.data_parallel
    if world == 1:
        return
    if setup.backend.name not in ("pytorch", "tensorflow"):
        raise UsageError(f"--data-parallel {world}: backend {setup.backend.name} has no data-parallel "
                         "mode here; use --backend pytorch or tensorflow")
    if setup.backend.name == "tensorflow":  # one process: the model is mirrored on N devices
        setup.notes.append(f"data parallel: MirroredStrategy over {world} devices")
        setup.devices = setup.backend.mirror(world)
        return
    if setup.backend.device.startswith("cuda"):
        import torch
        if torch.cuda.device_count() < world:
            raise UsageError(f"--data-parallel {world}: only {torch.cuda.device_count()} GPU(s) visible")
    batches = setup.data.n_batches(opts.batch_size, opts.n_batches)
    if batches < world:
        raise UsageError(f"--data-parallel {world}: {batches} batch(es) cannot feed {world} processes")


def _worker(task: str, opts: RunOptions, rank: int, world: int, address: str, ready) -> None:
    """Rank ``rank``: build the same model, join the group, run the same steps on its shard."""
    from .work import EarlyStop, epoch_work, infer_work
    from .setup import seed_and_build, setup_inference, setup_training
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # rank 0 handles Ctrl-C and ends the group
    sys.stdout = sys.stderr = open(os.devnull, "w")
    try:
        setup = (setup_inference if task == "infer" else setup_training)(opts)
        seed, _ = seed_and_build(setup, opts)
    except Exception as exc:  # told to rank 0, which ends the run with the reason
        ready.put((rank, f"{type(exc).__name__}: {exc}"))
        return
    ready.put((rank, None))
    backend = setup.backend
    backend.distribute(rank, world, address)
    try:
        if task == "infer":
            _, feed = infer_work(opts, setup)
            backend.evaluate(feed)
            return
        backend.configure_training(opts.opt, opts.lr, opts.momentum, opts.weight_decay,
                                   bn_momentum=opts.bn_momentum)
        stop = EarlyStop(opts.early_patience, opts.early_delta)
        for epoch in range(opts.epochs):  # the same decisions as rank 0: losses are group sums
            _, ev = epoch_work(opts, setup, epoch, seed)
            if stop.should_stop(ev.loss):
                break
    finally:
        backend.leave()


def _wait_ready(workers: list, ready) -> None:
    """Until every worker has built its model; a worker that failed or died ends the run here
    (rather than in a rendezvous that would wait for it for minutes)."""
    import queue
    waiting = {int(w.name.removeprefix("mlel-rank")): w for w in workers}
    while waiting:
        try:
            rank, error = ready.get(timeout=1.0)
        except queue.Empty:
            dead = [r for r, w in waiting.items() if not w.is_alive()]
            if dead:
                raise MleeError(f"data-parallel rank {dead[0]} ended before it was ready "
                                   f"(exit code {waiting[dead[0]].exitcode})") from None
            continue
        if error is not None:
            raise MleeError(f"data-parallel rank {rank} failed to start: {error}")
        waiting.pop(rank)


@contextlib.contextmanager
def data_parallel(task: str, opts: RunOptions, setup, seed: int) -> Iterator[list[str]]:
    """Start ranks 1..N-1 and make this process rank 0 (N = opts.data_parallel); yields the
    devices of the ranks. On leaving, the group is closed and the workers joined (or ended)."""
    world = opts.data_parallel
    if world == 1 or setup.backend.name == "tensorflow":  # TensorFlow: mirrored in this process
        yield getattr(setup, "devices", None) or [setup.backend.device]
        return
    import torch.multiprocessing as mp
    address = _free_address()
    worker_opts = dataclasses.replace(opts, seed=seed, repeat=1)
    context = mp.get_context("spawn")
    ready = context.Queue()
    workers = [context.Process(target=_worker, args=(task, worker_opts, rank, world, address, ready),
                               name=f"mlel-rank{rank}", daemon=True) for rank in range(1, world)]
    for w in workers:
        w.start()
    try:
        _wait_ready(workers, ready)
        setup.backend.distribute(0, world, address)
        yield rank_devices(setup.backend.device, world)
    finally:
        setup.backend.leave()
        for w in workers:
            w.join(JOIN_TIMEOUT_S)
            if w.is_alive():
                w.terminate()
                w.join(5)


__all__ = ["InferOptions", "TrainOptions", "check_parallel", "data_parallel", "rank_devices"]
