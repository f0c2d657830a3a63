"""Index, rating, boundaries, calibration, weights and compound rating of results (SPEC §5).

The per-result API (``index_value``, ``rating_from_index``, ``compound_rating``, …) here, and the
pipeline (:mod:`mlel.ratings.pipeline`: ``rate_task``, ``rate_entries``: entries -> RatedResult records; ``rate_results``
and ``rate_runs``: the SPEC §7 dicts) all call the one vectorised engine, :mod:`mlel.ratings.engine`.
Nothing here reads files except the built-in property sets; callers pass records in and get
records out. ``python -m mlel.ratings`` runs ``mlel/ratings/__main__.py`` (the command line,
:mod:`mlel.ratings.cli`), so this module executes once, as ``mlel.ratings``.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from mlel.base.colours import readable_text_colour
from mlel.ratings import engine
from mlel.ratings.engine import COMPOUND_MODES, DEFAULT_QUANTILES, NOT_RATED, RATINGS, real_boundaries
from mlel.ratings.rated import MetricRating, ModelResult, RatedResult
from mlel.ratings.gates import DEFAULT_GATES, Gates, gate_reason
from mlel.ratings.odds import NO_REFERENCE
from mlel.ratings.pooling import aggregate_runs
from mlel.ratings.scheme import effective_scale, resolve_scheme
from mlel.tasks.schemes import DEFAULT_SCHEME, Scheme, builtin_schemes, load_scheme
from mlel.ratings.pipeline import (SCALES, RatingOptions, TaskBasis, TaskRating, calibrated_boundaries, rate_basis,
                                   task_basis,
                                   default_boundaries, default_weights, rate_entries,
                                   rate_results, rate_runs, rate_task, reference_rows, scale_matrix,
                                   task_records, task_weights, value_matrix)

__all__ = ["RATINGS", "RATING_COLORS", "RATING_TEXT_COLORS", "COMPOUND_MODES", "DEFAULT_MODE", "DEFAULT_REFERENCE",
           "DEFAULT_QUANTILES", "SCALES", "ModelResult", "RatedResult", "MetricRating", "RatingOptions",
           "Gates", "DEFAULT_GATES", "gate_reason", "aggregate_runs", "index_value", "rating_from_index", "real_boundaries", "calibrate_boundaries",
           "default_weights", "task_weights", "compound_rating", "rate_entries",
           "rate_results", "rate_runs", "reference_rows", "scale_matrix", "value_matrix",
           "calibrated_boundaries", "NO_REFERENCE", "NOT_RATED", "DEFAULT_SCHEME", "Scheme", "builtin_schemes",
           "load_scheme", "rate_task", "task_records", "TaskRating", "default_boundaries", "resolve_scheme",
           "effective_scale", "TaskBasis", "task_basis", "rate_basis"]

# The rating colours, shared by labels, ELEx, the site and the paper's figures: the EU energy label's
# green-to-red (SPEC §6), shifted in lightness so that every two levels stay apart for people with
# protanopia, deuteranopia or tritanopia (SPEC's A #639B30 and D #EF7D29 look alike to a protanope:
# CIE76 ΔE 1.5; here every pair is ≥ 20 apart under each, tests/test_palette.py). The letter is
# always printed too: a rating is never told by colour alone.
RATING_COLORS = {"A": "#569A4B", "B": "#C8C664", "C": "#FFBD1E", "D": "#E57C1C", "E": "#C80E15"}
# The letter's colour on its rating colour: black or white, whichever reads better (WCAG contrast).
RATING_TEXT_COLORS = {letter: readable_text_colour(hex_code) for letter, hex_code in RATING_COLORS.items()}
DEFAULT_MODE = "optimistic median"
DEFAULT_REFERENCE = "ResNet101"  # the 2022 tasks' reference model (their property sets name it)
Weights = Mapping[str, float]  # metric -> non-negative weight


# ---------------------------------------------------------------------------------------------
# the per-result API: one value, one rating, one compound — each a one-row call of the engine


def _missing(value: float | None) -> float:
    return math.nan if value is None else float(value)


def index_value(value: float | None, reference: float | None, higher_is_better: bool) -> float | None:
    """``v / r`` where higher is better, ``r / v`` where lower is better: > 1 beats the reference."""
    index = engine.index_matrix(np.array([[_missing(value)]]), np.array([_missing(reference)]),
                                np.array([higher_is_better]))[0, 0]
    return None if math.isnan(index) else float(index)


def rating_from_index(index: float | None, boundaries: Sequence[float]) -> str:
    """index > b0 → A; b0 ≥ index > b1 → B; … ; else E. Missing index → E."""
    level = engine.rating_levels(np.array([[_missing(index)]]), np.array([boundaries], dtype=float))
    return RATINGS[int(level[0, 0])]


def calibrate_boundaries(indices: Mapping[str, Iterable[float | None]],
                         quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict[str, list[float]]:
    """Boundaries b0..b3 per metric = the quantiles of its index values (missing ones ignored)."""
    calibrated = {}
    for key, values in indices.items():
        column = np.array([[_missing(v)] for v in values], dtype=float).reshape(-1, 1)
        bounds = engine.quantile_boundaries(column, quantiles)[0]
        if not np.isnan(bounds).any():
            calibrated[key] = bounds.tolist()
    return calibrated


def compound_rating(ratings: Mapping[str, str], weights: Mapping[str, float],
                    mode: str = DEFAULT_MODE) -> str:
    """Compound rating of one model from its metric ratings and weights (SPEC §5).

    Only metrics with weight > 0 count; weights are normalised over them.
    """
    keys = list(ratings)
    levels = np.array([[RATINGS.index(ratings[k]) for k in keys]], dtype=np.int64).reshape(1, len(keys))
    weight_vector = np.array([float(weights.get(k, 0.0)) for k in keys])
    return RATINGS[int(engine.compound_levels(levels, weight_vector, mode)[0])]


