"""Coverage of the value intervals a rated result shows (:mod:`mlel.ratings.intervals`), by kind,
distribution, spread and number of runs: how often the 95 % interval of a group's runs holds the
true mean, and whether any interval of a positive quantity reached 0 or a fraction's left (0, 1).

    python bench/interval_coverage.py [--groups 10000] [--seed 24] [--json]

Positive quantities: lognormal, gamma and normal runs (mean 1; the rule is scale-free) with CV 2, 10,
30 and 50 %; fractions: beta runs with means 0.02 … 0.99 and a spread of 5, 20 or 50 % of the distance
to the nearer bound. n = 2, 3, 5, 10 runs. Beside the rule in use, the t interval (cut at the
support, as before issue 24) for comparison. Each cell: ``--groups`` seeded groups, the real
function called once per group (≈ 11 s at 10,000). tests/test_intervals.py checks the pooled figures.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from statistics import NormalDist

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mlel.ratings.intervals import mean_interval  # noqa: E402
from mlel.ratings.uncertainty import value_stats, within  # noqa: E402

POSITIVE, FRACTION = (0.0, math.inf), (0.0, 1.0)
RUNS = (2, 3, 5, 10)


def positive_runs(dist: str, cv: float, n: int, groups: int, rng: np.random.Generator) -> np.ndarray:
    if dist == "lognormal":
        s2 = math.log1p(cv * cv)
        return rng.lognormal(-s2 / 2, math.sqrt(s2), (groups, n))
    if dist == "gamma":
        return rng.gamma(1 / cv ** 2, cv ** 2, (groups, n))
    return np.abs(rng.normal(1.0, cv, (groups, n)))  # folded at 0: at CV 50 %, 2 % of runs fold


def true_mean(dist: str, cv: float) -> float:
    """Every distribution has mean 1, but the folded normal: E|X| for X ~ N(1, cv²)."""
    if dist != "normal":
        return 1.0
    z = NormalDist()
    return 1 - 2 * z.cdf(-1 / cv) + 2 * cv * z.pdf(1 / cv)


def fraction_runs(p: float, rel: float, n: int, groups: int, rng: np.random.Generator) -> np.ndarray:
    sd = rel * min(p, 1 - p)
    k = p * (1 - p) / sd ** 2 - 1
    return rng.beta(p * k, (1 - p) * k, (groups, n))


def cell(runs: np.ndarray, truth: float, support) -> dict:
    covered = covered_t = shown = outside = 0
    for row in runs.tolist():
        interval = mean_interval(row, support)
        if interval is None:
            continue
        shown += 1
        covered += interval[0] <= truth <= interval[1]
        outside += not support[0] < interval[0] <= interval[1] < support[1]
        old = within(value_stats(row).ci95, support)
        covered_t += old[0] <= truth <= old[1]
    return {"groups": len(runs), "intervals": shown, "coverage": covered / shown, "t_cut": covered_t / shown,
            "outside_support": outside}


def evaluate(groups: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    cells = []
    for dist in ("lognormal", "gamma", "normal"):
        for cv in (0.02, 0.10, 0.30, 0.50):
            for n in RUNS:
                runs = positive_runs(dist, cv, n, groups, rng)
                cells.append({"kind": "positive", "dist": dist, "spread": cv, "n": n,
                              **cell(runs, true_mean(dist, cv), POSITIVE)})
    for p in (0.02, 0.10, 0.50, 0.76, 0.95, 0.99):
        for rel in (0.05, 0.20, 0.50):
            for n in RUNS:
                cells.append({"kind": "fraction", "dist": f"beta mean {p}", "spread": rel, "n": n,
                              **cell(fraction_runs(p, rel, n, groups, rng), p, FRACTION)})
    pooled = {}
    for kind in ("positive", "fraction"):
        mine = [c for c in cells if c["kind"] == kind]
        shown = sum(c["intervals"] for c in mine)
        pooled[kind] = {"coverage": sum(c["coverage"] * c["intervals"] for c in mine) / shown,
                        "min": min(c["coverage"] for c in mine), "max": max(c["coverage"] for c in mine),
                        "t_cut_min": min(c["t_cut"] for c in mine),
                        "outside_support": sum(c["outside_support"] for c in mine)}
    return {"groups_per_cell": groups, "seed": seed, "pooled": pooled, "cells": cells}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = evaluate(args.groups, args.seed)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{'kind':9} {'distribution':16} {'spread':>6} {'n':>3} {'coverage':>9} {'t cut':>7}")
    for c in result["cells"]:
        print(f"{c['kind']:9} {c['dist']:16} {c['spread']:6.2f} {c['n']:3d} {c['coverage']:9.3f} {c['t_cut']:7.3f}")
    for kind, p in result["pooled"].items():
        print(f"{kind}: pooled {p['coverage']:.3f}, cells {p['min']:.3f}–{p['max']:.3f} (t cut: from "
              f"{p['t_cut_min']:.3f}), intervals outside the support: {p['outside_support']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
