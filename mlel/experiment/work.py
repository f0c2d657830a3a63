"""The work one rank of a run measures: inference's warm-up and batches, one training epoch, and the
early-stopping rule. The single-process runner (:mod:`.runner`) and every data-parallel rank
(:mod:`.parallel`) run the same functions."""
from __future__ import annotations

import math

from .options import InferOptions, TrainOptions, lr_at
from .setup import Setup


def warmup_feed(feed: list, k: int) -> list:
    """The warm-up batches: the first batch ``k`` times, then (k > 0) the last batch once when it
    is smaller, so no batch shape is first seen (compiled, allocated, cached) while measured."""
    if k <= 0 or not feed:
        return []
    batches = [feed[0]] * k
    last = feed[-1]
    if len(feed) > 1 and len(last[0]) != len(feed[0][0]):
        batches.append(last)
    return batches


def _feeds(opts: InferOptions, setup: Setup):
    """(measured batches, warm-up batches). In-memory data is converted once, outside the
    measurement, so the loop measures the model."""
    data, prepare, shard = setup.data, setup.backend.prepare, setup.backend.shard
    k = opts.warmup_batches
    if data.in_memory:
        feed = data.materialize(opts.batch_size, opts.n_batches, prepare, shard=shard)
        return feed, warmup_feed(feed, k)
    first = list(data.batches(opts.batch_size, 1, transform=prepare)) if k > 0 else []
    return (data.batches(opts.batch_size, opts.n_batches, transform=prepare, shard=shard),
            warmup_feed(first, k))


def infer_work(opts: InferOptions, setup: Setup, progress=None):
    """The measured work of an inference run: warm-up, then every batch (of this rank's shard)."""
    feed, warmup = _feeds(opts, setup)
    if warmup:
        setup.backend.evaluate(warmup)
    return len(warmup), feed


def epoch_work(opts: TrainOptions, setup: Setup, epoch: int, seed: int, tick=None):
    """Train one epoch and evaluate (this rank's shard of the batches): (fit, evaluation)."""
    backend, train, val = setup.backend, setup.data, setup.val_data
    backend.set_lr(lr_at(opts, epoch))
    fit = backend.train_epoch(train.batches(opts.batch_size, opts.n_batches, shuffle=True, seed=seed + epoch,
                                            transform=backend.prepare, shard=backend.shard), progress=tick)
    ev = backend.evaluate(val.batches(opts.batch_size, transform=backend.prepare, shard=backend.shard),
                          progress=tick)
    return fit, ev


class EarlyStop:
    """Stop after ``patience`` epochs without val_loss improving by ``delta``."""

    def __init__(self, patience: int, delta: float):
        self.patience, self.delta = patience, delta
        self.best, self.waited = math.inf, 0

    def should_stop(self, loss: float) -> bool:
        if loss < self.best - self.delta:
            self.best, self.waited = loss, 0
            return False
        self.waited += 1
        return self.waited >= self.patience
