"""The rating engine: index → rating → compound rating over numpy arrays (SPEC §5).

The one implementation of each step. Everything that rates — the per-result API in
``mlel.ratings``, the CLI, ELEx, the paper's figures, the rating backgrounds — calls these.
Entries are rows, properties are columns; a missing value is NaN. Levels are 0 (A) … 4 (E).
Pure functions: arrays in, new arrays out, no I/O, no globals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

RATINGS = ("A", "B", "C", "D", "E")
WORST = len(RATINGS) - 1
TINY = float(np.finfo(float).tiny)  # the smallest normal float: below it a positive value measured nothing
NOT_RATED = len(RATINGS)  # a level that is no letter: no evidence (honest schemes); never indexes RATINGS
COMPOUND_MODES = ("optimistic median", "pessimistic median", "optimistic mean", "pessimistic mean",
                  "best", "worst", "majority")
DEFAULT_QUANTILES = (0.8, 0.6, 0.4, 0.2)
EXACT = 1e-9  # tolerance when a cumulative weight "is exactly" 0.5, and when rounding a mean
NO_BOUNDARIES = (math.inf,) * 4  # nothing beats them: every index rates E


def index_matrix(values: np.ndarray, reference: np.ndarray, higher_is_better: np.ndarray) -> np.ndarray:
    """Indices (…, m): ``v / r`` where higher is better, ``r / v`` where lower is better, so > 1
    always beats the reference. ``reference`` broadcasts against ``values`` ((…, m) or (m,));
    NaN in either, a zero denominator or an overflow gives NaN (no index)."""
    values = np.asarray(values, dtype=float)
    reference = np.broadcast_to(np.asarray(reference, dtype=float), values.shape)
    numerator = np.where(higher_is_better, values, reference)
    denominator = np.where(higher_is_better, reference, values)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        indices = numerator / denominator
    indices[~np.isfinite(indices)] = np.nan
    return indices


def rating_levels(indices: np.ndarray, bounds: np.ndarray, missing: int = WORST) -> np.ndarray:
    """Levels (…, m) from indices (…, m) and descending boundaries (m, 4): index > b0 → 0 (A),
    b0 ≥ index > b1 → 1 (B), …, else 4 (E) — the number of boundaries the index does not exceed.
    A missing (NaN) index gets ``missing``: E (the 2022 rule) or NOT_RATED (no letter without
    evidence); so do NaN boundaries. One pass per boundary: no (…, m, 4) temporary."""
    indices = np.asarray(indices, dtype=float)
    levels = np.zeros(indices.shape, dtype=np.int8)
    bounds = np.asarray(bounds, dtype=float).reshape(-1, 4)
    for bound in bounds.T:  # b0..b3, each (m,)
        levels += indices <= bound
    levels[np.isnan(indices)] = missing
    if missing != WORST:
        unbounded = np.isnan(bounds).any(axis=1)  # (m,): a column the group could not bound
        if unbounded.any():
            levels[..., unbounded] = missing
    return levels


def check_mode(mode: str) -> None:
    if mode not in COMPOUND_MODES:
        raise ValueError(f"unknown compound mode '{mode}'; choose from: {', '.join(COMPOUND_MODES)}")


def _shares(levels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(n, 5): the normalised weight each row puts on each level; weights ≤ 0 and NOT_RATED cells
    do not count (each row normalised over what it rates). Also (n,) bool of the rows that rate no
    weighted metric (None where every cell is rated: the 2022 arithmetic, one total for all rows)."""
    weights = np.where(np.asarray(weights, dtype=float) > 0, weights, 0.0)
    total = math.fsum(weights)
    if total <= 0:
        raise ValueError("no metric has a weight > 0: nothing to compound")
    n = levels.shape[0]
    used = np.flatnonzero(weights)
    share = np.zeros((n, len(RATINGS) + 1))  # a last column collects NOT_RATED, then is dropped
    for j in used:  # in property order
        share[np.arange(n), levels[:, j]] += weights[j]
    if not share[:, NOT_RATED].any():
        return share[:, :NOT_RATED] / total, None
    rated = share[:, :NOT_RATED]
    row_total = np.array([math.fsum(w for j, w in zip(used, weights[used]) if level[j] != NOT_RATED)
                          for level in levels])
    empty = row_total <= 0
    return rated / np.where(empty, 1.0, row_total)[:, None], empty


def rated_counts(levels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n,) how many metrics of weight > 0 each row's compound rests on (its rated ones)."""
    used = np.asarray(weights, dtype=float) > 0
    return ((np.asarray(levels) != NOT_RATED) & used).sum(axis=-1)


def _weighted_median(share: np.ndarray, optimistic: bool) -> np.ndarray:
    """The first level at which the cumulative share reaches 0.5; exactly 0.5 → the mean of that
    level and the next present one, rounded down (optimistic) or up (pessimistic)."""
    n = share.shape[0]
    ranks = np.arange(len(RATINGS))
    present = share > 0
    cumulative = np.cumsum(share, axis=1)
    first = np.argmax(cumulative >= 0.5 - EXACT, axis=1)
    at_first = cumulative[np.arange(n), first]
    later = present & (ranks[None, :] > first[:, None])
    exact = (np.abs(at_first - 0.5) <= EXACT) & later.any(axis=1)
    middle = (first + np.argmax(later, axis=1)) / 2
    middle = np.floor(middle) if optimistic else np.ceil(middle)
    return np.where(exact, middle, first)


def compound_levels(levels: np.ndarray, weights: np.ndarray, mode: str) -> np.ndarray:
    """Compound level per row (n,) from levels (n, m) and weights (m,), by ``mode`` (SPEC §5).
    NOT_RATED metrics do not count; a row with no rated metric of weight > 0 is NOT_RATED."""
    check_mode(mode)
    levels = np.asarray(levels, dtype=np.int64).reshape(len(levels), -1)
    share, empty = _shares(levels, weights)
    present = share > 0
    optimistic = mode.startswith("optimistic")
    if mode == "best":
        result = np.argmax(present, axis=1)
    elif mode == "worst":
        result = WORST - np.argmax(present[:, ::-1], axis=1)
    elif mode == "majority":  # argmax takes the first maximum: ties go to the better rating
        result = np.argmax(share, axis=1)
    elif mode.endswith("mean"):
        mean = share @ np.arange(len(RATINGS))
        result = np.clip(np.floor(mean + EXACT) if optimistic else np.ceil(mean - EXACT), 0, WORST)
    else:
        result = _weighted_median(share, optimistic)
    result = np.asarray(result).astype(np.int8)
    if empty is not None:
        result[empty] = NOT_RATED
    return result


def _quantile(sorted_values: np.ndarray, q: float) -> float:
    """Linear-interpolated quantile (numpy's default method), written out so the arithmetic is
    the same whatever numpy version: ``s[lo] + (s[hi] - s[lo]) × fraction``."""
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low))


def quantile_boundaries(indices: np.ndarray, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> np.ndarray:
    """Calibrated boundaries (m, 4): per column, the quantiles of its finite indices. A column
    without any finite index gets NaN boundaries (the caller decides: usually "rates E")."""
    indices = np.asarray(indices, dtype=float)
    out = np.full((indices.shape[1], len(quantiles)), np.nan)
    for j in range(indices.shape[1]):
        column = np.sort(indices[:, j][np.isfinite(indices[:, j])])
        if column.size:
            out[j] = [_quantile(column, q) for q in quantiles]
    return out


def equal_width_boundaries(indices: np.ndarray, bins: int = len(RATINGS)) -> np.ndarray:
    """(m, 4) boundaries cutting each column's min–max of finite values into five equal-width bins
    (AI Energy Score): ``b_k = max − (k+1)·w``, ``w = (max − min) / 5``, so the top bin rates A and
    a value on a cut goes to the worse bin. A column of one value: -inf (all A); of none: NaN."""
    indices = np.asarray(indices, dtype=float)
    out = np.full((indices.shape[1], bins - 1), np.nan)
    for j in range(indices.shape[1]):
        column = indices[:, j][np.isfinite(indices[:, j])]
        if column.size:
            high, low = float(column.max()), float(column.min())
            width = (high - low) / bins
            out[j] = [high - k * width for k in range(1, bins)] if width > 0 else -math.inf
    return out


def comparable(values: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """The values an index or a group's bins can be made of: in the columns of strictly positive
    quantities (``positive``, (m,) bool), 0 and denormals (below the smallest normal float, e.g.
    1e-308) become NaN — nothing was measured, and as the best of a group they would make every other
    model's index 0. The caller's array is not changed (a copy where any value goes)."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = (values < TINY) & np.asarray(positive, dtype=bool)
    if not bad.any():
        return values
    values = values.copy()
    values[bad] = np.nan
    return values


def score_matrix(values: np.ndarray, higher_is_better: np.ndarray) -> np.ndarray:
    """(…, m) the raw values as scores that grow with goodness (the ``value`` scale: no index): the
    value where higher is better, its negative where lower is better."""
    values = np.asarray(values, dtype=float)
    return np.where(higher_is_better, values, -values)


# ---------------------------------------------------------------------------------------------
# band geometry: the rating background of plots


def real_boundaries(bounds: Sequence[float], reference: float, higher_is_better: bool) -> list[float]:
    """Index-scale boundaries in the property's own unit: ``b × r`` (higher better) or ``r / b``."""
    if higher_is_better:
        return [b * reference for b in bounds]
    return [reference / b if b else math.inf for b in bounds]


@dataclass(frozen=True)
class Band:
    """One rating band of an axis, in axis units: ``start`` < ``end``."""

    start: float
    end: float
    rating: str


def rating_bands(bounds: Sequence[float], reference: float | None, higher_is_better: bool,
                 low: float, high: float) -> list[Band]:
    """The rating bands of one log axis between ``low`` and ``high`` (> 0), ascending. On the
    index scale ``reference`` is None; on the real scale the boundaries are mapped into the
    property's unit. Each band is rated at its geometric middle by :func:`rating_levels`."""
    bounds = [float(b) for b in bounds] or list(NO_BOUNDARIES)
    cuts = bounds if reference is None else [c for c in real_boundaries(bounds, reference, higher_is_better)
                                             if c > 0]
    edges = [low] + sorted(c for c in cuts if low < c < high) + [high]
    spans = [(a, b) for a, b in zip(edges, edges[1:]) if b > a]
    if not spans:
        return []
    middles = np.sqrt([a * b for a, b in spans])
    if reference is not None:
        middles = index_matrix(middles[:, None], np.array([reference]), np.array([higher_is_better]))[:, 0]
    levels = rating_levels(middles[:, None], np.array([bounds]))[:, 0]
    return [Band(a, b, RATINGS[level]) for (a, b), level in zip(spans, levels)]


@dataclass(frozen=True)
class Cell:
    """One rectangle of a two-axis rating background, rated by the compound of its two bands."""

    x0: float
    x1: float
    y0: float
    y1: float
    rating: str


def background_cells(x_bands: Sequence[Band], y_bands: Sequence[Band], x_weight: float,
                     y_weight: float, mode: str) -> list[Cell]:
    """Every (x band, y band) rectangle, coloured by the compound rating of the two bands' ratings
    under the two axes' weights (both 1 where neither is > 0)."""
    if x_weight <= 0 and y_weight <= 0:
        x_weight = y_weight = 1.0
    pairs = [(x, y) for x in x_bands for y in y_bands]
    if not pairs:
        return []
    levels = np.array([[RATINGS.index(x.rating), RATINGS.index(y.rating)] for x, y in pairs])
    compound = compound_levels(levels, np.array([x_weight, y_weight]), mode)
    return [Cell(x.start, x.end, y.start, y.end, RATINGS[level]) for (x, y), level in zip(pairs, compound)]
