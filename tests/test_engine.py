"""The rating engine (mlel.ratings.engine): index, rating from index, compound, calibration, band geometry.

The compound modes are checked against a plain-Python oracle written from SPEC §5's wording, on
random cases, so a change to the vectorised rule cannot pass by agreeing with itself.
"""
import math
import random
from fractions import Fraction

import numpy as np
import pytest

from mlel.ratings import engine
from mlel.ratings.engine import COMPOUND_MODES, RATINGS


def test_index_matrix_direction_missing_and_zero():
    values = np.array([[2.0, 0.8], [0.0, 0.4], [np.nan, 0.0]])
    reference = np.array([4.0, 0.4])
    indices = engine.index_matrix(values, reference, np.array([False, True]))
    assert indices[0].tolist() == [2.0, 2.0]  # half the energy / twice the accuracy: index 2
    assert math.isnan(indices[1, 0])  # 4 / 0: no index, not infinity
    assert indices[1, 1] == 1.0
    assert math.isnan(indices[2, 0]) and indices[2, 1] == 0.0  # missing value; accuracy 0 is a value
    zero_ref = engine.index_matrix(np.array([[0.5]]), np.array([0.0]), np.array([True]))
    assert math.isnan(zero_ref[0, 0])


def test_rating_levels_at_the_edges():
    bounds = np.array([[2.0, 1.5, 1.0, 0.5]])
    indices = np.array([[2.0001], [2.0], [1.5], [1.2], [1.0], [0.5], [0.4999], [np.nan]])
    assert engine.rating_levels(indices, bounds).ravel().tolist() == [0, 1, 2, 2, 3, 4, 4, 4]
    unbounded = engine.rating_levels(np.array([[1e9]]), np.array([engine.NO_BOUNDARIES]))
    assert unbounded.tolist() == [[4]]


def _oracle(levels, weights, mode):
    """SPEC §5 read literally, with exact fractions."""
    share = [Fraction(0)] * 5
    for level, weight in zip(levels, weights):
        if weight > 0:
            share[level] += Fraction(weight)
    total = sum(share)
    share = [s / total for s in share]
    present = [level for level in range(5) if share[level] > 0]
    if mode == "best":
        return present[0]
    if mode == "worst":
        return present[-1]
    if mode == "majority":
        return max(present, key=lambda level: (share[level], -level))
    if mode.endswith("mean"):
        mean = sum(level * s for level, s in enumerate(share))
        return math.floor(mean) if mode.startswith("optimistic") else math.ceil(mean)
    cumulative = Fraction(0)
    for position, level in enumerate(present):
        cumulative += share[level]
        if cumulative == Fraction(1, 2) and position + 1 < len(present):
            middle = Fraction(level + present[position + 1], 2)
            return math.floor(middle) if mode.startswith("optimistic") else math.ceil(middle)
        if cumulative >= Fraction(1, 2):
            return level
    raise AssertionError("unreachable")


def test_compound_levels_match_the_spec_on_random_cases():
    rng = random.Random(11)
    for _ in range(400):
        m = rng.randint(1, 6)
        weights = [rng.choice([0, 0.5, 1, 1, 2, 0.25, 3]) for _ in range(m)]
        if not any(weights):
            weights[0] = 1
        levels = np.array([[rng.randint(0, 4) for _ in range(m)] for _ in range(10)], dtype=np.int8)
        for mode in COMPOUND_MODES:
            got = engine.compound_levels(levels, np.array(weights, dtype=float), mode)
            for row, level in zip(levels.tolist(), got.tolist()):
                assert level == _oracle(row, weights, mode), (row, weights, mode)


def test_compound_errors():
    with pytest.raises(ValueError, match="optimistic median"):
        engine.compound_levels(np.zeros((1, 1), dtype=int), np.ones(1), "loudest")
    with pytest.raises(ValueError, match="weight > 0"):
        engine.compound_levels(np.zeros((1, 2), dtype=int), np.zeros(2), "best")


def test_quantile_boundaries_per_column():
    indices = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan], [4.0, np.nan], [5.0, np.nan]])
    bounds = engine.quantile_boundaries(indices)
    assert bounds[0].tolist() == pytest.approx([4.2, 3.4, 2.6, 1.8])  # numpy's linear quantiles
    assert np.isnan(bounds[1]).all()  # no index at all: the caller decides
    assert bounds[0].tolist() == pytest.approx(np.quantile(indices[:, 0], [0.8, 0.6, 0.4, 0.2]).tolist())


def test_rating_bands_index_scale_run_from_e_to_a():
    bands = engine.rating_bands([2.0, 1.0, 0.5, 0.25], None, True, 0.1, 10)
    assert [b.rating for b in bands] == ["E", "D", "C", "B", "A"]
    assert [b.start for b in bands] == [0.1, 0.25, 0.5, 1.0, 2.0]
    assert [b.end for b in bands] == [0.25, 0.5, 1.0, 2.0, 10]


def test_rating_bands_real_scale_map_boundaries_back():
    # lower is better, reference value 10: A lies below 10/2 = 5, E above 10/0.25 = 40
    real = engine.rating_bands([2.0, 1.0, 0.5, 0.25], 10.0, False, 1, 100)
    assert [b.rating for b in real] == ["A", "B", "C", "D", "E"]
    assert [b.start for b in real] == [1, 5, 10, 20, 40]
    higher = engine.rating_bands([2.0, 1.0, 0.5, 0.25], 10.0, True, 1, 100)
    assert [(b.start, b.rating) for b in higher] == [(1, "E"), (2.5, "D"), (5, "C"), (10, "B"), (20, "A")]
    assert engine.real_boundaries([2.0, 0.0], 10.0, False) == [5.0, math.inf]


def test_background_cells_compound_the_two_bands():
    x = engine.rating_bands([2.0, 1.0, 0.5, 0.25], None, True, 0.1, 10)
    y = [engine.Band(0.0, 1.0, "E"), engine.Band(1.0, 2.0, "A")]
    cells = engine.background_cells(x, y, 1.0, 0.0, "optimistic median")  # only x counts
    assert [c.rating for c in cells if c.y0 == 0.0] == ["E", "D", "C", "B", "A"]
    worst = engine.background_cells(x, y, 1.0, 1.0, "worst")
    assert {c.rating for c in worst if c.y0 == 0.0} == {"E"}
    assert [c.rating for c in worst if c.y0 == 1.0] == ["E", "D", "C", "B", "A"]
    assert engine.background_cells(x, y, 0.0, 0.0, "best")[0].rating == "E"  # no weight: both count
    assert RATINGS == ("A", "B", "C", "D", "E")
