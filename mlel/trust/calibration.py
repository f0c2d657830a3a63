"""Calibration of a classifier's probabilities: top-label ECE and NLL, one-shot or summed over batches.

ECE (Guo et al. 2017): each sample falls into one of ``bins`` equal-width bins of its confidence
(its largest probability) over (0, 1], bin b holding confidences in (b/B, (b+1)/B];
ECE = sum_b |B_b|/n * |accuracy(B_b) - mean confidence(B_b)|, a fraction in [0, 1], lower is better.
NLL is the mean of -ln p(true label), in nats, each probability clipped at 1e-12 so that one
confidently wrong sample gives a large but finite value.

Both are sums over samples, so ``CalibrationSums`` keeps per-bin counts, per-bin sums of
correctness and confidence, and the NLL sum: adding batches gives the one-shot values (up to
floating-point summation order) without holding 10,000s of probability rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ECE_BINS = 15
NLL_FLOOR = 1e-12
DISTRIBUTION_TOLERANCE = 1e-4  # |row sum - 1| a float32 softmax stays well within, logits rarely do


@dataclass(frozen=True)
class Calibration:
    """``ece``: expected calibration error (fraction, 0 = calibrated); ``nll``: mean negative
    log-likelihood (nats); ``samples``: how many samples both are over."""

    ece: float
    nll: float
    samples: int


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a (n, classes) array, in float64; the row maximum is subtracted first so
    large logits cannot overflow."""
    z = _finite_rows(logits, "logits")
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def as_probabilities(outputs: np.ndarray) -> np.ndarray:
    """A backend's (n, classes) outputs as probabilities, float64.

    If every row already is a distribution (all values >= 0, each row summing to 1 within 1e-4),
    the outputs pass through unchanged (a model that ends in a softmax layer); otherwise they are
    taken as logits and the softmax of every row is returned. The test is made on the whole batch,
    not row by row, so that a logit row that happens to look like a distribution is not treated
    differently from its neighbours."""
    x = _finite_rows(outputs, "outputs")
    if _is_distribution(x):
        return x
    return softmax(x)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label ECE of (n, classes) probabilities against n integer labels (see the module doc)."""
    sums = CalibrationSums(bins)
    sums.add(probabilities, labels)
    return sums.result().ece


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean -ln p(true label) in nats, probabilities clipped below at 1e-12."""
    sums = CalibrationSums()
    sums.add(probabilities, labels)
    return sums.result().nll


class CalibrationSums:
    """ECE and NLL summed over batches: ``add`` each batch's probabilities and labels, then
    ``result()`` (the same numbers as the one-shot functions on all batches at once)."""

    def __init__(self, bins: int = ECE_BINS):
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
            raise ValueError(f"bins: must be a positive integer, got {bins!r}")
        self.bins = int(bins)
        self._edges = np.linspace(0.0, 1.0, self.bins + 1)
        self._count = np.zeros(self.bins, dtype=np.int64)
        self._correct = np.zeros(self.bins)
        self._confidence = np.zeros(self.bins)
        self._nll = 0.0
        self._samples = 0

    def add(self, probabilities: np.ndarray, labels: np.ndarray) -> None:
        p, y = _checked(probabilities, labels)
        if len(y) == 0:
            return
        confidence = p.max(axis=1)
        correct = (p.argmax(axis=1) == y).astype(np.float64)
        # bin b is (edges[b], edges[b+1]]: side="left" puts a confidence equal to an edge in the lower bin
        index = np.clip(np.searchsorted(self._edges, confidence, side="left") - 1, 0, self.bins - 1)
        self._count += np.bincount(index, minlength=self.bins)
        self._correct += np.bincount(index, weights=correct, minlength=self.bins)
        self._confidence += np.bincount(index, weights=confidence, minlength=self.bins)
        true_p = p[np.arange(len(y)), y]
        self._nll += float(-np.log(np.maximum(true_p, NLL_FLOOR)).sum())
        self._samples += len(y)

    @property
    def samples(self) -> int:
        return self._samples

    def result(self) -> Calibration:
        if self._samples == 0:
            raise ValueError("calibration: no samples were added")
        # |B|/n * |acc - conf| = |sum(correct) - sum(confidence)| / n per bin
        ece = float(np.abs(self._correct - self._confidence).sum() / self._samples)
        return Calibration(ece=ece, nll=self._nll / self._samples, samples=self._samples)


def _finite_rows(values, name: str) -> np.ndarray:
    x = np.asarray(values)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D (samples, classes) array, got shape {x.shape}")
    if x.shape[1] < 1:
        raise ValueError(f"{name}: has no classes (shape {x.shape})")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"{name}: expected numbers, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{name}: {int(bad.sum())} value(s) are NaN or infinite "
                         f"(first at row {row}, class {col}: {x[row, col]})")
    return x


def _is_distribution(x: np.ndarray) -> bool:
    return bool((x >= 0).all() and (np.abs(x.sum(axis=1) - 1.0) <= DISTRIBUTION_TOLERANCE).all())


def _checked(probabilities, labels) -> tuple[np.ndarray, np.ndarray]:
    p = _finite_rows(probabilities, "probabilities")
    if not _is_distribution(p):
        sums = p.sum(axis=1)
        row = int(np.argmax((p < 0).any(axis=1) | (np.abs(sums - 1.0) > DISTRIBUTION_TOLERANCE)))
        raise ValueError(f"probabilities: row {row} is not a distribution (min {p[row].min():.6g}, "
                         f"sum {sums[row]:.6g}); pass raw outputs through as_probabilities() first")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(p):
        raise ValueError(f"labels: expected shape ({len(p)},) to match probabilities {p.shape}, "
                         f"got {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        if not (np.isfinite(y).all() and (y == np.round(y)).all()):
            raise ValueError("labels: must be whole class indices (found NaN or a fraction)")
    elif not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels: expected integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    outside = (y < 0) | (y >= p.shape[1])
    if outside.any():
        raise ValueError(f"labels: {int(outside.sum())} label(s) outside 0..{p.shape[1] - 1} "
                         f"(first: {y[outside][0]} at sample {int(np.argmax(outside))})")
    return p, y
