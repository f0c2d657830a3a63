"""The machine's CPU times from ``/proc/stat``, read cheaply (the estimate reads them every interval).

``psutil.cpu_times()`` opens, reads and parses the whole file at each call (~0.2 ms of CPU on a busy
machine); :class:`CpuTimesReader` keeps the file open and ``pread``\\ s its first line, returning the
same named tuple fields as psutil (seconds), so it is a drop-in ``cpu_times`` for the estimate.
"""
from __future__ import annotations

import os
from collections import namedtuple

# psutil's field order for Linux (psutil._pslinux.scputimes)
CpuTimes = namedtuple("CpuTimes", "user nice system idle iowait irq softirq steal guest guest_nice")
_FIRST_LINE_BYTES = 512


class CpuTimesReader:
    """Callable: the machine's cumulative CPU times (s) per state, like ``psutil.cpu_times()``."""

    TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, path: str = "/proc/stat"):
        self._fd = None
        self._fd = os.open(path, os.O_RDONLY)
        self()  # fail now, not in the sampler thread, if the format is not the one we know

    def __call__(self) -> CpuTimes:
        line = os.pread(self._fd, _FIRST_LINE_BYTES, 0).split(b"\n", 1)[0].split()
        if not line or line[0] != b"cpu":
            raise ValueError(f"/proc/stat starts with {line[:1]!r}, not the 'cpu' line")
        values = [int(v) / self.TICKS_PER_S for v in line[1:11]]
        return CpuTimes(*(values + [0.0] * (10 - len(values))))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:  # the estimate meter that holds it has no hook to close it
        self.close()


def cpu_times_reader():
    """A CpuTimesReader where /proc/stat can be read so, else psutil.cpu_times."""
    try:
        return CpuTimesReader()
    except (OSError, ValueError, IndexError):
        import psutil

        return psutil.cpu_times
