"""How sure a grade is: statistics of repeated runs, the index's interval, rating probabilities.

Pure functions on numpy arrays; randomness only from the ``numpy.random.Generator`` passed in.

Method (SPEC §9, in its terms):

- **Value** of a metric over n runs: mean, sample standard deviation (ddof 1), n and the 95% interval
  ``mean ± t(0.975, n−1) · std / √n`` (Student-t, n ≥ 2; method ``"student-t"``). A percentile
  bootstrap of the mean is there for many runs (``"bootstrap"``). One run: no interval, method
  ``"single run"`` — its spread is unknown, not zero. What a rated result shows is
  :func:`value_interval`: the same t interval on the scale of the quantity's values (log for a
  positive quantity, logit for a fraction; none for a constant), :mod:`mlel.ratings.intervals`.
- **Index** ``v / r`` (or ``r / v``): the reference is measured too, so both spreads count. Delta
  method on the log ratio: ``se² = s_v²/(n_v·v̄²) + s_r²/(n_r·r̄²)``, Welch–Satterthwaite degrees of
  freedom, interval ``exp(log(index) ± t · se)``. Either side with one run: no interval.
- **Rating probabilities**: each entry's mean is drawn from its distribution given its runs — a
  multivariate Student-t centred on the runs' mean with the runs' covariance / n and n − 1 degrees of
  freedom (the posterior of the mean under the usual non-informative prior). All metrics of a run set
  are drawn together (one draw moves energy and time as the runs did), model and reference
  independently; every draw is indexed, rated and compounded; the probability of a letter is its
  share of the draws. A metric measured once is held at its value (its probability is 1 for its
  letter — callers should say "1 run").

Cost: 10,000 entries × 2,000 draws × 4 metrics, compound included, take ~4.5 CPU-seconds (numpy,
float32 draws, chunks of 256 entries).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, Sequence

import numpy as np

from mlel.ratings.engine import NOT_RATED, index_matrix, rating_levels  # the one index and rating rule
from mlel.ratings import intervals, student_t

LETTERS = ("A", "B", "C", "D", "E")
N_LEVELS = len(LETTERS)
MISSING_LEVEL = N_LEVELS - 1  # a missing value rates E (SPEC §5)
STUDENT_T, BOOTSTRAP, SINGLE_RUN = "student-t", "bootstrap", "single run"
DELTA_LOG_RATIO = "delta method on the log ratio, Welch df"
CONFIDENCE = 0.95
_TABLE_METRICS = 8  # up to 5**8 codes: find distinct level rows by a bincount instead of a sort

# compound(levels (k, m) ints 0..4, weights (m,)) -> levels (k,): the engine's compound rule, vectorised
CompoundRule = Callable[[np.ndarray, np.ndarray], np.ndarray]


@lru_cache(maxsize=1024)  # asked for the same few (p, n - 1) once per entry and metric
def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t (:mod:`mlel.ratings.student_t`: no scipy import, half a second)."""
    return student_t.t_quantile(p, df)


@dataclass(frozen=True)
class ValueStats:
    """One metric over the runs of one entry."""
    mean: float
    std: float | None  # None with one run
    n: int
    ci95: tuple[float, float] | None  # None with one run
    method: str  # "student-t" | "bootstrap" | "single run"

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "n": self.n,
                "ci95": list(self.ci95) if self.ci95 else None, "method": self.method}

    @classmethod
    def from_dict(cls, data: Mapping) -> "ValueStats":
        ci = data.get("ci95")
        return cls(float(data["mean"]), data.get("std"), int(data["n"]), tuple(ci) if ci else None,
                   str(data["method"]))


@dataclass(frozen=True)
class IndexStats:
    """A metric's index against the reference, with the interval of both measurements."""
    index: float
    ci95: tuple[float, float] | None
    method: str  # DELTA_LOG_RATIO | "single run"

    def to_dict(self) -> dict:
        return {"index": self.index, "ci95": list(self.ci95) if self.ci95 else None, "method": self.method}

    @classmethod
    def from_dict(cls, data: Mapping) -> "IndexStats":
        ci = data.get("ci95")
        return cls(float(data["index"]), tuple(ci) if ci else None, str(data["method"]))


def value_stats(values: Sequence[float], method: str = STUDENT_T, rng: np.random.Generator | None = None,
                resamples: int = 2000) -> ValueStats:
    """Mean, std, n and 95% interval of one metric's run values (missing ones, None/NaN, dropped)."""
    present = [float(v) for v in values if v is not None and math.isfinite(v)]  # floats: a few runs
    n = len(present)
    if n == 0:
        raise ValueError("no run has a value for this metric")
    if n == 1:
        return ValueStats(present[0], None, 1, None, SINGLE_RUN)
    mean, std = intervals.mean_std(present)  # scaled: any finite runs, no overflow
    if not math.isfinite(std):  # a spread beyond the largest float: no interval says anything
        return ValueStats(mean, None, n, None, SINGLE_RUN)
    if method == STUDENT_T:
        half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * std / math.sqrt(n)
        return ValueStats(mean, std, n, (mean - half, mean + half), STUDENT_T)
    if method == BOOTSTRAP:
        if rng is None:
            raise ValueError("the bootstrap needs a seeded rng")
        x = np.array(present)
        means = x[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
        lo, hi = np.quantile(means, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
        return ValueStats(mean, std, n, (float(lo), float(hi)), BOOTSTRAP)
    raise ValueError(f"unknown interval method {method!r}; choose {STUDENT_T!r} or {BOOTSTRAP!r}")


def within(interval: tuple[float, float] | None, support: tuple[float, float] | None
           ) -> tuple[float, float] | None:
    """An interval cut to the values the quantity can take (None: unbounded, or no interval)."""
    if interval is None or support is None:
        return interval
    return max(interval[0], support[0]), min(interval[1], support[1])


def value_interval(present: Sequence[float], support: tuple[float, float] | None = None
                   ) -> tuple[float, float] | None:
    """The 95% interval of the mean of a property's runs (``present``: its values, more than one), as
    a rated result shows it: on the scale of the values the quantity can take (``support``: log for a
    positive one, logit for a fraction; :mod:`mlel.ratings.intervals`), None for a constant."""
    return intervals.mean_interval(present, support)


def widen_for_systematic(stats: ValueStats, rel_error: float) -> ValueStats:
    """The interval of a value that also carries a systematic relative error (e.g. an estimated CPU
    power, ± rel_error at 95%): the two half-widths add in quadrature. Runs cannot average it away.
    Not for the index when model and reference were estimated alike (same environment, same
    meter): the shared bias largely cancels in the ratio."""
    if stats.ci95 is None:
        return stats
    half = (stats.ci95[1] - stats.ci95[0]) / 2
    half = math.hypot(half, rel_error * abs(stats.mean))
    return ValueStats(stats.mean, stats.std, stats.n, (stats.mean - half, stats.mean + half), stats.method)


def index_stats(model: ValueStats, reference: ValueStats, higher_is_better: bool) -> IndexStats:
    """The index and its 95% interval, propagating the model's and the reference's spread."""
    if model.mean <= 0 or reference.mean <= 0:
        raise ValueError("the log-ratio interval needs positive means")
    log_index = math.log(model.mean) - math.log(reference.mean)  # in logs: no overflow on the way
    log_index = log_index if higher_is_better else -log_index
    if log_index > _LOG_MAX:
        raise ValueError("the index overflows: the ratio of model and reference exceeds the largest float")
    index = math.exp(log_index)
    if model.n < 2 or reference.n < 2 or model.std is None or reference.std is None:
        return IndexStats(index, None, SINGLE_RUN)
    cv_m, cv_r = model.std / model.mean, reference.std / reference.mean  # x * x: inf, never OverflowError
    var_m = cv_m * cv_m / model.n  # variance of log(mean), delta method
    var_r = cv_r * cv_r / reference.n
    se = math.sqrt(var_m + var_r)
    if not math.isfinite(se):
        return IndexStats(index, None, SINGLE_RUN)
    if se == 0:
        return IndexStats(index, (index, index), DELTA_LOG_RATIO)
    df = (var_m + var_r) ** 2 / (var_m ** 2 / (model.n - 1) + var_r ** 2 / (reference.n - 1))
    half = t_quantile(0.5 + CONFIDENCE / 2, df) * se
    low, high = log_index - half, log_index + half
    if high > _LOG_MAX:
        return IndexStats(index, None, SINGLE_RUN)
    return IndexStats(index, (math.exp(low), math.exp(high)), DELTA_LOG_RATIO)


_LOG_MAX = math.log(1.7976931348623157e308)  # log of the largest float


def population_std(present: Sequence[float]) -> float:
    """The spread of runs as the merged-log tables show it (std with ddof 0), in floats; scaled, so
    any finite runs give a finite spread (or inf where it exceeds the largest float)."""
    return intervals.mean_std(present, ddof=0)[1]


# ---------------------------------------------------------------------------------------------
# draws of the mean, vectorised over entries


def pad_runs(runs: Sequence[np.ndarray | Sequence[Sequence[float]]], n_metrics: int) -> np.ndarray:
    """Entries' run tables (n_e runs × metrics, None/NaN = missing) -> (entries, max runs, metrics)."""
    width = max((len(r) for r in runs), default=1)
    out = np.full((len(runs), max(width, 1), n_metrics), np.nan)
    for e, table in enumerate(runs):
        if len(table):
            out[e, :len(table)] = np.array(table, dtype=float).reshape(len(table), n_metrics)
    return out


def draw_means(runs: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(entries, runs, metrics) padded with NaN -> (entries, draws, metrics) draws of each mean.

    Multivariate t: mean + Σ_i w_i (x_i − x̄) / √(n(n−1)) · √((n−1)/χ²_{n−1}), w ~ N(0, 1), so the
    draws' covariance is the runs' covariance / n and each metric's marginal is the scaled t.
    Metrics with one present value stay at it; metrics with none are NaN."""
    present = np.isfinite(runs)
    n_j = present.sum(axis=1)  # (entries, metrics)
    mean = np.where(n_j > 0, np.nansum(runs, axis=1) / np.maximum(n_j, 1), np.nan)
    varied = (n_j >= 2).any(axis=1)
    if not varied.all():  # single runs (a fixed reference, say) draw nothing: every draw is the mean
        out = np.repeat(mean[:, None, :].astype(np.float32), draws, axis=1)
        if varied.any():
            out[varied] = draw_means(runs[varied], draws, rng)
        return out
    resid = np.where(present, runs - mean[:, None, :], 0.0)
    scale = np.where(n_j >= 2, 1.0 / np.sqrt(np.maximum(n_j, 2) * np.maximum(n_j - 1, 1)), 0.0)
    spread_n = np.where(n_j >= 2, n_j, np.iinfo(np.int64).max).min(axis=1)  # smallest n ≥ 2
    df = np.where(spread_n < np.iinfo(np.int64).max, spread_n - 1, 1).astype(float)
    w = rng.standard_normal((runs.shape[0], draws, runs.shape[1]), dtype=np.float32)
    t_scale = np.sqrt(df[:, None] / rng.chisquare(df[:, None], size=(runs.shape[0], draws)))
    out = np.matmul(w, resid.astype(np.float32))  # float32 and in place: memory traffic is the cost
    out *= scale[:, None, :].astype(np.float32)
    out *= t_scale[:, :, None].astype(np.float32)
    out += mean[:, None, :].astype(np.float32)
    return out


def level_shares(levels: np.ndarray, axis: int = -1) -> np.ndarray:
    """Share of each level 0..4 along ``axis`` -> that axis replaced by a last axis of 5. NOT_RATED
    cells count for no level (a row of them: all shares 0)."""
    moved = np.moveaxis(levels, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    width = N_LEVELS + 1 if (rows == NOT_RATED).any() else N_LEVELS  # rare: a metric without evidence
    codes = rows + width * np.arange(rows.shape[0])[:, None]  # one bincount for every row
    counts = np.bincount(codes.ravel(), minlength=width * rows.shape[0]).reshape(-1, width)[:, :N_LEVELS]
    return (counts / moved.shape[-1]).reshape(moved.shape[:-1] + (N_LEVELS,))


def compound_levels(levels: np.ndarray, weights: np.ndarray, compound: CompoundRule,
                    memo: np.ndarray | None = None) -> np.ndarray:
    """Apply a compound rule to every row of (…, metrics) levels, calling it once per distinct row.
    memo (from ``compound_memo``) keeps rows already compounded across calls (chunks)."""
    used = np.flatnonzero(np.asarray(weights) > 0)
    if used.size == 0:
        raise ValueError("no metric has a weight > 0: nothing to compound")
    w = np.asarray(weights, dtype=float)[used]
    rows = levels[..., used].reshape(-1, used.size).astype(np.int64)
    base = N_LEVELS + 1 if (rows == NOT_RATED).any() else N_LEVELS  # NOT_RATED: rare, and never in the memo
    codes = rows @ (base ** np.arange(used.size, dtype=np.int64))
    if used.size > _TABLE_METRICS or base != N_LEVELS:  # sort out the distinct rows
        unique, inverse = np.unique(codes, return_inverse=True)
        result = np.asarray(compound(_decode(unique, used.size, base), w), dtype=np.int8)
        return result[inverse.reshape(-1)].reshape(levels.shape[:-1])
    table = compound_memo(weights) if memo is None else memo
    seen = np.flatnonzero(np.bincount(codes, minlength=table.size))
    todo = seen[table[seen] < 0]
    if todo.size:
        table[todo] = np.asarray(compound(_decode(todo, used.size), w), dtype=np.int8)
    return table[codes].reshape(levels.shape[:-1])


def compound_memo(weights: np.ndarray) -> np.ndarray | None:
    """An empty table of compound levels by row code (-1 = not yet known); None if too many metrics."""
    used = int((np.asarray(weights) > 0).sum())
    return np.full(N_LEVELS ** used, -1, np.int8) if used <= _TABLE_METRICS else None


def _decode(codes: np.ndarray, width: int, base: int = N_LEVELS) -> np.ndarray:
    return (codes[:, None] // base ** np.arange(width, dtype=np.int64)) % base


@dataclass(frozen=True)
class RatingOdds:
    """Probabilities of each letter per entry and metric, and of the compound rating per entry."""
    metric_p: np.ndarray  # (entries, metrics, 5)
    compound_p: np.ndarray | None  # (entries, 5)

    def most_likely(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Levels (entries, metrics) and (entries,) of the most likely letters (ties: the better)."""
        compound = None if self.compound_p is None else self.compound_p.argmax(axis=-1)
        return self.metric_p.argmax(axis=-1), compound


def letter_probabilities(p: Sequence[float]) -> dict[str, float]:
    """{"A": p, …, "E": p} of one row of probabilities, as the --json output carries it."""
    return {letter: float(value) for letter, value in zip(LETTERS, p)}


def rating_odds(model_runs: np.ndarray, reference_runs: np.ndarray, boundaries: np.ndarray,
                higher_is_better: np.ndarray, rng: np.random.Generator, draws: int = 4000,
                weights: np.ndarray | None = None, compound: CompoundRule | None = None,
                is_reference: np.ndarray | None = None, reference_of: np.ndarray | None = None,
                chunk: int = 256, missing: int = MISSING_LEVEL) -> RatingOdds:
    """Rating probabilities of many entries at once.

    model_runs (entries, runs, metrics) and reference_runs (references, runs, metrics) from
    ``pad_runs``; reference_of (entries,): the row of each entry's reference (default: row e for
    entry e) — entries sharing a reference share its draws, as they share its measurement;
    boundaries (metrics, 4); higher_is_better (metrics,) bool; is_reference (entries,) bool: that
    entry is its own reference (index exactly 1, as the engine has it). weights and compound (both or
    neither) add the compound rating's probabilities. ``missing``: the level of a draw without an
    index (E, the 2022 rule; or NOT_RATED: it counts for no letter, as the engine has it). Chunked
    over entries to bound memory."""
    if (weights is None) != (compound is None):
        raise ValueError("the compound probabilities need both weights and a compound rule")
    entries = model_runs.shape[0]
    own = np.zeros(entries, bool) if is_reference is None else np.asarray(is_reference, bool)
    ref_of = np.arange(entries) if reference_of is None else np.asarray(reference_of, int)
    metric_p = np.empty((entries, model_runs.shape[2], N_LEVELS))
    compound_p = None if compound is None else np.empty((entries, N_LEVELS))
    memo = None if compound is None else compound_memo(weights)
    for start in range(0, entries, chunk):
        stop = min(start + chunk, entries)
        values = draw_means(model_runs[start:stop], draws, rng)
        needed, which = np.unique(ref_of[start:stop], return_inverse=True)
        refs = draw_means(reference_runs[needed], draws, rng)
        which, own_part = which.reshape(-1), own[start:stop]
        # the steps after the draws, a few rows at a time: the same numbers, in float64 temporaries
        # under 1 MB instead of hundreds of MB (whose page faults and cache misses were the cost)
        for first in range(0, stop - start, _ROWS_AFTER_DRAWS):
            rows = slice(first, first + _ROWS_AFTER_DRAWS)
            model = values[rows]
            reference = np.where(own_part[rows, None, None], model, refs[which[rows]])
            levels = rating_levels(index_matrix(model, reference, higher_is_better), boundaries, missing)
            out = slice(start + first, start + first + model.shape[0])
            metric_p[out] = level_shares(levels, axis=1)
            if compound is not None:
                compound_p[out] = level_shares(compound_levels(levels, weights, compound, memo), axis=1)
    return RatingOdds(metric_p, compound_p)


_ROWS_AFTER_DRAWS = 2  # entries indexed and rated at once (of a chunk drawn at once)


def compound_from_scalar(rule: Callable[[Mapping[str, str], Mapping[str, float]], str]) -> CompoundRule:
    """Turn a one-entry rule ``rule({metric: letter}, {metric: weight}) -> letter`` (e.g.
    ``functools.partial(mlel.ratings.compound_rating, mode=...)``) into a CompoundRule. It is called
    once per distinct row, which ``compound_levels`` already guarantees."""
    def vectorised(levels: np.ndarray, weights: np.ndarray) -> np.ndarray:
        names = [f"m{j}" for j in range(levels.shape[1])]
        w = dict(zip(names, map(float, weights)))
        return np.array([LETTERS.index(rule({k: LETTERS[v] for k, v in zip(names, row)}, w))
                         for row in levels], dtype=np.int8)
    return vectorised
