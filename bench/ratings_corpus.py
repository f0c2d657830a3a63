"""Benchmark: load + rate 20,000 merged logs versus a bare ``json.load`` of the same files.

Each measurement runs in a fresh interpreter (so peak RSS is its own), interleaved and repeated;
the best time of each is compared. Goal: ratio <= 1.3 and peak < 400 MB.

    .venv/bin/python bench/ratings_corpus.py [--logs 20000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import REPO, build_corpus  # noqa: E402

BARE = """
import json, resource, sys, time
from pathlib import Path
files = sorted(Path(sys.argv[1]).glob('*.json'))
t = time.perf_counter()
for f in files:
    with open(f) as h:
        json.load(h)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

OURS = """
import resource, sys, time
t = time.perf_counter()
from mlel.report import rate_directory
report = rate_directory(sys.argv[1])
assert report.rated and not report.problems
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _run(code: str, directory: Path) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", code, str(directory)], capture_output=True, text=True,
                         check=True, cwd=REPO)
    seconds, peak_mb = out.stdout.split()
    return float(seconds), float(peak_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=REPO / "bench" / "out" / "corpus")
    args = parser.parse_args()
    build_corpus(args.corpus, args.logs)
    _run(BARE, args.corpus)  # warm the page cache
    bare, ours = [], []
    for _ in range(args.repeat):
        bare.append(_run(BARE, args.corpus))
        ours.append(_run(OURS, args.corpus))
    bare_s, bare_mb = min(t for t, _ in bare), max(m for _, m in bare)
    ours_s, ours_mb = min(t for t, _ in ours), max(m for _, m in ours)
    print(json.dumps({"logs": args.logs, "bare_json_load_s": round(bare_s, 3),
                      "load_and_rate_s": round(ours_s, 3), "time_ratio": round(ours_s / bare_s, 3),
                      "bare_peak_mb": round(bare_mb, 1), "load_and_rate_peak_mb": round(ours_mb, 1)}))
    print(f"load+rate / bare json.load = {ours_s / bare_s:.3f}x (goal <= 1.3); "
          f"peak {ours_mb:.0f} MB (goal < 400 MB)")


if __name__ == "__main__":
    main()
