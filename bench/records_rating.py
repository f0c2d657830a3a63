"""Benchmark: read + rate 100,000 generic result records (``mlee-result/1``) versus a bare stdlib
``json.load`` of the same files.

The corpus is a synthetic blow-up of the ML.ENERGY import: ``python -m mlel.importers mlenergy
../shared/reference/ml-energy-leaderboard`` once (1,708 records), then copies with every property
value perturbed (×0.8–1.25, each its own factor) and a distinct entry name per copy, written as the
importer writes them (indented, one file each), up to ``--records`` files.

Timed, each in a fresh interpreter, interleaved and repeated; compared as the best of each, and as
the median over rounds of each variant's CPU time against the bare loads of its own round (on a
shared machine CPU time, user + sys, is the fairer ratio, and the paired median the steadier one):

  (a) bare     a stdlib ``json.load`` of every file (sorted), nothing else;
  (b) library  ``mlel.results.read_result_records`` + ``entries_from_records`` + ``rate_entries``
               (the ratings entry point for records), imports included;
  (c') report  ``mlel.ratings.report.rate_directory`` in-process: what the CLI calls to read and rate;
  (c) cli      the whole ``python -m mlel.ratings --directory D --json`` process, timed from outside
               (start-up, load, rate, then 200 MB of JSON to a pipe read to the end).
(b) and (c') run twice: with the default reference scale (the leaderboard has no ResNet101, so
nothing is indexed and every entry rates E) and with ``--scale best`` (every entry indexed against
the best of its environment, boundaries calibrated, repeated entries resampled).

Goal (issue 23, the library leaving the garbage collector alone; was <= 1.0x with it paused): (b)
and (c'), either scale, <= 1.5x (a). (c) is reported beside them: it adds writing a 200 MB report,
which json.load does not.

    .venv/bin/python bench/records_rating.py [--records 100000] [--repeat 2] [--corpus DIR]
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEADERBOARD = REPO.parent / "shared" / "reference" / "ml-energy-leaderboard"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ratings_corpus import WHOLE  # noqa: E402 - one timing harness for whole CLI processes

TIMED = """
import resource, sys, time
t, c = time.perf_counter(), time.process_time()
{body}
print(time.perf_counter() - t, time.process_time() - c, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
BARE = TIMED.format(body="""
import json, os
folder = sys.argv[1]
for name in sorted(n for n in os.listdir(folder) if n.endswith('.json')):
    with open(os.path.join(folder, name)) as h:
        json.load(h)
""")
LIBRARY = TIMED.format(body="""
from mlel.ratings.rated import entries_from_records
from mlel.ratings import RatingOptions, rate_entries
from mlel.results import read_result_records
scan = read_result_records(sys.argv[1])
assert scan.records and not scan.problems, scan.problems[:3]
rated, _ = rate_entries(entries_from_records(scan.records), RatingOptions(scale=sys.argv[2]))
assert len(rated) == len(scan.records) or rated
""")
REPORT = TIMED.format(body="""
from mlel.ratings import RatingOptions
from mlel.ratings.report import rate_directory
report = rate_directory(sys.argv[1], RatingOptions(scale=sys.argv[2]))
assert report.records and not report.problems, report.problems[:3]
""")
RATED = {"library": (LIBRARY, "reference"), "library_best": (LIBRARY, "best"),
         "report": (REPORT, "reference"), "report_best": (REPORT, "best")}
STAGES = """
import json, sys, time
clock = time.process_time
t = clock()
from mlel.ratings.rated import entries_from_records
from mlel.ratings import rate_entries
from mlel.results import read_result_records
stages = {"imports": clock() - t}
t = clock(); scan = read_result_records(sys.argv[1]); stages["read_result_records"] = clock() - t
t = clock(); entries = entries_from_records(scan.records)
stages["entries_from_records"] = clock() - t
t = clock(); rate_entries(entries); stages["rate_entries"] = clock() - t
print(json.dumps({k: round(v, 3) for k, v in stages.items()}))
"""


def import_seed(directory: Path, source: Path = LEADERBOARD) -> list[dict]:
    """The ML.ENERGY leaderboard imported by the real CLI; its records as dicts."""
    if directory.exists():
        shutil.rmtree(directory)
    subprocess.run([sys.executable, "-m", "mlel.importers", "mlenergy", str(source), "--output-dir",
                    str(directory)], check=True, cwd=REPO, capture_output=True)
    return [json.loads(p.read_bytes()) for p in sorted(directory.glob("*.json"))]


def perturbed(record: dict, copy: int, rng: random.Random) -> dict:
    """A plausible new entry: a distinct name per copy, every property value scaled on its own."""
    out = json.loads(json.dumps(record))
    if copy:
        out["name"] = f"{record['name']} [copy {copy}]"
    for prop in out["properties"].values():
        if isinstance(prop.get("value"), (int, float)):
            prop["value"] *= rng.uniform(0.8, 1.25)
    return out


def build_corpus(directory: Path, n_records: int, seed: int = 0) -> Path:
    """``n_records`` record files in ``directory`` (kept if already complete)."""
    from mlel.base.io import write_atomic, dumps
    from mlel.results import ResultRecord, record_file_name

    directory.mkdir(parents=True, exist_ok=True)
    if sum(1 for _ in directory.glob("*.json")) == n_records:  # built before: kept
        return directory
    for stale in directory.glob("*.json"):
        stale.unlink()
    seeds = import_seed(directory.with_name(directory.name + "-seed"))
    rng = random.Random(seed)
    for i in range(n_records):
        copy, row = divmod(i, len(seeds))
        data = perturbed(seeds[row], copy, rng)
        name = record_file_name(ResultRecord.from_dict(data), i)  # i: unique even for repeated entries
        write_atomic(directory / name, dumps(data))
    return directory


def _run(code: str, directory: Path, *args: str) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MB) of ``code`` in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", code, str(directory), *args], capture_output=True, text=True,
                         check=True, cwd=REPO)
    return tuple(map(float, out.stdout.split()[-3:]))


def _whole(command: list[str], directory: Path) -> tuple[float, float, float]:
    out = subprocess.run([sys.executable, "-c", WHOLE, str(directory), *command], capture_output=True,
                         text=True, check=True, cwd=REPO)
    return tuple(map(float, out.stdout.split()))


def measure(corpus: Path, repeat: int) -> tuple[dict, dict]:
    """Best (wall, CPU, peak) of each variant over ``repeat`` interleaved rounds; and the median
    over rounds of each variant's CPU against its own round's bare loads (one before, one after):
    where the machine's speed drifts between rounds, the paired ratio is the steadier one."""
    _run(BARE, corpus)  # warm the page cache
    cli = [sys.executable, "-m", "mlel.ratings", "--directory", str(corpus), "--json"]
    rounds: dict[str, list] = {name: [] for name in ("bare", *RATED, "cli")}
    paired: dict[str, list[float]] = {name: [] for name in (*RATED, "cli")}
    for _ in range(repeat):
        before = _run(BARE, corpus)
        timed = {name: _run(code, corpus, scale) for name, (code, scale) in RATED.items()}
        timed["cli"] = _whole(cli, corpus)
        after = _run(BARE, corpus)
        rounds["bare"] += [before, after]
        for name, times in timed.items():
            rounds[name].append(times)
            paired[name].append(times[1] / ((before[1] + after[1]) / 2))
    best = {name: (min(r[0] for r in rs), min(r[1] for r in rs), max(r[2] for r in rs))
            for name, rs in rounds.items()}
    return best, {name: statistics.median(ratios) for name, ratios in paired.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=None, help="default: bench/out/records-<N>")
    args = parser.parse_args(argv)
    corpus = build_corpus(args.corpus or REPO / "bench" / "out" / f"records-{args.records}", args.records)
    best, paired = measure(corpus, args.repeat)
    stages = subprocess.run([sys.executable, "-c", STAGES, str(corpus)], capture_output=True, text=True,
                            check=True, cwd=REPO).stdout
    result = {"records": args.records, "library_stages_cpu_s": json.loads(stages)}
    for name, (wall, cpu, peak) in best.items():
        result.update({f"{name}_wall_s": round(wall, 3), f"{name}_cpu_s": round(cpu, 3),
                       f"{name}_peak_mb": round(peak, 1)})
    for name in (*RATED, "cli"):
        result[f"{name}_wall_ratio"] = round(best[name][0] / best["bare"][0], 3)
        result[f"{name}_cpu_ratio"] = round(best[name][1] / best["bare"][1], 3)
        result[f"{name}_cpu_ratio_paired_median"] = round(paired[name], 3)
    print(json.dumps(result))
    for name, what in (("library", "(b) read_result_records + rate_entries"),
                       ("library_best", "(b) the same, --scale best"),
                       ("report", "(c') rate_directory in-process (the CLI's path)"),
                       ("report_best", "(c') the same, --scale best"),
                       ("cli", "(c) whole `python -m mlel.ratings --directory D --json`")):
        goal = "(not the goal: adds writing the JSON report)" if name == "cli" else "(goal <= 1.5)"
        print(f"{what} / (a) bare json.load: best wall {result[f'{name}_wall_ratio']}x, "
              f"CPU {result[f'{name}_cpu_ratio']}x; paired CPU median {result[f'{name}_cpu_ratio_paired_median']}x {goal}")
    return result


if __name__ == "__main__":
    main()
