"""Score the CPU power estimate against real RAPL package power: the old TDP × utilisation model
versus the calibrated curve, on models the calibration never saw.

    python bench/estimate_error.py [--directory ../shared/reference/mlee-2022/results] [--json]

Two splits, two folds each — by model (models sorted by name, alternating) and by time (earlier
and later half of the runs): each fold fits a curve on one half and scores it on the other. The published curve (mlel.monitoring.estimate.INTEL_CURVE) is fold 0's fit.
Prints per fold the fitted curve, the held-out WAPE of the old model, of that fold's fit and of the
published curve where it is held out, with points and CPUs; then all runs, PyTorch-with-GPU runs
included (their utilisation misses the unmonitored DataLoader workers: a lower bound of the load).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mlel.base.io import dumps  # noqa: E402
from mlel.monitoring import estimate_calibration as cal  # noqa: E402
from mlel.monitoring.estimate import EXPECTED_ERROR, INTEL_CURVE  # noqa: E402


def evaluate(directory: Path) -> dict:
    points = cal.load_points(directory)
    usable = [p for p in points if cal.process_is_the_load(p)]
    published = cal.curve_prediction(INTEL_CURVE)
    folds = []
    for (split_name, split), fold in ((s, f) for s in (("model", cal.split_by_model), ("time", cal.split_by_time))
                                      for f in (0, 1)):
        calibration, held_out = split(usable, fold)
        curve = cal.fit_curve(calibration)
        folds.append({"split": split_name, "fold": fold, "calibration_points": len(calibration),
                      "curve": curve.to_dict(),
                      "held_out_models": sorted({p.model for p in held_out}),
                      "old": cal.score(held_out, cal.old_prediction).to_dict(),
                      "new": cal.score(held_out, cal.curve_prediction(curve)).to_dict()})
    return {"directory": str(directory), "points_with_rapl": len(points), "usable_points": len(usable),
            "published_curve": INTEL_CURVE.to_dict(), "expected_error": EXPECTED_ERROR, "folds": folds,
            "published_on_fold0_held_out": cal.score(cal.split_by_model(usable, 0)[1], published).to_dict(),
            "all_runs": {"old": cal.score(points, cal.old_prediction).to_dict(),
                         "published": cal.score(points, published).to_dict()}}


def print_report(result: dict) -> None:
    print(f"RAPL runs: {result['points_with_rapl']}, usable (process carries the load): {result['usable_points']}")
    for fold in result["folds"]:
        old, new = fold["old"], fold["new"]
        print(f"split by {fold['split']}, fold {fold['fold']}: fit on {fold['calibration_points']} runs "
              f"-> {fold['curve']}")
        print(f"  held out: {new['points']} runs of {len(fold['held_out_models'])} models, "
              f"CPUs {', '.join(new['cpus'])}")
        print(f"  WAPE old TDP x utilisation: {old['wape']:.1%}   new curve: {new['wape']:.1%}")
    pub = result["published_on_fold0_held_out"]
    print(f"published curve {result['published_curve']}: held-out WAPE {pub['wape']:.1%} "
          f"({pub['points']} runs); published expected error {result['expected_error']}")
    everything = result["all_runs"]
    print(f"all {everything['old']['points']} RAPL runs (PyTorch+GPU included, in-sample for half): "
          f"old {everything['old']['wape']:.1%}, published {everything['published']['wape']:.1%}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", type=Path,
                        default=REPO.parent / "shared" / "reference" / "mlee-2022" / "results")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args(argv)
    result = evaluate(args.directory)
    if args.json:
        sys.stdout.write(dumps(result).decode())
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
