"""Simulated sysfs trees for the Jetson and amd_energy meters, with the simulated truth to compare.

- FakeJetson: INA3221 rails in either driver's layout (hwmon: in{N}_label/in{N}_input mV/
  curr{N}_input mA, N = 1..3; iio: rail_name_{N}/in_power{N}_input mW, N = 0..2), one chip per
  tuple of rail names, under ``<root>/ina3221`` or ``<root>/ina3221x``.
- FakeAmdEnergy: ``hwmon*/name == amd_energy`` with Esocket and Ecore counters in µJ (wrapping at
  2**64), plus an unrelated hwmon; counters advance at known watts with a clock.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def _write(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{value}\n")
    os.replace(tmp, path)  # sysfs reads are atomic: never a half-written number


class FakeJetson:
    """chips: tuples of rail names (one INA3221 each, "NC" for an unwired channel); watts: rail -> W;
    volts: rail -> V (hwmon's bus voltage; 5 V by default)."""

    def __init__(self, root, chips, watts: dict, layout: str = "hwmon", volts: dict | None = None):
        self.root, self.layout = Path(root), layout
        self.volts = {rail: 5.0 for chip in chips for rail in chip} | dict(volts or {})
        self.files: dict[str, tuple[Path, ...]] = {}
        for c, chip in enumerate(chips):
            addr = f"1-004{c}"
            if layout == "hwmon":
                d = self.root / "ina3221" / addr / "hwmon" / f"hwmon{c + 3}"
                d.mkdir(parents=True)
                (d / "name").write_text("ina3221\n")
                for n, rail in enumerate(chip, start=1):
                    (d / f"in{n}_label").write_text(rail + "\n")
                    (d / f"in{4 + n}_input").write_text("123\n")  # shunt µV: not a rail
                    self.files.setdefault(rail, (d / f"in{n}_input", d / f"curr{n}_input"))
            else:
                d = self.root / "ina3221x" / addr / f"iio:device{c}"
                d.mkdir(parents=True)
                for n, rail in enumerate(chip):
                    (d / f"rail_name_{n}").write_text(rail + "\n")
                    self.files.setdefault(rail, (d / f"in_power{n}_input",))
                    (d / f"in_current{n}_input").write_text("0\n")
                    (d / f"in_voltage{n}_input").write_text("5000\n")
        self.set(watts)

    def set(self, watts: dict) -> None:
        for rail, w in watts.items():
            files = self.files[rail]
            if self.layout == "hwmon":
                mv = round(self.volts[rail] * 1000)
                _write(files[0], mv)
                _write(files[1], round(w * 1e6 / mv))  # mA
            else:
                _write(files[0], round(w * 1000))  # mW

    def chip_dir(self, rail: str) -> Path:
        return self.files[rail][0].parent


class FakeAmdEnergy:
    """sockets: socket -> W; cores: Ecore counters (given a large power: never to be added)."""

    def __init__(self, root, sockets: dict, cores: int = 4, start_uj: int = 0, core_w: float = 50.0):
        self.root = Path(root)
        self.watts = {f"Esocket{s}": w for s, w in sockets.items()}
        self.watts |= {f"Ecore{c:03d}": core_w for c in range(cores)}
        self.joules = {label: 0.0 for label in self.watts}  # truth since creation
        self.start_uj = start_uj
        self.frozen: set[str] = set()
        self.offset_uj = {label: 0 for label in self.watts}
        self.paths: dict[str, Path] = {}
        other = self.root / "hwmon0"  # an unrelated sensor that also has energy files
        other.mkdir(parents=True)
        (other / "name").write_text("k10temp\n")
        (other / "energy1_label").write_text("Esocket0\n")
        (other / "energy1_input").write_text("1\n")
        d = self.root / "hwmon1"
        d.mkdir()
        (d / "name").write_text("amd_energy\n")
        labels = [f"Ecore{c:03d}" for c in range(cores)] + [f"Esocket{s}" for s in sockets]
        for n, label in enumerate(labels, start=1):  # the driver lists cores first, sockets last
            (d / f"energy{n}_label").write_text(label + "\n")
            self.paths[label] = d / f"energy{n}_input"
        self.t: float | None = None
        self._lock = threading.RLock()
        self._write()

    def counter_uj(self, label: str) -> int:
        return (self.start_uj + round(self.joules[label] * 1e6) + self.offset_uj[label]) % 2**64

    def _write(self) -> None:
        for label, path in self.paths.items():
            if label not in self.frozen:
                _write(path, self.counter_uj(label))

    def advance(self, seconds: float) -> None:
        with self._lock:
            for label in self.joules:
                self.joules[label] += self.watts[label] * seconds
            self._write()

    def clock(self) -> float:
        """The monitor's clock: the counters advance to wall-clock time as it is read."""
        with self._lock:
            now = time.time()
            if self.t is not None and now > self.t:
                self.advance(now - self.t)
            self.t = now if self.t is None else max(self.t, now)
            return now
