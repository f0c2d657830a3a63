"""The trust passes of ``infer.py --trust`` (issue 28): what a model trades for its efficiency,
evaluated after the measured window on the same evaluation data.

Per batch of raw images (float32 NHWC in [0, 255], as every backend receives them): the clean batch
(per-sample probabilities -> ECE over 15 bins and NLL), then each corruption x severity of
:mod:`mlel.trust.corruptions` applied to the raw batch *before* the backend's ``prepare``, so PyTorch,
TensorFlow and both ONNX exports see the same corrupted inputs. The seed of a batch's corruptions is
derived from the run's seed and the batch's first sample, so the same input gets the same corruption
on every backend (for the same seed, batch size and data).

The math lives in :mod:`mlel.trust`; top-1 is :class:`~mlel.backends.base.MetricSums`' rule (the
inference accuracy's own); the measured window around these passes is the runner's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from mlel.backends.base import MetricSums
from mlel.runlog.folder import TRUST_PREFIX  # merge reads the trust window by it
from mlel.trust.calibration import Calibration, CalibrationSums, as_probabilities
from mlel.trust.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from mlel.trust.robustness import Robustness, robustness

TRUST_RESULTS = f"{TRUST_PREFIX}results.json"
SEED_SALT = 28                         # keeps the corruption stream apart from the model's use of the seed
RAW_RANGE = (0.0, 255.0)               # the raw batches' value range (mlel.experiment.data)


def conditions() -> list[tuple[str, int]]:
    """Every (corruption, severity) evaluated, in a fixed order."""
    return [(corruption, severity) for corruption in CORRUPTIONS for severity in SEVERITIES]


def passes_per_batch() -> int:
    """Forward passes per evaluation batch: the clean one and one per condition (the progress bar's unit)."""
    return 1 + len(conditions())


def corruption_seed(run_seed: int, first_sample: int) -> int:
    """The corruption seed of the batch that starts at sample ``first_sample`` of the evaluation data."""
    return int(np.random.SeedSequence((int(run_seed), SEED_SALT, int(first_sample))).generate_state(1)[0])


def corrupt_batch(x: np.ndarray, corruption: str, severity: int, seed: int) -> np.ndarray:
    """One raw batch, corrupted: the single call site of :func:`mlel.trust.corruptions.corrupt`."""
    return np.asarray(corrupt(x, corruption, severity, seed, channels_last=True, value_range=RAW_RANGE),
                      dtype=np.float32)


@dataclass(frozen=True)
class TrustOutcome:
    """What the trust passes measured: calibration (:class:`mlel.trust.calibration.Calibration`),
    robustness (:class:`mlel.trust.robustness.Robustness`), the samples and the run seed used."""
    calibration: Calibration
    robustness: Robustness
    n_samples: int
    run_seed: int

    def as_dict(self) -> dict:
        """``metrics`` (the rated keys, plus clean top-1 and samples) and each condition's top-1."""
        cal, rob = self.calibration, self.robustness
        per = {name: {str(severity): top1 for severity, top1 in by_severity.items()}
               for name, by_severity in rob.per_corruption.items()}
        return {"metrics": {"ece": cal.ece, "nll": cal.nll, "corruption_top1": rob.corruption_top1,
                            "robustness": rob.relative, "clean_top1": rob.clean_top1,
                            "n_samples": self.n_samples},
                "corruption_top1": per, "seed": self.run_seed, "seed_salt": SEED_SALT}


def trust_passes(backend, batches: Iterable[tuple[np.ndarray, np.ndarray]], run_seed: int,
                 tick: Callable[[int], Any] | None = None) -> TrustOutcome:
    """Evaluate ``backend`` on raw labelled ``batches``: clean, then every condition; ``tick(1)``
    after each forward pass."""
    calibration, clean = CalibrationSums(), MetricSums(backend.outputs_probabilities)
    corrupted = {condition: MetricSums(backend.outputs_probabilities) for condition in conditions()}
    n = 0
    for x, y in batches:
        out = backend.predict(backend.prepare(x))
        calibration.add(as_probabilities(out), y)
        clean.add(out, y)
        _tick(tick)
        seed = corruption_seed(run_seed, n)
        for (corruption, severity), sums in corrupted.items():
            sums.add(backend.predict(backend.prepare(corrupt_batch(x, corruption, severity, seed))), y)
            _tick(tick)
        n += len(y)
    clean_top1 = clean.result().accuracy
    per = {condition: sums.result().accuracy for condition, sums in corrupted.items()}
    return TrustOutcome(calibration.result(), robustness(clean_top1, per), n, int(run_seed))


def _tick(tick) -> None:
    if tick is not None:
        tick(1)


def trust_line(outcome: TrustOutcome, duration_s: float, energy_line: str) -> str:
    """The console's summary of the trust passes."""
    cal, rob = outcome.calibration, outcome.robustness
    relative = "n.a.: clean top-1 is 0" if rob.relative is None else f"{rob.relative:.3f}"
    return (f"trust: ECE {cal.ece:.4f}, NLL {cal.nll:.4f}; top-1 clean {rob.clean_top1:.4f}, under "
            f"corruption {rob.corruption_top1:.4f} (robustness {relative}); {outcome.n_samples} "
            f"samples x {passes_per_batch()} passes in {duration_s:.2f} s, outside the measured window; "
            f"trust evaluation {energy_line}")
