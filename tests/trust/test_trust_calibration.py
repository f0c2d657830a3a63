"""ECE and NLL (mlel/trust/calibration.py): agree with a naive per-sample reference, a hand-worked
example and netcal; a calibrated classifier scores ~0, an over-confident one its known gap; batches
sum to the one-shot numbers; bad input is named."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mlel.trust.calibration import (Calibration, CalibrationSums, as_probabilities, expected_calibration_error,
                                    negative_log_likelihood, softmax)


def fixed_logits(n=3000, classes=10, seed=28):
    rng = np.random.default_rng(seed)
    # temperatures from 0.3 to 4 spread the confidences over most of the 15 bins
    logits = rng.normal(size=(n, classes)) * rng.uniform(0.3, 4.0, size=(n, 1))
    labels = np.where(rng.random(n) < 0.7, logits.argmax(axis=1), rng.integers(0, classes, n))
    return logits, labels


def naive_ece(probabilities, labels, bins=15):
    """Reference: sample by sample, explicit bin membership lo < confidence <= hi."""
    total = 0.0
    n = len(labels)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = []
        for row, label in zip(probabilities, labels):
            confidence = max(row)
            predicted = list(row).index(confidence)
            if lo < confidence <= hi:
                members.append((confidence, 1.0 if predicted == label else 0.0))
        if members:
            accuracy = sum(c for _, c in members) / len(members)
            mean_confidence = sum(conf for conf, _ in members) / len(members)
            total += len(members) / n * abs(accuracy - mean_confidence)
    return total


def naive_nll(probabilities, labels):
    return sum(-math.log(max(row[label], 1e-12)) for row, label in zip(probabilities, labels)) / len(labels)


def test_ece_and_nll_agree_with_a_naive_reference_on_fixed_logits():
    logits, labels = fixed_logits()
    p = softmax(logits)
    assert expected_calibration_error(p, labels) == pytest.approx(naive_ece(p.tolist(), labels.tolist()), abs=1e-6)
    assert negative_log_likelihood(p, labels) == pytest.approx(naive_nll(p.tolist(), labels.tolist()), abs=1e-6)
    assert expected_calibration_error(p, labels, bins=7) == pytest.approx(
        naive_ece(p.tolist(), labels.tolist(), bins=7), abs=1e-6)


def test_a_hand_worked_example():
    p = np.array([[0.90, 0.05, 0.05],   # label 0: confidence 0.90, right; bin 13 = (13/15, 14/15]
                  [0.10, 0.85, 0.05],   # label 2: confidence 0.85, wrong; bin 12 = (12/15, 13/15]
                  [0.25, 0.20, 0.55],   # label 2: confidence 0.55, right; bin 8  = (8/15, 9/15]
                  [0.50, 0.30, 0.20],   # label 1: confidence 0.50, wrong; bin 7  = (7/15, 8/15]
                  [0.05, 0.88, 0.07]])  # label 1: confidence 0.88, right; bin 13
    labels = np.array([0, 2, 2, 1, 1])
    # bin 13: 2/5 * |1 - (0.90 + 0.88)/2| = 0.4 * 0.11 = 0.044
    # bin 12: 1/5 * |0 - 0.85| = 0.170;  bin 8: 1/5 * |1 - 0.55| = 0.090;  bin 7: 1/5 * |0 - 0.50| = 0.100
    # ECE = 0.044 + 0.170 + 0.090 + 0.100 = 0.404
    assert expected_calibration_error(p, labels) == pytest.approx(0.404, abs=1e-12)
    # NLL = -(ln 0.90 + ln 0.05 + ln 0.55 + ln 0.30 + ln 0.88) / 5
    #     = (0.1053605 + 2.9957323 + 0.5978370 + 1.2039728 + 0.1278334) / 5 = 5.0307360 / 5
    assert negative_log_likelihood(p, labels) == pytest.approx(1.0061472, abs=1e-6)


def test_bins_are_closed_on_the_right():
    # with 2 bins, (0, 0.5] and (0.5, 1]: 0.5 (right) and 0.75 (wrong) sit in different bins:
    # 1/2 * |1 - 0.5| + 1/2 * |0 - 0.75| = 0.625 (one bin would give |1 - 1.25| / 2 = 0.125)
    p = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert expected_calibration_error(p, np.array([0, 0]), bins=2) == pytest.approx(0.625)


def test_netcal_agrees_when_installed():
    metrics = pytest.importorskip("netcal.metrics", reason="netcal is only a test oracle; it is not a "
                                  "requirement (it pulls pyro, gpytorch and tensorboard)")
    logits, labels = fixed_logits()
    p = softmax(logits)
    assert expected_calibration_error(p, labels) == pytest.approx(metrics.ECE(bins=15).measure(p, labels), abs=1e-6)


def test_a_calibrated_classifier_scores_near_zero():
    # labels drawn from the classifier's own distribution: calibrated by construction. What is left is
    # sampling noise, at most sqrt(2/pi) * sqrt(15 bins * 0.25 / n) = 0.0035 in expectation for n = 200,000
    rng = np.random.default_rng(7)
    n = 200_000
    p = softmax(rng.normal(size=(n, 10)) * rng.uniform(0.5, 4.0, size=(n, 1)))
    labels = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1).clip(0, 9)
    assert expected_calibration_error(p, labels) < 0.01


def test_an_over_confident_classifier_scores_its_gap():
    # always 0.95 on its prediction, right 60 % of the time: every sample is in bin (14/15, 1], so
    # ECE = 0.95 - observed accuracy; expected 0.35, standard deviation sqrt(0.6 * 0.4 / n) = 0.0015 for
    # n = 100,000, so 0.35 +- 0.006 (4 sd) cannot fail by chance and catches any mis-binning or weighting
    rng = np.random.default_rng(11)
    n, classes = 100_000, 10
    predicted = rng.integers(0, classes, n)
    p = np.full((n, classes), 0.05 / (classes - 1))
    p[np.arange(n), predicted] = 0.95
    wrong = (predicted + rng.integers(1, classes, n)) % classes
    labels = np.where(rng.random(n) < 0.6, predicted, wrong)
    assert expected_calibration_error(p, labels) == pytest.approx(0.35, abs=0.006)


def test_batches_sum_to_the_one_shot_values():
    logits, labels = fixed_logits(n=2500)
    p = softmax(logits)
    sums = CalibrationSums()
    for start, stop in ((0, 1), (1, 700), (700, 700), (700, 2048), (2048, 2500)):  # uneven, one empty
        sums.add(p[start:stop], labels[start:stop])
    streamed = sums.result()
    assert isinstance(streamed, Calibration) and streamed.samples == 2500
    assert streamed.ece == pytest.approx(expected_calibration_error(p, labels), abs=1e-12)
    assert streamed.nll == pytest.approx(negative_log_likelihood(p, labels), abs=1e-12)


def test_as_probabilities_passes_distributions_and_softmaxes_logits():
    logits, _ = fixed_logits(n=50)
    p = softmax(logits)
    assert np.array_equal(as_probabilities(p.astype(np.float32)), p.astype(np.float32).astype(np.float64))
    assert np.allclose(as_probabilities(logits), p)
    mixed = p.copy()
    mixed[0] = logits[0]  # one logit row: the batch is logits, every row gets the softmax
    assert np.allclose(as_probabilities(mixed)[1:], softmax(p[1:]))
    scores = np.array([[2.0, 1.0, 0.0], [0.5, 0.5, 0.5]])  # non-negative, yet not summing to 1: logits
    assert np.allclose(as_probabilities(scores), softmax(scores))


def test_softmax_is_stable_for_large_logits():
    out = softmax(np.array([[1000.0, 999.0, -1000.0]]))
    assert np.isfinite(out).all()
    assert out[0, 0] == pytest.approx(1 / (1 + math.exp(-1)))


def test_nll_is_finite_for_a_zero_probability():
    assert negative_log_likelihood(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-math.log(1e-12))


@pytest.mark.parametrize("probabilities, labels, words", [
    (np.full((3, 2), 0.5), np.array([0, 1]), "labels: expected shape (3,)"),
    (np.full((2, 2), 0.5), np.array([0, 2]), "outside 0..1"),
    (np.full((2, 2), 0.5), np.array([-1, 0]), "outside 0..1"),
    (np.array([[np.nan, 0.5], [0.5, 0.5]]), np.array([0, 0]), "probabilities: 1 value(s) are NaN"),
    (np.array([[2.0, 1.0], [0.5, 0.5]]), np.array([0, 0]), "row 0 is not a distribution"),
    (np.full(4, 0.25), np.array([0]), "2-D"),
    (np.full((2, 2), 0.5), np.array([0.5, 1.0]), "whole class indices"),
])
def test_bad_input_is_named(probabilities, labels, words):
    with pytest.raises(ValueError, match=None) as caught:
        expected_calibration_error(probabilities, labels)
    assert words in str(caught.value)
    with pytest.raises(ValueError):
        negative_log_likelihood(probabilities, labels)


def test_nan_outputs_and_empty_sums_are_refused():
    with pytest.raises(ValueError, match="outputs: 1 value"):
        as_probabilities(np.array([[0.1, np.inf]]))
    with pytest.raises(ValueError, match="no samples"):
        CalibrationSums().result()
    with pytest.raises(ValueError, match="bins"):
        CalibrationSums(0)
