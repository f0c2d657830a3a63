"""Benchmark: load + rate 20,000 merged logs versus a bare ``json.load`` of the same files.

Each measurement runs in a fresh interpreter (so peak RSS is its own), interleaved and repeated;
the best time of each is compared. Goals: library load + rate <= 1.3x the bare loop (the library
leaves the garbage collector on); the whole ``python -m mlel.ratings --directory D --json`` process
(start-up, load, rate, print to a pipe; the collector off in its own process) <= 1.3x a whole
bare-``json.load`` process (issue 23: one reader of merged logs); peak < 400 MB.

    .venv/bin/python bench/ratings_corpus.py [--logs 20000] [--repeat 3] [--stages]
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
t, c = time.perf_counter(), time.process_time()
for f in files:
    with open(f) as h:
        json.load(h)
print(time.perf_counter() - t, time.process_time() - c, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

OURS = """
import resource, sys, time
t, c = time.perf_counter(), time.process_time()
from mlel.ratings.report import rate_directory
report = rate_directory(sys.argv[1])
assert report.records and not report.problems
print(time.perf_counter() - t, time.process_time() - c, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


# Where the CLI's time goes (CPU s per stage, one fresh interpreter): what to make leaner next.
STAGES = """
import resource, sys, time
clock = time.process_time
marks = [("start", clock())]
import gc
from mlel.base.io import dumps
from mlel.runlog.logs import load_logs
from mlel.ratings import DEFAULT_GATES, RatingOptions, aggregate_runs, rate_entries
marks.append(("imports", clock()))
gc.disable()  # as `python -m mlel.ratings` does in its own main
runs, problems = load_logs(sys.argv[1])
marks.append(("load_logs", clock()))
entries = aggregate_runs(runs, DEFAULT_GATES)
marks.append(("aggregate", clock()))
records, warnings = rate_entries(entries, RatingOptions())
marks.append(("rate", clock()))
dicts = [record.to_dict() for record in records]
marks.append(("to_dict", clock()))
out = dumps(dicts)
marks.append(("dumps", clock()))
print(" ".join(f"{name}={t - marks[i][1]:.3f}" for i, (name, t) in enumerate(marks[1:])))
"""


# Whole processes, timed from outside: interpreter start-up, imports, the work, and (for the CLI)
# writing its JSON to a pipe that is read to the end.
WHOLE = """
import resource, subprocess, sys, time
t = time.perf_counter()
out = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
seconds = time.perf_counter() - t
assert out.stdout, "no output"
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
"""


def _whole(command: list[str], directory: Path) -> tuple[float, float, float]:
    out = subprocess.run([sys.executable, "-c", WHOLE, str(directory), *command], capture_output=True,
                         text=True, check=True, cwd=REPO)
    return tuple(map(float, out.stdout.split()))


def _run(code: str, directory: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MB) of ``code`` in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", code, str(directory)], capture_output=True, text=True,
                         check=True, cwd=REPO)
    return tuple(map(float, out.stdout.split()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=REPO / "bench" / "out" / "corpus")
    parser.add_argument("--stages", action="store_true", help="print the CPU s of each stage of the CLI and stop")
    args = parser.parse_args()
    build_corpus(args.corpus, args.logs)
    if args.stages:
        out = subprocess.run([sys.executable, "-c", STAGES, str(args.corpus)], capture_output=True, text=True,
                             check=True, cwd=REPO)
        print(out.stdout.strip())
        return
    _run(BARE, args.corpus)  # warm the page cache
    bare, ours, bare_whole, cli_whole = [], [], [], []
    bare_command = [sys.executable, "-c", BARE, str(args.corpus)]
    cli_command = [sys.executable, "-m", "mlel.ratings", "--directory", str(args.corpus), "--json"]
    for _ in range(args.repeat):
        bare.append(_run(BARE, args.corpus))
        ours.append(_run(OURS, args.corpus))
        bare_whole.append(_whole(bare_command, args.corpus))
        cli_whole.append(_whole(cli_command, args.corpus))
    # On a shared machine wall time follows the neighbours; CPU time (user + sys) is the fairer ratio.
    runs = {"bare": bare, "library": ours, "bare_whole": bare_whole, "cli_whole": cli_whole}
    best = {name: (min(r[0] for r in rs), min(r[1] for r in rs), max(r[2] for r in rs)) for name, rs in runs.items()}
    result = {"logs": args.logs}
    for name, (wall, cpu, peak) in best.items():
        result.update({f"{name}_wall_s": round(wall, 3), f"{name}_cpu_s": round(cpu, 3), f"{name}_peak_mb": round(peak, 1)})
    for label, ours_name, bare_name in (("library", "library", "bare"), ("cli_whole", "cli_whole", "bare_whole")):
        result[f"{label}_wall_ratio"] = round(best[ours_name][0] / best[bare_name][0], 3)
        result[f"{label}_cpu_ratio"] = round(best[ours_name][1] / best[bare_name][1], 3)
    print(json.dumps(result))
    print(f"library load+rate / bare json.load loop: wall {result['library_wall_ratio']}x, CPU "
          f"{result['library_cpu_ratio']}x (goal <= 1.3); peak {best['library'][2]:.0f} MB (goal < 400 MB)")
    print(f"whole `python -m mlel.ratings --json` / whole bare json.load process: wall "
          f"{result['cli_whole_wall_ratio']}x, CPU {result['cli_whole_cpu_ratio']}x (goal <= 1.3); "
          f"peak {best['cli_whole'][2]:.0f} MB (goal < 400 MB)")


if __name__ == "__main__":
    main()
