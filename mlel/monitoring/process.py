"""psutil meter: CPU and memory of the experiment's process tree (no power: total_power_draw = -1).

One device per run, keyed by the root process id (as in 2022); children (data-loader workers,
subprocesses) are summed into it, so the series keeps a fixed shape however workers come and go.
"""
from __future__ import annotations

import os

# Finding children walks every pid on the machine (~1.5 ms); rescan this often, not every sample.
CHILD_RESCAN_S = 2.0
# USS/PSS come from /proc/<pid>/smaps_rollup, a page-table walk whose cost grows with the process's
# memory (0.2 ms here, milliseconds for a large model) and which takes the process's mmap lock:
# read them this often; the samples between carry None (left out of the statistics).
USS_EVERY_S = 2.0


class ProcessMeter:
    source = "psutil"
    estimated = False

    def __init__(self, pid: int | None = None):
        import psutil  # a hard dependency; imported here so the package imports without it

        self._psutil = psutil
        self.pid = os.getpid() if pid is None else pid
        self.root = psutil.Process(self.pid)
        self._procs = {self.pid: self.root}
        self._next_scan = 0.0
        self._next_uss = 0.0
        self.root.cpu_percent()  # prime: psutil's first cpu_percent of a Process is always 0
        self._rescan(0.0)

    def meta(self) -> dict:
        return {"power_keys": [], "device": "process tree of pid %d" % self.pid,
                "units": {"cpu_percent": "% of one CPU, summed over the tree", "mem_*": "bytes"}}

    def _rescan(self, now: float) -> None:
        try:
            for child in self.root.children(recursive=True):
                if child.pid not in self._procs:
                    child.cpu_percent()
                    self._procs[child.pid] = child
        except self._psutil.Error:
            pass
        self._next_scan = (now or 0.0) + CHILD_RESCAN_S

    def sample(self, now: float) -> dict | None:
        if now >= self._next_scan:
            self._rescan(now)
        full = now >= self._next_uss
        if full:
            self._next_uss = now + USS_EVERY_S
        totals = {"cpu_percent": 0.0, "mem_rss": 0, "mem_vms": 0, "mem_uss": 0, "mem_pss": 0}
        alive = 0
        cpu_num = -1
        for pid, proc in list(self._procs.items()):
            try:
                with proc.oneshot():
                    totals["cpu_percent"] += proc.cpu_percent()
                    mem = proc.memory_full_info() if full else proc.memory_info()
                    if pid == self.pid and hasattr(proc, "cpu_num"):
                        cpu_num = proc.cpu_num()
            except (self._psutil.NoSuchProcess, self._psutil.ZombieProcess):
                del self._procs[pid]
                continue
            except self._psutil.AccessDenied:
                continue
            alive += 1
            totals["mem_rss"] += mem.rss
            totals["mem_vms"] += mem.vms
            totals["mem_uss"] += getattr(mem, "uss", 0)
            totals["mem_pss"] += getattr(mem, "pss", 0)
        if not alive:
            return None
        if not full:
            totals["mem_uss"] = totals["mem_pss"] = None
        return {str(self.pid): {"cpu_num": cpu_num, **totals, "num_processes": alive}}

    def close(self) -> None:
        pass
