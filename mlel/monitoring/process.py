"""psutil meter: CPU and memory of the experiment's process tree (no power: total_power_draw = -1).

One device per run, keyed by the root process id (as in 2022); children (data-loader workers,
subprocesses) are summed into it, so the series keeps a fixed shape however workers come and go.

Cheap by design (it runs every interval beside the workload): on Linux each sample is one
``pread`` of ``/proc/<pid>/stat`` per process on a descriptor kept open (CPU time, RSS, VMS, CPU
number), ~10 µs instead of psutil's ~130 µs; children are found from the tree's own
``/proc/<pid>/task/<tid>/children`` files (not by reading every pid on the machine), every
``CHILD_RESCAN_S``. Elsewhere psutil does the same work.
"""
from __future__ import annotations

import os
import time

from .meters import Discovery, Opened, register_meter
from .sources import PROCESS

# Finding children costs a directory listing and one read per thread of the tree: not every sample.
CHILD_RESCAN_S = 2.0
# CPU % and memory of the tree are context, not energy: read at most this often, whatever the
# power meters' interval (each reading is the average since the previous one, so nothing is missed).
MIN_INTERVAL_S = 0.4
# USS/PSS come from /proc/<pid>/smaps_rollup, a page-table walk whose cost grows with the process's
# memory (0.4 ms here, milliseconds for a large model) and which takes the process's mmap lock:
# read them this often; the samples between carry None (left out of the statistics).
USS_EVERY_S = 4.0
PERCENT = 100.0
_STAT_BYTES = 4096


def _linux_proc() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/stat") and hasattr(os, "pread")


class _ProcStat:
    """One process's /proc/<pid>/stat, read through a descriptor kept open (ESRCH once it exits)."""

    TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def __init__(self, pid: int, now: float):
        self.pid = pid
        self.fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        self.cpu_s, _, _, _ = self.read()
        self.t = now

    def read(self) -> tuple[float, int, int, int]:
        """(CPU seconds, RSS bytes, VMS bytes, CPU number); OSError once the process is gone."""
        raw = os.pread(self.fd, _STAT_BYTES, 0)
        if not raw:
            raise ProcessLookupError(self.pid)
        fields = raw[raw.rindex(b")") + 2:].split()  # after "pid (comm) ": field 3 is fields[0]
        cpu_s = (int(fields[11]) + int(fields[12])) / self.TICKS_PER_S
        return cpu_s, int(fields[21]) * self.PAGE_BYTES, int(fields[20]), int(fields[36])

    def cpu_percent(self, cpu_s: float, now: float) -> float:
        dt = now - self.t
        percent = (cpu_s - self.cpu_s) / dt * PERCENT if dt > 0 else 0.0
        self.cpu_s, self.t = cpu_s, now
        return percent

    def close(self) -> None:
        os.close(self.fd)


def children_of(pid: int) -> list[int]:
    """Direct children of a process, from the children file of each of its threads."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                out.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
    return out


class ProcessMeter:
    source = PROCESS
    estimated = False
    min_interval_s = MIN_INTERVAL_S

    def __init__(self, pid: int | None = None, *, fast: bool | None = None):
        import psutil  # a hard dependency; imported here so the package imports without it

        self._psutil = psutil
        self.pid = os.getpid() if pid is None else pid
        self.root = psutil.Process(self.pid)
        self.fast = _linux_proc() and os.path.exists(f"/proc/{self.pid}/task/{self.pid}/children") \
            if fast is None else fast
        self._procs: dict = {}  # pid -> _ProcStat (fast) or psutil.Process
        self._next_scan = 0.0
        self._next_uss = 0.0
        now = time.time()
        self._add(self.pid, now)
        self._rescan(now)

    def meta(self) -> dict:
        return {"power_keys": [], "device": "process tree of pid %d" % self.pid,
                "units": {"cpu_percent": "% of one CPU, summed over the tree", "mem_*": "bytes"}}

    def _add(self, pid: int, now: float) -> None:
        try:
            if self.fast:
                self._procs[pid] = _ProcStat(pid, now)
            else:
                proc = self.root if pid == self.pid else self._psutil.Process(pid)
                proc.cpu_percent()  # prime: psutil's first cpu_percent of a Process is always 0
                self._procs[pid] = proc
        except (OSError, self._psutil.Error):
            pass  # gone before we looked

    def _tree(self) -> list[int]:
        if not self.fast:
            return [c.pid for c in self.root.children(recursive=True)]
        found, todo = [], [self.pid]
        while todo:
            kids = children_of(todo.pop())
            found.extend(kids)
            todo.extend(kids)
        return found

    def _rescan(self, now: float) -> None:
        try:
            for pid in self._tree():
                if pid not in self._procs:
                    self._add(pid, now)
        except (OSError, self._psutil.Error):
            pass  # the root itself is gone: the samples say so (None)
        self._next_scan = now + CHILD_RESCAN_S

    def _drop(self, pid: int) -> None:
        proc = self._procs.pop(pid)
        if self.fast:
            proc.close()

    def _read_fast(self, pid: int, proc: _ProcStat, now: float, totals: dict) -> int:
        cpu_s, rss, vms, cpu_num = proc.read()
        totals["cpu_percent"] += proc.cpu_percent(cpu_s, now)
        totals["mem_rss"] += rss
        totals["mem_vms"] += vms
        return cpu_num

    def _read_psutil(self, pid: int, proc, totals: dict) -> int:
        with proc.oneshot():
            totals["cpu_percent"] += proc.cpu_percent()
            mem = proc.memory_info()
            cpu_num = proc.cpu_num() if hasattr(proc, "cpu_num") else -1
        totals["mem_rss"] += mem.rss
        totals["mem_vms"] += mem.vms
        return cpu_num

    def _add_uss(self, pid: int, totals: dict) -> None:
        mem = self._psutil.Process(pid).memory_full_info() if self.fast else self._procs[pid].memory_full_info()
        totals["mem_uss"] += getattr(mem, "uss", 0)
        totals["mem_pss"] += getattr(mem, "pss", 0)

    def sample(self, now: float) -> dict | None:
        if now >= self._next_scan:
            self._rescan(now)
        full = now >= self._next_uss
        if full:
            self._next_uss = now + USS_EVERY_S
        totals = {"cpu_percent": 0.0, "mem_rss": 0, "mem_vms": 0, "mem_uss": 0, "mem_pss": 0}
        alive, cpu_num = 0, -1
        for pid, proc in list(self._procs.items()):
            try:
                num = self._read_fast(pid, proc, now, totals) if self.fast else \
                    self._read_psutil(pid, proc, totals)
                if full:
                    self._add_uss(pid, totals)
            except (ProcessLookupError, FileNotFoundError, self._psutil.NoSuchProcess,
                    self._psutil.ZombieProcess):
                self._drop(pid)
                continue
            except (PermissionError, self._psutil.AccessDenied):
                continue
            alive += 1
            if pid == self.pid:
                cpu_num = num
        if not alive:
            return None
        if not full:
            totals["mem_uss"] = totals["mem_pss"] = None
        return {str(self.pid): {"cpu_num": cpu_num, **totals, "num_processes": alive}}

    def close(self) -> None:
        for pid in list(self._procs):
            self._drop(pid)



@register_meter(PROCESS)
def open_process(context: Discovery) -> Opened:
    """The registry's opener: the process tree's meter (no power), or a note without psutil."""
    try:
        return Opened(ProcessMeter())
    except ImportError as exc:
        return Opened(None, (f"process monitoring off: {exc}",))
