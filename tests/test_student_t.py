"""The t quantile the intervals use (``mlel.ratings.student_t``), against scipy's and exact forms."""
import math

import pytest
from scipy.special import stdtr, stdtrit

from mlel.ratings.student_t import t_cdf, t_quantile
from mlel.ratings.uncertainty import t_quantile as cached_t_quantile

DFS = [0.3, 0.7, 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 7.3, 9, 10, 15, 29.5, 50, 99.9, 999, 9999, 1e4, 2e5, 1e8]
PS = [1e-10, 1e-6, 1e-3, 0.025, 0.05, 0.1, 0.3, 0.5, 0.6, 0.9, 0.95, 0.975, 0.99, 0.999, 1 - 1e-9]


@pytest.mark.parametrize("df", DFS)
def test_quantile_agrees_with_scipy(df):
    for p in PS:
        assert t_quantile(p, df) == pytest.approx(float(stdtrit(df, p)), rel=1e-11, abs=1e-14), (df, p)


@pytest.mark.parametrize("df", [1, 2.5, 4, 30.5, 500])
def test_cdf_agrees_with_scipy_and_inverts_the_quantile(df):
    for t in (-40.0, -3.0, -0.2, 0.0, 0.7, 2.0, 12.0):
        assert t_cdf(t, df) == pytest.approx(float(stdtr(df, t)), rel=1e-12, abs=1e-300)
    for p in (0.01, 0.3, 0.975):
        assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, rel=1e-12)


def test_closed_forms_and_symmetry():
    assert t_quantile(0.975, 1) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-15)
    assert t_quantile(0.975, 2) == pytest.approx(4.302652729749462, rel=1e-14)
    assert t_quantile(0.5, 7) == 0.0
    assert t_quantile(0.2, 6.5) == pytest.approx(-t_quantile(0.8, 6.5), rel=1e-14)
    assert cached_t_quantile(0.975, 4) == pytest.approx(2.7764451051977934, rel=1e-13)


@pytest.mark.parametrize("p, df", [(0.0, 3), (1.0, 3), (0.5, 0), (0.5, -1), (float("nan"), 3)])
def test_out_of_range_is_refused(p, df):
    with pytest.raises(ValueError):
        t_quantile(p, df)
