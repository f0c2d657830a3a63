"""Import a large CSV (issue 27): wall, CPU and peak memory of ``python -m mlel.importers csv``.

Writes a table of ``--rows`` rows (default 1,000,000) with realistic columns into a temp folder: a
sweep of models on four GPUs, each model and GPU measured twice (two runs of one entry), one row in
500 with a bad energy cell (skipped and reported). Imports it in a child process, then imports it
again into the same folder (every file unchanged: the idempotent path), and prints per import the
wall time, the CPU time and the peak RSS of the child (``os.wait4``: the rusage of that child alone,
what ``resource.getrusage(RUSAGE_CHILDREN)`` sums), the files written and the goal.

    .venv/bin/python bench/csv_import.py [--rows N] [--keep DIR] [--once] [--repo CHECKOUT]
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GPUS = ("A100-SXM4-80GB", "H100-SXM5-80GB", "L40S", "RTX-4090")
GOAL_MB = 500
COMMAND = ("--task", "generic", "--model", "model", "--environment", "gpu",
           "--map", "energy_per_sample=energy_wh:Wh")


def write_table(path: Path, rows: int) -> None:
    """``rows`` rows: run id, model, GPU, framework, batch size, energy (Wh), runtime, accuracy, status."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["run_id", "model", "gpu", "framework", "batch_size", "energy_wh", "runtime_s",
                      "accuracy", "status", "start_time"])
        for i in range(rows):
            model = f"sweep-model-{i // 8:07d}-d{64 << (i % 3)}"
            energy = "n/a" if i % 500 == 499 else f"{0.002 + (i % 997) * 1e-5:.6f}"
            out.writerow([f"{i:032x}", model, GPUS[i % 4], "PyTorch 2.3", 1 << (i % 6), energy,
                          f"{1.5 + (i % 89) * 0.01:.3f}", f"{0.7 + (i % 101) * 0.002:.4f}", "FINISHED",
                          1_700_000_000_000 + i * 1000])


def run_import(table: Path, out: Path, repo: Path = REPO) -> dict:
    """One import in a child process: its wall, CPU, peak RSS, exit code and last stdout line."""
    argv = [sys.executable, "-m", "mlel.importers", "csv", str(table), "--output-dir", str(out), *COMMAND]
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=repo, stdout=stdout, stderr=stderr,
                                 env={**os.environ, "PYTHONPATH": str(repo)})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        lines = stdout.read().decode(errors="replace").strip().splitlines()
        errors = stderr.read().decode(errors="replace").strip().splitlines()
    return {"rc": child.returncode, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "summary": lines[-1] if lines else "",
            "stderr_lines": len(errors), "stderr_tail": errors[-3:]}


def count_files(folder: Path) -> int:
    with os.scandir(folder) as entries:
        return sum(1 for entry in entries if entry.name.endswith(".json"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the table (default 1,000,000)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp folder, removed)")
    parser.add_argument("--once", action="store_true", help="skip the second (idempotent) import")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="the checkout whose mlel imports (e.g. an export of an older commit: before/after)")
    args = parser.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mlel-csv-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        table, out = work / "sweep.csv", work / "records"
        start = time.perf_counter()
        write_table(table, args.rows)
        print(f"table: {args.rows:,} rows, {table.stat().st_size / 1e6:.0f} MB, written in "
              f"{time.perf_counter() - start:.1f} s")
        print(f"command: python -m mlel.importers csv sweep.csv --output-dir records {' '.join(COMMAND)}")
        for label in ("first import", "re-import") if not args.once else ("first import",):
            result = run_import(table, out, args.repo.resolve())
            print(f"{label}: exit {result['rc']}, wall {result['wall_s']:.1f} s, CPU {result['cpu_s']:.1f} s, "
                  f"peak RSS {result['peak_mb']:.0f} MB (goal <= {GOAL_MB} MB: "
                  f"{'met' if result['peak_mb'] <= GOAL_MB else 'NOT met'}), {count_files(out):,} files in "
                  f"records/, {result['stderr_lines']:,} stderr lines")
            print(f"  stdout: {result['summary']}")
            for line in result["stderr_tail"]:
                print(f"  stderr: {line[-160:]}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
