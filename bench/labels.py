"""Benchmark: energy labels per second, PDF and PNG, over 200 of the 2022 merged logs.

The logs are rated once; the timed loop is what a batch of labels costs: ``EnergyLabel(summary)``
then ``to_pdf()`` (or ``to_png()``), in memory. Goal: 1,000 PDF labels in < 10 s.

    .venv/bin/python bench/labels.py [--directory DIR] [--logs 200] [--pdf 1000] [--repeat 3] [--dpi 150]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mlel.labels import EnergyLabel  # noqa: E402
from mlel.ratings.report import rate_directory  # noqa: E402

DEFAULT_DIRECTORY = REPO.parent / "shared" / "reference" / "mlee-2022" / "results"
GOAL_S = 10.0  # for 1,000 PDF labels


def _best(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", default=str(DEFAULT_DIRECTORY))
    parser.add_argument("--logs", type=int, default=200, help="distinct summaries to label (default: 200)")
    parser.add_argument("--pdf", type=int, default=1000, help="PDF labels per timing (default: 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timings; the best counts (default: 3)")
    parser.add_argument("--dpi", type=float, default=150)
    args = parser.parse_args(argv)

    report = rate_directory(args.directory)
    summaries = [s for s in report.rated if len(s["logs"]) == 1][:args.logs]  # one log per label
    if not summaries:
        print(f"no rated logs in {args.directory}", file=sys.stderr)
        return 2
    print(f"{len(summaries)} summaries (one log each) from {args.directory}")

    start = time.perf_counter()
    EnergyLabel(summaries[0]).to_pdf()  # first label of the process: QR codes and fonts are cold
    print(f"first PDF label (cold):      {1000 * (time.perf_counter() - start):7.1f} ms")

    n_pdf = args.pdf
    pdf_s = _best(args.repeat, lambda: [EnergyLabel(summaries[i % len(summaries)]).to_pdf()
                                         for i in range(n_pdf)])
    png_s = _best(args.repeat, lambda: [EnergyLabel(s).to_png(args.dpi) for s in summaries])
    size_pdf = sum(len(EnergyLabel(s).to_pdf()) for s in summaries) / len(summaries)
    size_png = sum(len(EnergyLabel(s).to_png(args.dpi)) for s in summaries[:20]) / min(20, len(summaries))

    print(f"PDF: {n_pdf / pdf_s:7.0f} labels/s   ({n_pdf} in {pdf_s:.2f} s, mean {size_pdf / 1024:.1f} KiB)")
    print(f"PNG: {len(summaries) / png_s:7.1f} labels/s   ({len(summaries)} at {args.dpi:g} dpi in "
          f"{png_s:.2f} s, mean {size_png / 1024:.0f} KiB)")
    # bounded work per input (issue 15): a hostile 100,000-character model name, against a short one
    long_name = {**summaries[0], "model": "N" * 100_000}
    short_name = {**summaries[0], "model": "N" * 100}
    long_s = _best(args.repeat, lambda: EnergyLabel(long_name).to_pdf())
    short_s = _best(args.repeat, lambda: EnergyLabel(short_name).to_pdf())
    print(f"PDF with a 100,000-character name: {1000 * long_s:.1f} ms (100 characters: {1000 * short_s:.1f} ms)")
    projected = 1000 * pdf_s / n_pdf
    verdict = "ok" if projected < GOAL_S else "MISSED"
    print(f"goal: 1,000 PDF labels < {GOAL_S:g} s -> {projected:.2f} s ({verdict})")
    return 0 if projected < GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
