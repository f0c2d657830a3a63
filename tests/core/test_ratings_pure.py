"""The pure rating functions: index, rating at boundary edges, calibration, weights, compound modes."""
import math

import pytest

from mlel.ratings import (RATINGS, calibrate_boundaries, compound_rating,
                          default_weights, index_value, rating_from_index, real_boundaries,
                          task_weights)

BOUNDS = (2.0, 1.5, 1.0, 0.5)


@pytest.mark.parametrize("index, expected", [
    (2.0001, "A"), (2.0, "B"),  # an index equal to a boundary falls into the lower class
    (1.5, "C"), (1.2, "C"), (1.0, "D"), (0.5, "E"), (0.4999, "E"), (None, "E"), (math.nan, "E"),
])
def test_rating_from_index_edges(index, expected):
    assert rating_from_index(index, BOUNDS) == expected


def test_zero_boundary_only_missing_is_e():
    # gflops' b3 is 0.0: any real index beats it
    assert rating_from_index(1e-9, (19.2, 2.67, 0.68, 0.0)) == "D"
    assert rating_from_index(None, (19.2, 2.67, 0.68, 0.0)) == "E"


def test_index_direction():
    assert index_value(2.0, 4.0, higher_is_better=False) == 2.0  # half the energy: index 2
    assert index_value(0.8, 0.4, higher_is_better=True) == 2.0
    assert index_value(None, 4.0, False) is None
    assert index_value(1.0, None, True) is None
    assert index_value(0.0, 4.0, False) is None  # no division by zero


def test_real_boundaries_map_back():
    assert real_boundaries([2.0, 1.0], 10.0, higher_is_better=False) == [5.0, 10.0]
    assert real_boundaries([2.0, 1.0], 10.0, higher_is_better=True) == [20.0, 10.0]
    assert real_boundaries([0.0], 10.0, higher_is_better=False) == [math.inf]


def test_calibrated_boundaries_are_quantiles():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, None]
    bounds = calibrate_boundaries({"m": values})["m"]
    assert bounds == pytest.approx([4.2, 3.4, 2.6, 1.8])  # numpy's linear quantiles of 1..5
    ratings = [rating_from_index(v, bounds) for v in (1.0, 2.0, 3.0, 4.0, 5.0)]
    assert ratings == ["E", "D", "C", "B", "A"]  # five values, five classes


def test_default_and_file_weights():
    weights = default_weights("inference")
    assert {k for k, w in weights.items() if w} == {"inference_power_draw", "inference_time",
                                                     "top1_val", "parameters"}
    assert task_weights({"gflops": 2}, "inference")["gflops"] == 2.0
    per_task = task_weights({"training": {"train_power_draw": 3}}, "training")
    assert per_task["train_power_draw"] == 3.0 and per_task["train_time"] == 1.0
    with pytest.raises(ValueError):
        task_weights({"gflops": -1}, "inference")


EQUAL = {"a": 1, "b": 1, "c": 1, "d": 1}


@pytest.mark.parametrize("ratings, mode, expected", [
    # cumulative weight reaches exactly 0.5 at B: mean of B and the next (D) = C either way... (1+3)/2=2
    ({"a": "A", "b": "B", "c": "D", "d": "E"}, "optimistic median", "C"),
    ({"a": "A", "b": "B", "c": "D", "d": "E"}, "pessimistic median", "C"),
    # exactly 0.5 at A, next is B: (0+1)/2 = 0.5 -> A (down) / B (up)
    ({"a": "A", "b": "A", "c": "B", "d": "E"}, "optimistic median", "A"),
    ({"a": "A", "b": "A", "c": "B", "d": "E"}, "pessimistic median", "B"),
    ({"a": "A", "b": "C", "c": "C", "d": "E"}, "optimistic median", "C"),  # 0.25 then 0.75
    ({"a": "A", "b": "B", "c": "C", "d": "E"}, "optimistic mean", "B"),  # mean 1.75 -> 1
    ({"a": "A", "b": "B", "c": "C", "d": "E"}, "pessimistic mean", "C"),  # -> 2
    ({"a": "B", "b": "B", "c": "B", "d": "B"}, "pessimistic mean", "B"),  # exact integers stay
    ({"a": "A", "b": "B", "c": "C", "d": "E"}, "best", "A"),
    ({"a": "A", "b": "B", "c": "C", "d": "E"}, "worst", "E"),
    ({"a": "A", "b": "E", "c": "E", "d": "B"}, "majority", "E"),
    ({"a": "A", "b": "A", "c": "E", "d": "E"}, "majority", "A"),  # tie -> the better one
])
def test_compound_modes(ratings, mode, expected):
    assert compound_rating(ratings, EQUAL, mode) == expected


def test_weighted_median_uses_weights():
    ratings = {"a": "A", "b": "E", "c": "E"}
    assert compound_rating(ratings, {"a": 3, "b": 1, "c": 1}) == "A"  # A holds 0.6
    assert compound_rating(ratings, {"a": 1, "b": 1, "c": 1}) == "E"


def test_zero_weights_are_ignored():
    ratings = {"a": "A", "b": "E", "c": "E"}
    assert compound_rating(ratings, {"a": 1, "b": 0, "c": 0}, "worst") == "A"
    assert compound_rating(ratings, {"a": 1, "b": 0, "c": 0}, "optimistic mean") == "A"
    with pytest.raises(ValueError, match="weight > 0"):
        compound_rating(ratings, {"a": 0, "b": 0, "c": 0})


def test_unknown_mode_lists_choices():
    with pytest.raises(ValueError, match="optimistic median"):
        compound_rating({"a": "A"}, {"a": 1}, "median-ish")


def test_every_rating_reachable_by_mean():
    for level, letter in enumerate(RATINGS):
        assert compound_rating({"a": letter}, {"a": 1}, "pessimistic mean") == letter
