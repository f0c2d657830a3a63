"""Benchmark: publish the 232 logs of the 2022 study, the 1,708 ML.ENERGY records and results/ as
one static site, twice.

The records are imported first (``python -m mlel.importers mlenergy``, not timed against the
budget); then ``python -m mlel.publish`` runs as a user runs it, into a temp folder, twice: the
first run's seconds and the site's size count against the budget (<= 120 s on the 2-core machine,
<= 200 MB); the second, of unchanged input, must rewrite nothing.

    .venv/bin/python bench/publish.py [--keep DIR]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "reference"
STUDY_2022 = SHARED / "mlee-2022" / "results"
LEADERBOARD = SHARED / "ml-energy-leaderboard"
OWN = REPO / "results"
BUDGET_S, BUDGET_MB = 120.0, 200.0
WRITTEN = re.compile(r"(\d+) written, (\d+) unchanged")


def _run(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", metavar="DIR", help="publish into DIR (kept) instead of a temp folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlee-publish-") as temp:
        imported = Path(temp) / "mlenergy"
        site = Path(args.keep) if args.keep else Path(temp) / "site"
        import_s, _ = _run(["-m", "mlel.importers", "mlenergy", str(LEADERBOARD), "--output-dir", str(imported)])
        print(f"imported {len(list(imported.glob('*.json')))} ML.ENERGY records in {import_s:.1f} s (not budgeted)")
        command = ["-m", "mlel.publish", "-q", "-d", str(STUDY_2022), "-d", str(imported), "-d", str(OWN),
                   "-o", str(site)]
        first_s, first = _run(command)
        size_mb = _size_mb(site)
        second_s, second = _run(command)
        print(first.strip())
        print(second.strip())
        rewritten = int(WRITTEN.search(second).group(1))
        files = sum(1 for p in site.rglob("*") if p.is_file())
        print(f"first publish: {first_s:.1f} s, {size_mb:.1f} MB in {files} files; second publish: {second_s:.1f} s, "
              f"{rewritten} file(s) rewritten")
        print(f"ratio to budget: time {first_s / BUDGET_S:.2f} (<= 1.0: {first_s:.1f} of {BUDGET_S:g} s), "
              f"size {size_mb / BUDGET_MB:.2f} (<= 1.0: {size_mb:.1f} of {BUDGET_MB:g} MB), "
              f"rewritten on the second run: {rewritten} (goal 0)")
        ok = first_s <= BUDGET_S and size_mb <= BUDGET_MB and rewritten == 0
        print("goal:", "ok" if ok else "MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
