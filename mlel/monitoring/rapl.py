"""RAPL through Linux powercap sysfs (Intel and AMD both use the ``intel-rapl`` naming).

Per socket the ``package-N`` zone and its ``dram`` subzone are read; ``core``/``uncore`` subzones are
inside the package and ``psys`` contains it, so those are never added. Counters (µJ) wrap at
``max_energy_range_uj``. Written as source ``pyrapl`` in the 2022 form: one device ``"0"`` with
interval-average powers ``package-N`` and ``package-N.dram`` in W and the interval ``duration`` in s,
plus ``energy``: the J of all zones in the interval, from the counters (the total never goes µJ → W → J).
The root is ``/sys/class/powercap``, or ``$MLEL_POWERCAP_ROOT`` (containers, tests).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mlel.base.units import uj_to_j

from .meters import Discovery, Opened, register_meter, try_open
from .sources import RAPL

DEFAULT_ROOT = "/sys/class/powercap"
ENERGY_KEY = "energy"  # J of all zones in each interval, straight from the counters
ENV_ROOT = "MLEL_POWERCAP_ROOT"
_ZONE = re.compile(r"^(intel|amd)-rapl:(\d+)$")
_PACKAGE = re.compile(r"^package-(\d+)$")

PERMISSION_FIX = (
    "RAPL energy counters are root-only since the PLATYPUS fix (CVE-2020-8694). To measure CPU power, "
    "make them readable: `sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj "
    "/sys/class/powercap/intel-rapl:*/intel-rapl:*/energy_uj` (until reboot), or for good a udev rule "
    "in /etc/udev/rules.d/99-rapl.rules: "
    'ACTION=="add", SUBSYSTEM=="powercap", RUN+="/bin/chmod a+r /sys%p/energy_uj"')


class RaplUnavailable(RuntimeError):
    """No usable RAPL package counter; the message says why (and how to fix permissions)."""


@dataclass(frozen=True)
class Zone:
    key: str            # "package-0" or "package-0.dram"
    energy_path: Path
    max_range_uj: int


def powercap_root(root=None) -> Path:
    return Path(root or os.environ.get(ENV_ROOT) or DEFAULT_ROOT)


def _read_int(path: Path) -> int:
    with open(path) as fh:
        return int(fh.read().strip())


def _zone(path: Path, key: str) -> Zone:
    try:
        max_range = _read_int(path / "max_energy_range_uj")
    except (OSError, ValueError):
        max_range = 2**32 * 1000  # generous: a wrap is then never assumed within one interval
    return Zone(key, path / "energy_uj", max_range)


def find_zones(root=None) -> tuple[list[Zone], list[str]]:
    """The package and dram zones under root, each checked readable, and notes on what was skipped.
    Raises RaplUnavailable when no package counter can be read."""
    root = powercap_root(root)
    if not root.is_dir():
        raise RaplUnavailable(f"no powercap interface at {root}")
    zones, notes, denied = [], [], []
    for entry in sorted(root.iterdir()):
        if not _ZONE.match(entry.name):
            continue  # e.g. intel-rapl-mmio:0 duplicates package-0 on some laptops
        try:
            name = (entry / "name").read_text().strip()
        except OSError:
            continue
        m = _PACKAGE.match(name)
        if not m:
            continue  # psys (platform) contains the packages
        pkg = f"package-{m.group(1)}"
        candidates = [_zone(entry, pkg)]
        for sub in sorted(entry.glob(entry.name + ":*")):
            try:
                sub_name = (sub / "name").read_text().strip()
            except OSError:
                continue
            if sub_name == "dram":  # core/uncore are parts of the package: never added
                candidates.append(_zone(sub, f"{pkg}.dram"))
        for zone in candidates:
            try:
                _read_int(zone.energy_path)
            except PermissionError:
                denied.append(str(zone.energy_path))
                if zone.key == pkg:
                    break  # without the package counter the socket is not measured
                notes.append(f"RAPL {zone.key} not readable ({zone.energy_path}); DRAM not measured. "
                             + PERMISSION_FIX)
                continue
            except (OSError, ValueError) as exc:
                notes.append(f"RAPL {zone.key} unreadable ({exc}); skipped")
                continue
            zones.append(zone)
    if denied and not any("." not in z.key for z in zones):
        raise RaplUnavailable(f"permission denied reading {', '.join(denied)}. " + PERMISSION_FIX)
    if not any("." not in z.key for z in zones):
        raise RaplUnavailable(f"no readable RAPL package zone under {root}")
    return zones, notes


def counter_delta(before: int, after: int, max_range_uj: int) -> int:
    """µJ between two readings of a counter that wraps to 0 after max_range_uj."""
    return after - before if after >= before else after + max_range_uj - before


class RaplMeter:
    """Interval meter: each sample is the average power of every zone since the previous sample."""
    source = RAPL
    estimated = False

    def __init__(self, root=None):
        self.root = powercap_root(root)
        self.zones, self.notes = find_zones(self.root)
        self._last = None

    def meta(self) -> dict:
        keys = [z.key for z in self.zones]
        return {"power_keys": keys, "interval_energy_key": ENERGY_KEY, "estimated": False,
                "method": "powercap RAPL counters", "root": str(self.root),
                "units": {**{k: "W" for k in keys}, "duration": "s", ENERGY_KEY: "J in the interval"}}

    def read(self) -> list[int]:
        return [_read_int(z.energy_path) for z in self.zones]

    def sample(self, now: float) -> dict | None:
        reading = (now, self.read())
        last, self._last = self._last, reading
        if last is None:
            return None  # priming: an interval needs two readings
        dt = now - last[0]
        out = {"duration": dt}
        joules = [uj_to_j(counter_delta(c0, c1, zone.max_range_uj))
                  for zone, c0, c1 in zip(self.zones, last[1], reading[1])]
        for zone, zone_j in zip(self.zones, joules):
            out[zone.key] = zone_j / dt if dt > 0 else 0.0  # the 2022 quantities: average W
        out[ENERGY_KEY] = math.fsum(joules)  # the energy itself, in J: never back from W x s
        return {"0": out}

    def close(self) -> None:
        pass


@register_meter(RAPL)
def open_rapl(context: Discovery) -> Opened:
    """The registry's opener: the CPU's RAPL meter, or why not (the estimate says it)."""
    return try_open(RaplMeter, (RaplUnavailable, OSError), "no RAPL", lambda meter: (
        *meter.notes, f"CPU power measured by RAPL ({', '.join(z.key for z in meter.zones)})"))
