"""Overhead of measure() on a fixed CPU workload: wall time with and without monitoring.

    python bench/monitor_overhead.py [--pairs 20] [--work 1.5e7] [--interval 0.1]

Runs the same pure-Python workload (the worst case: the monitor's threads compete for the GIL)
bare and inside ``measure(tmpdir, interval)``, interleaved and in alternating order so drifts in
machine load hit both alike. Prints per pair the times and the ratio, then the median ratio of the
workload itself (goal <= 1.005) and of the whole block including measure()'s start and stop, and
the monitor threads' own CPU time per second of workload (goal <= 5 ms/s, i.e. a bound <= 1.005).
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlel.monitoring import measure  # noqa: E402


def workload(n: int) -> int:
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % 1_000_003
    return acc


def bare(n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    workload(n)
    t = time.perf_counter() - t0
    return t, t


def monitored(n: int, interval: float, out: Path) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    with measure(out, interval=interval) as m:
        t1 = time.perf_counter()
        workload(n)
        t2 = time.perf_counter()
    cpu = sum(sampler.cpu_s for sampler in m.samplers)
    return t2 - t1, time.perf_counter() - t0, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--work", type=float, default=1.5e7, help="loop iterations per run (~1 s)")
    ap.add_argument("--interval", type=float, default=0.1)
    args = ap.parse_args(argv)
    n = int(args.work)
    logging.getLogger("mlel.monitoring").setLevel(logging.ERROR)  # the "estimated" notice, once per run
    workload(n // 10)  # warm up
    ratios, block_ratios, bares, mons, cpu_share = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.pairs):
            out = Path(tmp) / f"run{k}"
            if k % 2 == 0:
                b = bare(n)
                m = monitored(n, args.interval, out)
            else:
                m = monitored(n, args.interval, out)
                b = bare(n)
            bares.append(b[0])
            mons.append(m[0])
            ratios.append(m[0] / b[0])
            cpu_share.append(m[2] / m[0])
            block_ratios.append(m[1] / b[1])
            print(f"pair {k}: bare {b[0]:.3f} s, monitored {m[0]:.3f} s (block {m[1]:.3f} s), "
                  f"ratio {ratios[-1]:.4f}, monitor threads' CPU {1000 * m[2]:.1f} ms", flush=True)
    print(f"median wall-time ratio, workload: {statistics.median(ratios):.4f} (goal <= 1.005); "
          f"whole block incl. start/stop: {statistics.median(block_ratios):.4f}; "
          f"fastest monitored / fastest bare: {min(mons) / min(bares):.4f} "
          f"(robust to other load on the machine)")
    # With a GIL-bound workload, the monitor threads' CPU time is time taken from it: a noise-free
    # upper bound of the overhead, where wall times on a shared machine scatter by several %.
    print(f"monitor threads' CPU time per second of workload: {statistics.median(cpu_share):.4f} s "
          f"-> overhead bound {1 + statistics.median(cpu_share):.4f}")
    # CPU time per wake-up grows with the machine's load (cold caches after each context switch):
    # read the bound next to the load it was measured under
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
