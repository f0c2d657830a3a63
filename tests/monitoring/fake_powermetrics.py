#!/usr/bin/env python3
"""A stand-in for macOS ``powermetrics -f plist``: NUL-separated plist documents at fixed powers.

Takes powermetrics' own arguments (``--samplers``, ``-f plist``, ``-i <ms>``) and, from the
environment, what to simulate:

- ``FAKE_PM_WATTS``: ``cpu=4,gpu=10,ane=1.5`` — the powers written (mW in the plist, as powermetrics);
- ``FAKE_PM_MODE``: comma list of ``superuser`` (refuse as powermetrics does without root),
  ``freeze_after=N`` (stop writing after N documents, stay alive), ``exit_after=N``,
  ``drop=KEY+KEY`` (leave those ``processor`` keys out), ``energy_only`` (``*_energy`` mJ, no
  ``*_power``), ``no_elapsed`` (no ``elapsed_ns``), ``absurd=KEY:VALUE`` (one ``processor`` value);
- ``FAKE_PM_PIDFILE``: where to write its own pid.

Each document's ``elapsed_ns`` is the time since the previous one (the first: since start), as the
real tool's: the energy over a window is then power × window whatever the scheduling.
"""
import datetime
import os
import plistlib
import sys
import time


def _options():
    args = sys.argv[1:]
    period_ms = int(args[args.index("-i") + 1]) if "-i" in args else 5000
    watts = dict(item.split("=") for item in os.environ.get("FAKE_PM_WATTS", "cpu=4,gpu=10,ane=1.5").split(","))
    modes = {}
    for item in filter(None, os.environ.get("FAKE_PM_MODE", "").split(",")):
        key, _, value = item.partition("=")
        modes[key] = value
    return period_ms / 1000.0, {k: float(v) for k, v in watts.items()}, modes


def _cluster(name: str, cpus: range) -> dict:
    """A cluster as the cpu_power sampler writes it (what makes a document its real size)."""
    states = [{"freq": f, "used_ns": 1000 * f} for f in (600, 972, 1332, 1704, 2064)]
    return {"name": name, "freq_hz": 1.8e9, "idle_ns": 90_000_000, "idle_ratio": 0.9, "dvfm_states": states,
            "cpus": [{"cpu": c, "freq_hz": 1.9e9, "idle_ns": 80_000_000, "idle_ratio": 0.8,
                      "dvfm_states": states} for c in cpus]}


def _document(elapsed_s: float, watts: dict, modes: dict) -> bytes:
    processor = {"clusters": [_cluster("E-Cluster", range(4)), _cluster("P-Cluster", range(4, 8))]}
    for device, w in watts.items():
        if "energy_only" not in modes:
            processor[f"{device}_power"] = w * 1000.0
        processor[f"{device}_energy"] = round(w * elapsed_s * 1000.0)
    processor["combined_power"] = sum(watts.values()) * 1000.0
    for key in filter(None, modes.get("drop", "").split("+")):
        processor.pop(key, None)
    if "absurd" in modes:
        key, value = modes["absurd"].split(":")
        processor[key] = float(value)
    doc = {"is_delta": True, "hw_model": "Mac14,2", "kern_osversion": "23A344",
           "timestamp": datetime.datetime.now().replace(microsecond=0), "processor": processor,
           "gpu": {"freq_hz": 1.2e9, "idle_ratio": 0.4, "dvfm_states": []},
           "thermal_pressure": "Nominal"}
    if "no_elapsed" not in modes:
        doc["elapsed_ns"] = int(elapsed_s * 1e9)
    return plistlib.dumps(doc)


def main() -> int:
    period_s, watts, modes = _options()
    if "FAKE_PM_PIDFILE" in os.environ:
        with open(os.environ["FAKE_PM_PIDFILE"], "w") as fh:
            fh.write(str(os.getpid()))
    if "superuser" in modes:
        sys.stderr.write("powermetrics must be invoked as the superuser\n")
        return 1
    out = sys.stdout.buffer
    last, written = time.monotonic(), 0
    next_t = last + period_s
    while True:
        if written == int(modes.get("exit_after", -1)):
            return 0
        if written == int(modes.get("freeze_after", -1)):
            while True:
                time.sleep(3600)  # alive, silent: a frozen stream
        time.sleep(max(0.0, next_t - time.monotonic()))
        now = time.monotonic()
        out.write(_document(now - last, watts, modes) + b"\0")
        out.flush()
        last, written = now, written + 1
        next_t = max(next_t + period_s, now)


if __name__ == "__main__":
    sys.exit(main())
