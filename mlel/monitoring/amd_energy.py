"""AMD CPUs on kernels whose powercap has no AMD zone (before 5.11): the ``amd_energy`` hwmon driver.

``<root>/hwmon*/name`` is ``amd_energy``; ``energy{N}_label`` names a counter, ``Esocket<S>`` for a
socket or ``Ecore<NNN>`` for a core, and ``energy{N}_input`` is its energy in µJ (the driver widens
the 32-bit RAPL registers to 64 bits; a counter wraps at WRAP_UJ). Only the socket counters are read:
the cores are inside their socket, so adding them would count them twice (and reading a hundred core
files every interval would cost more than the monitor's budget). The root is ``/sys/class/hwmon``,
or ``$MLEL_AMD_ENERGY_ROOT`` (containers, tests).

Written as source ``amd_energy`` in RAPL's form: device ``"0"`` with the interval-average power of
each socket (``package-S``, W), the interval ``duration`` (s) and ``energy``, the J of all sockets in
the interval from the counters. The registry opens it only where no other sensor measured the CPU
(RAPL is tried first). A counter that has not moved for FROZEN_S, or moved by an impossible amount
(a reset, a backwards jump), makes its values null — never 0 — and is named in meta ``problems``.
"""
from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mlel.base.units import uj_to_j

from .meters import Discovery, Opened, register_meter, try_open
from .sources import BY_NAME

AMD_ENERGY = BY_NAME["amd_energy"].name  # its row in the source table

log = logging.getLogger("mlel.monitoring")

DEFAULT_ROOT = "/sys/class/hwmon"
ENV_ROOT = "MLEL_AMD_ENERGY_ROOT"
DRIVER = "amd_energy"
ENERGY_KEY = "energy"  # J of all sockets in each interval, straight from the counters
WRAP_UJ = 2**64  # the driver's 64-bit accumulator
MAX_SOCKET_W = 1000.0  # above any socket's power: a larger step is a broken counter
FROZEN_S = 1.0  # the registers update every ms; a socket counter still for this long is stuck
_SOCKET = re.compile(r"^Esocket(\d+)$")
_CORE = re.compile(r"^Ecore\d+$")

PERMISSION_FIX = ("amd_energy counters are root-only (CVE-2020-12912). To measure CPU power, make them "
                  "readable: `sudo chmod a+r /sys/class/hwmon/hwmon*/energy*_input` (until reboot)")


class AmdEnergyUnavailable(RuntimeError):
    """No readable amd_energy socket counter; the message says why."""


@dataclass(frozen=True)
class Counter:
    key: str    # "package-0"
    label: str  # "Esocket0"
    path: Path  # .../energy1_input


@dataclass
class _State:
    """What a counter last read: its value, when it last changed, whether it is named frozen."""

    value: int
    since: float
    frozen: bool = False
    named: set = field(default_factory=set)


def hwmon_root(root=None) -> Path:
    return Path(root or os.environ.get(ENV_ROOT) or DEFAULT_ROOT)


def read_int(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY)  # os-level calls: this runs every interval
    try:
        return int(os.read(fd, 64))
    finally:
        os.close(fd)


def _maybe_int(path: Path) -> int | None:
    try:
        return read_int(path)
    except (OSError, ValueError):
        return None


def _text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def find_counters(root=None) -> tuple[list[Counter], int]:
    """(the readable socket counters of every amd_energy hwmon under root, the core counters left
    out). Raises AmdEnergyUnavailable when no socket counter can be read."""
    root = hwmon_root(root)
    counters, cores, denied = [], 0, []
    for hwmon in sorted(root.glob("hwmon*")):
        if _text(hwmon / "name") != DRIVER:
            continue
        for label_file in sorted(hwmon.glob("energy*_label")):
            label = _text(label_file)
            cores += bool(_CORE.match(label))
            m = _SOCKET.match(label)
            if not m:
                continue
            path = hwmon / label_file.name.replace("_label", "_input")
            try:
                read_int(path)
            except PermissionError:
                denied.append(str(path))
                continue
            except (OSError, ValueError):
                continue
            counters.append(Counter(f"package-{m.group(1)}", label, path))
    counters.sort(key=lambda c: int(c.key.split("-")[1]))  # socket order, not energy10 < energy9
    if not counters:
        why = f"permission denied reading {', '.join(denied)}. {PERMISSION_FIX}" if denied else \
            f"no {DRIVER} socket counter under {root}"
        raise AmdEnergyUnavailable(why)
    return counters, cores


def counter_delta(before: int, after: int, wrap_uj: int = WRAP_UJ) -> int:
    """µJ between two readings of a counter that wraps to 0 after wrap_uj."""
    return after - before if after >= before else after + wrap_uj - before


class AmdEnergyMeter:
    """Interval meter: each sample is every socket's average power since the previous sample."""
    source = AMD_ENERGY
    estimated = False

    def __init__(self, root=None):
        self.root = hwmon_root(root)
        self.counters, self.cores_left_out = find_counters(self.root)
        # shared with the series' _meta (a live list): a problem found mid-run is in the file
        self.problems: list[str] = []
        self._states: list[_State] | None = None
        self._t: float | None = None

    def meta(self) -> dict:
        keys = [c.key for c in self.counters]
        return {"power_keys": keys, "interval_energy_key": ENERGY_KEY, "estimated": False,
                "method": "amd_energy hwmon socket counters", "root": str(self.root),
                "labels": {c.key: c.label for c in self.counters},
                "not_added": f"{self.cores_left_out} core counters (inside their sockets)",
                "problems": self.problems,
                "units": {**{k: "W" for k in keys}, "duration": "s", ENERGY_KEY: "J in the interval"}}

    def _problem(self, counter: Counter, state: _State, kind: str, text: str) -> None:
        if kind not in state.named:
            state.named.add(kind)
            self.problems.append(f"{counter.label} ({counter.path}): {text}")
            log.warning("monitoring amd_energy: %s", self.problems[-1])

    def _step(self, counter: Counter, state: _State, value: int | None, now: float
              ) -> tuple[float | None, float | None]:
        """(J since the counter's last change, its J in this interval's total): (None, 0.0) for a
        counter that has not moved yet (its energy comes with its next change), (None, None) for
        one unreadable, frozen or broken (the interval's energy is then unknown, never partial)."""
        if value is None:
            self._problem(counter, state, "unreadable", "unreadable: null")
            return None, None
        if value == state.value:
            if now - state.since < FROZEN_S:
                return None, 0.0
            state.frozen = True
            self._problem(counter, state, "frozen", f"frozen: no change in {now - state.since:.3g} s")
            return None, None
        span, was_frozen = now - state.since, state.frozen
        delta = counter_delta(state.value, value)
        state.value, state.since, state.frozen = value, now, False
        if was_frozen:
            return None, None  # the step out of a freeze covers an unknown span: not counted
        if span <= 0 or delta > MAX_SOCKET_W * span * 1e6:
            self._problem(counter, state, "absurd",
                          f"impossible step of {delta} µJ in {span:.3g} s (reset or backwards jump): null")
            return None, None
        joules = uj_to_j(delta)
        return joules, joules

    def sample(self, now: float) -> dict | None:
        values = [_maybe_int(c.path) for c in self.counters]
        if self._states is None:
            if None in values:
                raise OSError("an amd_energy socket counter is unreadable")  # counted by the recorder
            self._states, self._t = [_State(v, now) for v in values], now
            return None  # priming: an interval needs two readings
        dt, self._t = now - self._t, now
        out: dict = {"duration": dt}
        terms = []
        for counter, state, value in zip(self.counters, self._states, values):
            since = state.since
            joules, term = self._step(counter, state, value, now)
            out[counter.key] = None if joules is None else joules / (now - since)  # over its span
            terms.append(term)
        out[ENERGY_KEY] = None if None in terms else math.fsum(terms)
        return {"0": out}

    def close(self) -> None:
        pass


@register_meter(AMD_ENERGY)
def open_amd_energy(context: Discovery) -> Opened:
    """The registry's opener: the AMD sockets' counters, or why not (the estimate says RAPL's)."""
    return try_open(AmdEnergyMeter, (AmdEnergyUnavailable, OSError), "no amd_energy", lambda meter: (
        f"CPU power measured by amd_energy ({', '.join(c.label for c in meter.counters)}; cores not added)",))
