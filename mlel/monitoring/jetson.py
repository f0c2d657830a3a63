"""NVIDIA Jetson: the module's INA3221 power rails, read from sysfs in either driver's layout.

- hwmon (mainline ``ina3221`` driver, L4T 34+ / JetPack 5+):
  ``<root>/ina3221/<bus-addr>/hwmon/hwmon*/in{N}_label`` (the rail), ``in{N}_input`` (bus voltage,
  mV) and ``curr{N}_input`` (mA), N = 1..3; power = V × I.
- iio (NVIDIA's ``ina3221x`` driver, L4T 32 / JetPack 4):
  ``<root>/ina3221x/<bus-addr>/iio:device*/rail_name_{N}`` and ``in_power{N}_input`` (mW), N = 0..2.

The root is ``/sys/bus/i2c/drivers``, or ``$MLEL_JETSON_ROOT`` (containers, tests).

Totals, never double counted: the input rail (``VDD_IN``, ``POM_5V_IN`` on the Nano) feeds the whole
module; the CPU, GPU, SoC and CV rails are branches of it. Where an input rail exists it alone is the
run's energy (``power_keys``); every other rail is recorded as a quantity in W and never added (meta
``not_added``). Boards without one (AGX Xavier, AGX Orin: each rail a separate supply) get the sum of
their rails, and meta says so. Written as source ``jetson``, device ``"0"``: one instantaneous power
in W per rail, integrated over the timestamps by the summary. A rail that cannot be read, or reads an
impossible power, is null (never 0) and named in meta ``problems``; an input rail whose reading has
not changed for FROZEN_S is named frozen.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .meters import Discovery, Opened, register_meter, try_open
from .sources import BY_NAME

JETSON = BY_NAME["jetson"].name  # its row in the source table

log = logging.getLogger("mlel.monitoring")

DEFAULT_ROOT = "/sys/bus/i2c/drivers"
ENV_ROOT = "MLEL_JETSON_ROOT"
INPUT_RAILS = ("VDD_IN", "POM_5V_IN")  # the module's input: every other rail is inside it
MAX_RAIL_W = 500.0  # a Jetson module draws < 100 W: more is a broken reading, not power
FROZEN_S = 10.0  # the sensor converts every few ms; an input rail unchanged this long is stuck
_UNUSED = frozenset({"", "NC"})  # channels wired to nothing
_HWMON_LABEL = re.compile(r"^in([1-3])_label$")
_IIO_RAIL = re.compile(r"^rail_name_(\d+)$")


class JetsonUnavailable(RuntimeError):
    """No INA3221 rail could be read; the message says where it looked."""


@dataclass(frozen=True)
class Rail:
    """One INA3221 channel: its key in the series and the files its power is read from."""

    key: str                 # the rail's name ("VDD_IN"), suffixed where two chips repeat one
    files: tuple[Path, ...]  # hwmon: (voltage mV, current mA); iio: (power mW,)
    layout: str              # "hwmon" or "iio"

    def watts(self, raw: list[int]) -> float:
        if self.layout == "hwmon":
            return raw[0] * raw[1] / 1e6  # mV × mA = µW
        return raw[0] / 1e3  # mW


def jetson_root(root=None) -> Path:
    return Path(root or os.environ.get(ENV_ROOT) or DEFAULT_ROOT)


def read_int(path: Path) -> int | None:
    """A sysfs number, or None where it cannot be read (os-level calls: this runs every interval)."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            return int(os.read(fd, 64))
        finally:
            os.close(fd)
    except (OSError, ValueError):
        return None


def _label(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _hwmon_rails(root: Path) -> list[tuple[str, tuple[Path, ...], str]]:
    found = []
    for chip in sorted(root.glob("ina3221/*/hwmon/hwmon*")):
        for entry in sorted(chip.iterdir()):
            m = _HWMON_LABEL.match(entry.name)
            if m and read_int(chip / f"in{m.group(1)}_enable") != 0:  # absent enable file: enabled
                n = m.group(1)
                found.append((_label(entry), (chip / f"in{n}_input", chip / f"curr{n}_input"), "hwmon"))
    return found


def _iio_rails(root: Path) -> list[tuple[str, tuple[Path, ...], str]]:
    found = []
    for chip in sorted(root.glob("ina3221x/*/iio:device*")):
        for entry in sorted(chip.iterdir()):
            m = _IIO_RAIL.match(entry.name)
            if m:
                found.append((_label(entry), (chip / f"in_power{m.group(1)}_input",), "iio"))
    return found


def find_rails(root=None) -> list[Rail]:
    """The connected rails under root (hwmon layout first), each key unique.
    Raises JetsonUnavailable when there is none."""
    root = jetson_root(root)
    rails: list[Rail] = []
    for name, files, layout in _hwmon_rails(root) + _iio_rails(root):
        if name.upper() in _UNUSED:
            continue
        keys = {r.key for r in rails}
        key, n = name, 2
        while key in keys:  # the same rail name on a second chip (carrier boards)
            key, n = f"{name}#{n}", n + 1
        rails.append(Rail(key, files, layout))
    if not rails:
        raise JetsonUnavailable(f"no INA3221 rail under {root} (ina3221/*/hwmon or ina3221x/*/iio:device*)")
    return rails


def energy_rails(rails: list[Rail]) -> tuple[list[str], str]:
    """(the rails whose energy is the run's, why): the input rail alone, else every rail."""
    for name in INPUT_RAILS:
        if any(r.key == name for r in rails):
            return [name], f"{name} feeds the module; the other rails are inside it: recorded, not added"
    return [r.key for r in rails], "no input rail: the sum of the rails (each a separate supply)"


class JetsonMeter:
    """Instantaneous meter: each sample is every rail's power in W (null where unreadable)."""
    source = JETSON
    estimated = False

    def __init__(self, root=None):
        self.root = jetson_root(root)
        self.rails = find_rails(self.root)
        self.energy_keys, self.why = energy_rails(self.rails)
        # shared with the series' _meta (a live list): a problem found mid-run is in the file
        # written at the end; each problem is named once
        self.problems: list[str] = []
        self._named: set[tuple[str, str]] = set()
        self._steady: dict[str, tuple[tuple[int, ...], float]] = {}  # input rail -> (raw, since)
        self.notes = [f"Jetson rail {r.key} unreadable now ({', '.join(map(str, r.files))})"
                      for r in self.rails if self._raw(r) is None]

    def meta(self) -> dict:
        keys = [r.key for r in self.rails]
        return {"power_keys": list(self.energy_keys), "estimated": False,
                "method": f"INA3221 rails ({'/'.join(sorted({r.layout for r in self.rails}))}), "
                          "instantaneous W integrated over time",
                "energy_rails": list(self.energy_keys), "why": self.why,
                "not_added": [k for k in keys if k not in self.energy_keys],
                "root": str(self.root), "problems": self.problems, "units": {k: "W" for k in keys}}

    def _problem(self, rail: str, kind: str, text: str) -> None:
        if (rail, kind) not in self._named:
            self._named.add((rail, kind))
            self.problems.append(text)
            log.warning("monitoring jetson: %s", text)

    @staticmethod
    def _raw(rail: Rail) -> list[int] | None:
        raw = [read_int(path) for path in rail.files]
        return None if None in raw else raw

    def _watts(self, rail: Rail, now: float) -> float | None:
        raw = self._raw(rail)
        if raw is None:
            self._problem(rail.key, "unreadable", f"rail {rail.key} unreadable ({rail.files[0].parent}): null")
            return None
        watts = rail.watts(raw)
        if not 0.0 <= watts <= MAX_RAIL_W:
            self._problem(rail.key, "absurd", f"rail {rail.key} read an impossible {watts:g} W: null")
            return None
        if rail.key in self.energy_keys:
            last, since = self._steady.get(rail.key, (None, now))
            if tuple(raw) != last:
                self._steady[rail.key] = (tuple(raw), now)
            elif now - since >= FROZEN_S:
                self._problem(rail.key, "frozen", f"rail {rail.key} frozen: the same reading for "
                                                  f"{now - since:.3g} s")
        return watts

    def sample(self, now: float) -> dict:
        return {"0": {rail.key: self._watts(rail, now) for rail in self.rails}}

    def close(self) -> None:
        pass


@register_meter(JETSON)
def open_jetson(context: Discovery) -> Opened:
    """The registry's opener: the Jetson module's rails, or why not (no note: most machines are none)."""
    return try_open(JetsonMeter, (JetsonUnavailable, OSError), "no Jetson", _notes)


def _notes(meter: JetsonMeter) -> tuple[str, ...]:
    others = [r.key for r in meter.rails if r.key not in meter.energy_keys]
    tail = f"; {', '.join(others)} recorded, not added" if others else ""
    return (*meter.notes, f"board power measured by Jetson INA3221 rails ({' + '.join(meter.energy_keys)}{tail})")
