"""Uncertainty of grades: intervals that cover at their nominal rate, rating probabilities that are
what resampling says. Groups of 2–10 runs are built from real 2022 values with known perturbations."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from mlel.ratings import engine
from mlel.ratings import uncertainty as U
from mlel.base.io import read_json
from mlel.ratings import compound_rating, rating_from_index

DRAWS = 1500  # simulated groups per coverage check
TOLERANCE = 3 * math.sqrt(0.95 * 0.05 / DRAWS)  # three binomial standard deviations
BOUNDS = np.array([[1.8052, 1.1358, 0.8662, 0.4950],  # inference_power_draw, the 2022 defaults
                   [1.7313, 1.1504, 0.8826, 0.4943]])  # inference_time
LOWER_IS_BETTER = np.array([False, False])


@pytest.fixture(scope="module")
def true_values(reference_dir) -> np.ndarray:
    """(logs, 2): Ws and ms per sample of the 2022 inference runs (50,000 samples each)."""
    rows = []
    for path in sorted(reference_dir.glob("infer_*.json")):
        split = read_json(path)["validation"]
        sources = [split.get(f"monitoring_{s}") for s in ("pynvml", "pyrapl")]
        energy = sum(s["total"]["total_power_draw"] for s in sources if s)
        if energy > 0 and split.get("duration"):
            rows.append((energy / 50_000, split["duration"] / 50_000 * 1000))
    assert len(rows) > 150
    return np.array(rows)


def perturbed_group(mu: float, n: int, cv: float, rng) -> np.ndarray:
    return mu * (1 + cv * rng.standard_normal(n))


def test_one_run_has_no_interval_and_says_so():
    stats = U.value_stats([3.5])
    assert (stats.mean, stats.std, stats.n, stats.ci95, stats.method) == (3.5, None, 1, None, "single run")
    assert U.index_stats(stats, U.value_stats([1.0, 1.2]), True).ci95 is None
    assert U.index_stats(U.value_stats([1.0, 1.2]), stats, True).method == "single run"
    assert U.value_stats([2.0, None, float("nan")]).n == 1  # missing runs dropped


def test_student_t_interval_uses_the_t_quantile():
    for values, t975 in (([1.0, 3.0], 12.7062), ([1.0, 2.0, 4.0], 4.3027)):  # t tables, df 1 and 2
        stats = U.value_stats(values)
        x = np.array(values)
        half = t975 * x.std(ddof=1) / math.sqrt(len(x))
        assert stats.method == "student-t" and stats.ci95 == pytest.approx((x.mean() - half, x.mean() + half),
                                                                          rel=1e-4)
    assert U.ValueStats.from_dict(U.value_stats([1.0, 3.0]).to_dict()) == U.value_stats([1.0, 3.0])


def test_value_and_index_intervals_cover_the_true_mean_at_95_percent(true_values):
    """Groups of 2–10 runs, each a real 2022 value with 1–20% Gaussian noise, model and reference
    drawn separately: the value's 95% interval as a rated result shows it (an energy: on the log
    scale, :func:`U.value_interval`) and the index's cover the truth 95% of the time."""
    rng = np.random.default_rng(2022)
    covered_value = covered_index = 0
    for draw in range(DRAWS):
        mu_model, mu_ref = true_values[rng.integers(len(true_values), size=2), 0]
        cv = (0.01, 0.05, 0.2)[draw % 3]
        runs = perturbed_group(mu_model, rng.integers(2, 11), cv, rng)
        model = U.value_stats(runs)
        ref = U.value_stats(perturbed_group(mu_ref, rng.integers(2, 11), cv, rng))
        low, high = U.value_interval(runs.tolist(), (0.0, math.inf))
        covered_value += low <= mu_model <= high
        index = U.index_stats(model, ref, higher_is_better=False)
        covered_index += index.ci95[0] <= mu_ref / mu_model <= index.ci95[1]
    coverage_value, coverage_index = covered_value / DRAWS, covered_index / DRAWS
    print(f"coverage over {DRAWS} groups: value {coverage_value:.3f}, index {coverage_index:.3f}")
    assert abs(coverage_value - 0.95) <= TOLERANCE
    assert abs(coverage_index - 0.95) <= TOLERANCE


def test_index_interval_is_oriented_and_reciprocal():
    model, ref = U.value_stats([2.0, 2.2, 2.1]), U.value_stats([1.0, 1.1, 0.95, 1.05])
    higher, lower = U.index_stats(model, ref, True), U.index_stats(model, ref, False)
    assert higher.index == pytest.approx(1 / lower.index)
    assert higher.ci95 == pytest.approx((1 / lower.ci95[1], 1 / lower.ci95[0]))
    assert higher.ci95[0] < higher.index < higher.ci95[1] and higher.method == U.DELTA_LOG_RATIO
    # the reference's spread widens the index's interval
    exact_ref, spread_ref = U.value_stats([1.0, 1.0, 1.0, 1.0]), U.value_stats([1.0, 1.3, 0.7, 1.0])
    narrow, wide = U.index_stats(model, exact_ref, True).ci95, U.index_stats(model, spread_ref, True).ci95
    assert narrow[1] - narrow[0] < 0.5 * (wide[1] - wide[0])


def exact_letter_probabilities(runs: np.ndarray, reference: float, bounds: np.ndarray) -> np.ndarray:
    """Lower is better and the reference fixed: index r/m > b ⇔ m < r/b, m's mean a scaled t."""
    from scipy.special import stdtr
    n = len(runs)
    t = lambda c: stdtr(n - 1, (c - runs.mean()) / (runs.std(ddof=1) / math.sqrt(n)))  # noqa: E731
    below = [t(reference / b) for b in bounds]  # P(index > b0), P(index > b1), ...
    return np.diff(np.concatenate([[0.0], below, [1.0]]))


def test_rating_probabilities_match_the_t_distribution_within_one_point(true_values):
    rng = np.random.default_rng(7)
    reference = float(true_values[0, 0])
    groups = [perturbed_group(reference / f, n, 0.15, rng) for f, n in ((1.15, 3), (0.9, 5), (0.55, 2), (1.0, 10))]
    runs = U.pad_runs([g[:, None] for g in groups], 1)
    ref_runs = U.pad_runs([[[reference]]] * len(groups), 1)
    odds = U.rating_odds(runs, ref_runs, BOUNDS[:1], LOWER_IS_BETTER[:1], rng, draws=40_000)
    uncertain = 0
    assert odds.metric_p.sum(axis=-1) == pytest.approx(1.0)
    for group, p in zip(groups, odds.metric_p[:, 0]):
        exact = exact_letter_probabilities(group, reference, BOUNDS[0])
        assert np.abs(p - exact).max() <= 0.01, (p, exact)
        uncertain += exact.max() < 0.9
    assert uncertain >= 2  # the cases are not trivial


def spec_rating(index: float, bounds) -> str:
    """SPEC §5 written out: index > b0 → A, b0 ≥ index > b1 → B, …, else E."""
    return next((letter for letter, b in zip("ABCD", bounds) if index > b), "E")


def brute_force_odds(model: np.ndarray, reference: np.ndarray, draws: int, rng, mode: str):
    """Draw by draw: each mean from its multivariate t built from a square root of the runs'
    covariance (eigen-decomposition), rated by SPEC §5 written out, compounded by the engine's
    per-result compound_rating."""
    def mean_draws(runs):
        n = len(runs)
        vals, vecs = np.linalg.eigh(np.cov(runs, rowvar=False))
        root = vecs * np.sqrt(np.clip(vals, 0, None))
        z = rng.standard_normal((draws, runs.shape[1])) @ root.T
        return runs.mean(axis=0) + z / math.sqrt(n) * np.sqrt((n - 1) / rng.chisquare(n - 1, (draws, 1)))

    keys, weights = ("power", "time"), {"power": 1.0, "time": 1.0}
    compound = functools.lru_cache(maxsize=None)(
        lambda letters: compound_rating(dict(zip(keys, letters)), weights, mode))
    metric_counts, compound_counts = np.zeros((2, 5)), np.zeros(5)
    for m, r in zip(mean_draws(model), mean_draws(reference)):
        letters = tuple(spec_rating(float(r[j] / m[j]), BOUNDS[j]) for j in range(len(keys)))
        for j, letter in enumerate(letters):
            metric_counts[j, U.LETTERS.index(letter)] += 1
        compound_counts[U.LETTERS.index(compound(letters))] += 1
    return metric_counts / draws, compound_counts / draws


def test_spec_rating_is_the_engines():
    for index in (2.0, 1.8052, 1.5, 1.1358, 1.0, 0.8662, 0.6, 0.4950, 0.1, float("inf")):
        assert spec_rating(index, BOUNDS[0]) == rating_from_index(index, BOUNDS[0])


def test_compound_probabilities_match_brute_force_resampling_within_one_point(true_values):
    """Correlated metrics (energy and time move together across runs), both sides measured."""
    rng = np.random.default_rng(11)
    ref_truth = true_values[3]
    cases = [(0.95, 4), (0.75, 3), (1.3, 6)]
    models, refs = [], []
    for factor, n in cases:
        common = rng.standard_normal((n, 1)) * 0.12  # a run that is slow is also hungry
        models.append(ref_truth / factor * (1 + common + 0.03 * rng.standard_normal((n, 2))))
        common = rng.standard_normal((4, 1)) * 0.05
        refs.append(ref_truth * (1 + common + 0.02 * rng.standard_normal((4, 2))))
    mode = "pessimistic median"
    rule = lambda levels, w: engine.compound_levels(levels, w, mode)  # noqa: E731
    odds = U.rating_odds(U.pad_runs(models, 2), U.pad_runs(refs, 2), BOUNDS, LOWER_IS_BETTER, rng,
                         draws=100_000, weights=np.ones(2), compound=rule)
    assert odds.compound_p.sum(axis=-1) == pytest.approx(1.0)
    most_metric, most_compound = odds.most_likely()
    assert (most_compound == odds.compound_p.argmax(axis=1)).all() and most_metric.shape == (3, 2)
    as_json = U.letter_probabilities(odds.compound_p[0])
    assert list(as_json) == list("ABCDE") and as_json["C"] == odds.compound_p[0, 2]
    for e in range(len(cases)):
        metric_p, compound_p = brute_force_odds(models[e], refs[e], 30_000, rng, mode)
        assert np.abs(odds.metric_p[e] - metric_p).max() <= 0.01, (e, odds.metric_p[e], metric_p)
        assert np.abs(odds.compound_p[e] - compound_p).max() <= 0.01, (e, odds.compound_p[e], compound_p)
    assert 0.1 < odds.compound_p[0].max() < 0.9  # near a boundary: a real probability


def test_reference_single_runs_and_missing_values_are_certain():
    rng = np.random.default_rng(3)
    reference = np.array([[1.0, 2.0], [1.1, 2.2], [0.9, 1.8]])
    model_single = np.array([[0.5, np.nan]])  # one run; time never measured
    runs = U.pad_runs([reference, model_single], 2)
    refs = U.pad_runs([reference, reference], 2)
    odds = U.rating_odds(runs, refs, BOUNDS, LOWER_IS_BETTER, rng, draws=2000,
                         is_reference=np.array([True, False]))
    # the reference against itself: index exactly 1, so C under these boundaries, every draw
    assert odds.metric_p[0, :, 2] == pytest.approx([1.0, 1.0])
    assert odds.metric_p[1, 1, 4] == 1.0  # missing -> E
    assert odds.metric_p[1, 0].max() < 1.0  # the reference's spread still moves the single run's index
    held = U.rating_odds(runs[1:], runs[1:], BOUNDS, LOWER_IS_BETTER, rng, draws=500, is_reference=[True])
    assert held.metric_p[0, 0, 2] == 1.0  # one run, no spread known: held at its value


@pytest.mark.parametrize("mode", engine.COMPOUND_MODES)
def test_scalar_rule_adapter_agrees_with_the_engine_on_every_row(mode):
    levels = np.array(np.meshgrid(*[range(5)] * 4, indexing="ij")).reshape(4, -1).T  # all 625 rows
    weights = np.array([1.0, 2.0, 0.0, 1.0])
    scalar = U.compound_from_scalar(functools.partial(compound_rating, mode=mode))
    expected = engine.compound_levels(levels, weights, mode)
    assert (U.compound_levels(levels[None], weights, scalar)[0] == expected).all()
    memo = U.compound_memo(weights)
    vectorised = lambda lv, w: engine.compound_levels(lv, w, mode)  # noqa: E731
    assert (U.compound_levels(levels, weights, vectorised, memo) == expected).all()
    assert (U.compound_levels(levels[::-1], weights, vectorised, memo) == expected[::-1]).all()


def test_systematic_error_widens_the_interval():
    stats = U.value_stats([100.0, 102.0, 98.0])
    wide = U.widen_for_systematic(stats, 0.10)
    half, wide_half = (stats.ci95[1] - stats.ci95[0]) / 2, (wide.ci95[1] - wide.ci95[0]) / 2
    assert wide_half == pytest.approx(math.hypot(half, 10.0))
    assert U.widen_for_systematic(U.value_stats([1.0]), 0.1).ci95 is None


def test_entries_sharing_a_reference_get_the_same_odds_as_with_their_own_copy():
    rng = np.random.default_rng(5)
    reference = np.array([[1.0, 2.0], [1.1, 2.1], [0.95, 1.9]])
    models = [reference * f for f in (0.9, 1.2, 0.7)]
    shared = U.rating_odds(U.pad_runs(models, 2), U.pad_runs([reference], 2), BOUNDS, LOWER_IS_BETTER, rng,
                           draws=60_000, reference_of=np.zeros(3, int), chunk=2)
    copied = U.rating_odds(U.pad_runs(models, 2), U.pad_runs([reference] * 3, 2), BOUNDS, LOWER_IS_BETTER,
                           rng, draws=60_000)
    assert np.abs(shared.metric_p - copied.metric_p).max() <= 0.01
    assert 0.1 < shared.metric_p[0, 0].max() < 0.9  # a case with real uncertainty


def test_bootstrap_interval_for_many_runs():
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError):
        U.value_stats([1.0, 2.0, 3.0], method="bootstrap")  # no rng: not reproducible
    covered = 0
    for _ in range(300):
        stats = U.value_stats(perturbed_group(10.0, 40, 0.1, rng), method="bootstrap", rng=rng, resamples=1000)
        covered += stats.ci95[0] <= 10.0 <= stats.ci95[1]
    assert stats.method == "bootstrap" and stats.n == 40
    assert 0.90 <= covered / 300 <= 0.99  # the percentile bootstrap runs a little under nominal


def test_within_cuts_an_interval_to_a_support():
    """``within`` (ELEx's cut of a t interval): a rated result's intervals are built on the scale of
    the quantity instead (tests/test_intervals.py)."""
    from mlel.ratings.uncertainty import within

    assert within((-0.2, 1.3), (0.0, 1.0)) == (0.0, 1.0) and within((1.0, 2.0), None) == (1.0, 2.0)
    assert within(None, (0.0, 1.0)) is None


@pytest.mark.parametrize("rows", [1, 3])
def test_odds_do_not_depend_on_how_many_rows_are_rated_at_once(monkeypatch, rows):
    # the steps after the draws go a few rows at a time to keep temporaries small: the same draws
    # must give the same probabilities, whatever the step (own and shared references mixed)
    reference = np.array([[1.0, 2.0], [1.1, 2.1], [0.95, 1.9]])
    models = U.pad_runs([reference * f for f in (0.9, 1.2, 0.7, 1.0, 1.05)], 2)
    refs = U.pad_runs([reference, reference * 1.1], 2)
    args = dict(draws=3000, chunk=4, reference_of=np.array([0, 1, 0, 1, 0]),
                is_reference=[False, False, False, True, False], weights=np.array([1.0, 1.0]),
                compound=functools.partial(engine.compound_levels, mode="pessimistic mean"))

    def odds(step: int) -> U.RatingOdds:
        monkeypatch.setattr(U, "_ROWS_AFTER_DRAWS", step)
        return U.rating_odds(models, refs, BOUNDS, LOWER_IS_BETTER, np.random.default_rng(3), **args)

    whole, stepped = odds(1000), odds(rows)
    assert np.array_equal(stepped.metric_p, whole.metric_p)
    assert np.array_equal(stepped.compound_p, whole.compound_p)
    assert 0 < whole.metric_p.max(axis=-1).min() < 1  # a case with real uncertainty
