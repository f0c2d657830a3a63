"""robustness() (mlel/trust/robustness.py): the mean over corruptions x severities, its share of
the clean top-1, None when the clean top-1 is 0, and named errors."""
from __future__ import annotations

import pytest

from mlel.trust.corruptions import CORRUPTIONS, SEVERITIES
from mlel.trust.robustness import Robustness, robustness


def full_grid(top1_of):
    return {(name, severity): top1_of(i, severity) for i, name in enumerate(CORRUPTIONS) for severity in SEVERITIES}


def test_the_arithmetic():
    # top-1 = 0.9 - 0.1 * severity - 0.02 * corruption index: the 15 values average
    # 0.9 - 0.1 * 2 - 0.02 * 2 = 0.66; relative 0.66 / 0.8 = 0.825
    result = robustness(0.8, full_grid(lambda i, s: 0.9 - 0.1 * s - 0.02 * i))
    assert isinstance(result, Robustness)
    assert result.clean_top1 == 0.8
    assert result.corruption_top1 == pytest.approx(0.66, abs=1e-12)
    assert result.relative == pytest.approx(0.825, abs=1e-12)
    assert list(result.per_corruption) == list(CORRUPTIONS)
    assert result.per_corruption["contrast"] == pytest.approx({1: 0.74, 2: 0.64, 3: 0.54})
    assert list(result.per_corruption["jpeg"]) == [1, 2, 3]


def test_a_subset_is_averaged_over_what_was_measured():
    result = robustness(0.5, {("jpeg", 3): 0.2, ("gaussian_noise", 1): 0.4})
    assert result.corruption_top1 == pytest.approx(0.3)
    assert result.relative == pytest.approx(0.6)
    assert list(result.per_corruption) == ["gaussian_noise", "jpeg"]


def test_relative_is_none_when_the_clean_top1_is_zero():
    result = robustness(0.0, full_grid(lambda i, s: 0.0))
    assert result.relative is None and result.corruption_top1 == 0.0


@pytest.mark.parametrize("clean, corrupted, words", [
    (1.2, {("jpeg", 1): 0.5}, "clean_top1"),
    (float("nan"), {("jpeg", 1): 0.5}, "clean_top1"),
    (0.5, {}, "no (corruption, severity)"),
    (0.5, {("fog", 1): 0.5}, "unknown corruption 'fog'"),
    (0.5, {("jpeg", 5): 0.5}, "severity 5 of jpeg"),
    (0.5, {("jpeg", 1): -0.1}, "corrupted_top1['jpeg', 1]"),
    (0.5, {"jpeg": 0.5}, "pairs"),
])
def test_bad_input_is_named(clean, corrupted, words):
    with pytest.raises(ValueError) as caught:
        robustness(clean, corrupted)
    assert words in str(caught.value)
