"""Apple silicon: CPU, GPU and ANE power of the SoC (source ``apple_silicon``, devices cpu/gpu/ane).

Two readers, one source. Where the optional package ``zeus-apple-silicon`` imports (IOReport's
"Energy Model" counters, no root needed), :class:`IOReportMeter` reads its cumulative mJ counters
like RAPL's. Else :class:`PowermetricsMeter` starts ``powermetrics --samplers
cpu_power,gpu_power,ane_power -f plist -i <ms>`` (``$MLEL_POWERMETRICS`` overrides the path, and
picks powermetrics over IOReport) and reads its stream — plist documents separated by NUL bytes —
on a thread with plistlib. Each document is one span of ``elapsed_ns`` ending when it arrived,
with the average powers of the span (``processor.<dev>_power`` in mW, else ``<dev>_energy`` in mJ
over the span). A sample gives per device the energy (J) and average power (W) since the previous
sample: the spans' parts inside it, the not-yet-reported end at the latest power (corrected by the
next spans). A field that is absent or implausible is null, never 0; a stream that stops or a
process that exits is raised as a named error (the recorder keeps it as the series' ``last_error``).

powermetrics needs root; this module never calls sudo (see :data:`ROOT_HELP`).
"""
from __future__ import annotations

import collections
import logging
import math
import os
import plistlib
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Mapping

from mlel.base.units import mj_to_j, mw_to_w

from .meters import Discovery, Opened, register_meter
from .sources import BY_NAME

log = logging.getLogger("mlel.monitoring")

APPLE_SILICON = "apple_silicon"  # the source (its row in .sources: device "CPU, GPU, ANE")

ENV_PATH = "MLEL_POWERMETRICS"
DEFAULT_PATH = "/usr/bin/powermetrics"
SAMPLERS = "cpu_power,gpu_power,ane_power"
DEVICES = ("cpu", "gpu", "ane")
# One plist is ~10-30 KB and plistlib takes 0.7-1.4 ms per 11 KB here: one every 0.5 s stays inside
# the monitor's budget (5 ms CPU per s). Energy does not depend on it (spans are apportioned exactly).
PERIOD_S = BY_NAME[APPLE_SILICON].sensor_refresh_s or 0.5
MAX_PLAUSIBLE_W = 500.0      # per device; the largest Apple SoC draws well under 300 W in all
STARTUP_S = 10.0             # the first document is awaited this long at most (it comes after one period)
# Past this, the latest power is no longer carried forward: the interval is null until documents
# come again (then they count in full: a late stream loses nothing, a frozen one invents little).
STALE_PERIODS, STALE_MIN_S = 2, 0.25
FROZEN_PERIODS, FROZEN_MIN_S = 10, 3.0  # no document for this long: the stream is frozen
_END_TAG = b"</plist>"

ROOT_HELP = ("powermetrics must run as root and this program never calls sudo itself: run the "
             "experiment as root (sudo -E .venv/bin/python -m mlel.infer ...), or allow powermetrics "
             "without a password (sudoers: `<user> ALL=(root) NOPASSWD: /usr/bin/powermetrics`) and set "
             f"{ENV_PATH} to a script that runs `exec sudo -n /usr/bin/powermetrics \"$@\"`; or install "
             "zeus-apple-silicon, which reads the same counters through IOReport without root")


class StreamFailed(RuntimeError):
    """The readings stopped: powermetrics exited or wrote nothing for too long, or a counter froze."""


@dataclass(frozen=True)
class Span:
    """One plist document: the span it averages and each device's average power over it."""

    end_s: float                              # when it arrived (unix s)
    elapsed_s: float | None                   # elapsed_ns; None: not in the document
    watts: Mapping[str, float | None]         # device -> W; None: absent or implausible
    problems: tuple[str, ...] = ()


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _plausible_w(device: str, watts: float | None, field: str, problems: list) -> float | None:
    if watts is None:
        return None
    if not math.isfinite(watts) or not 0.0 <= watts <= MAX_PLAUSIBLE_W:
        problems.append(f"{field} gives {watts:g} W for the {device.upper()}: not a plausible power, left out")
        return None
    return watts


def parse_document(doc: bytes, end_s: float) -> Span:
    """A :class:`Span` from one powermetrics plist document (ValueError if it is not a plist dict)."""
    data = plistlib.loads(doc, fmt=plistlib.FMT_XML)
    if not isinstance(data, dict):
        raise ValueError(f"a plist of {type(data).__name__}, not a dict")
    elapsed_ns = _number(data.get("elapsed_ns"))
    elapsed_s = elapsed_ns / 1e9 if elapsed_ns is not None and elapsed_ns > 0 else None
    processor = data.get("processor") if isinstance(data.get("processor"), dict) else {}
    watts, problems = {}, []
    for device in DEVICES:
        mw, mj = _number(processor.get(f"{device}_power")), _number(processor.get(f"{device}_energy"))
        if mw is not None:
            watts[device] = _plausible_w(device, mw_to_w(mw), f"processor.{device}_power", problems)
        elif mj is not None and elapsed_s:
            watts[device] = _plausible_w(device, mj_to_j(mj) / elapsed_s, f"processor.{device}_energy", problems)
        else:
            watts[device] = None  # not in this document (an older macOS, or no such unit): null
    return Span(end_s, elapsed_s, watts, tuple(problems))


class SpanLedger:
    """Turns spans into the energy (J) of each interval between two samples, per device.

    An interval gets the parts of the spans that lie in it, plus, for the time after the latest
    span, the latest power (the next spans replace that guess: what was over-reported is taken off
    the next intervals). A device's energy is None where a span in the interval or the guess lacks it.
    """

    def __init__(self, devices=DEVICES, stale_s: float = STALE_MIN_S):
        self.devices = tuple(devices)
        self.stale_s = stale_s
        self.start_s: float | None = None      # the first sample: nothing before it counts
        self.last_end_s: float | None = None
        self.last_w: dict = dict.fromkeys(self.devices)
        self._new: dict = dict.fromkeys(self.devices, 0.0)   # J of spans since the last sample
        self._guessed: dict = dict.fromkeys(self.devices, 0.0)  # J guessed after the latest span
        self._owed: dict = dict.fromkeys(self.devices, 0.0)  # J over-reported by earlier guesses

    def add(self, span: Span) -> None:
        start = span.end_s - span.elapsed_s if span.elapsed_s else self.last_end_s  # contiguous stream
        if self.start_s is not None and start is not None and span.end_s > start:
            inside = max(0.0, span.end_s - max(start, self.start_s))
            for device in self.devices:
                w, new = span.watts.get(device), self._new[device]
                if inside > 0:
                    self._new[device] = None if w is None or new is None else new + w * inside
        self.last_end_s = span.end_s if self.last_end_s is None else max(self.last_end_s, span.end_s)
        self.last_w = {device: span.watts.get(device) for device in self.devices}

    def take(self, now: float) -> dict | None:
        """{device: J since the previous take}; None at the first (it starts the window)."""
        if self.start_s is None:
            self.start_s = now
            self._new = dict.fromkeys(self.devices, 0.0)
            return None
        guess_from = max(self.last_end_s or self.start_s, self.start_s)
        guess_s = max(0.0, now - guess_from)
        stale = self.last_end_s is None or now - self.last_end_s > self.stale_s
        out = {}
        for device in self.devices:
            w, new = self.last_w.get(device), self._new[device]
            guess = 0.0 if guess_s == 0 else None if w is None or stale else w * guess_s
            if new is None or guess is None:
                out[device], self._guessed[device] = None, 0.0  # unknown: nothing guessed to take back
                continue
            energy = new + guess - self._guessed[device] - self._owed[device]
            self._owed[device] = max(0.0, -energy)  # never a negative interval: owed to the next ones
            out[device], self._guessed[device] = max(0.0, energy), guess
        self._new = dict.fromkeys(self.devices, 0.0)
        return out


class PowermetricsMeter:
    """The SoC's power from a running ``powermetrics`` (see the module docstring)."""

    source = APPLE_SILICON
    estimated = False

    def __init__(self, path: str | None = None, period_s: float = PERIOD_S, *,
                 frozen_after_s: float | None = None, startup_s: float = STARTUP_S):
        self.path = path or os.environ.get(ENV_PATH) or DEFAULT_PATH
        self.period_s = period_s
        self.startup_s = startup_s
        self.frozen_after_s = frozen_after_s or max(FROZEN_MIN_S, FROZEN_PERIODS * period_s)
        self.ledger = SpanLedger(stale_s=max(STALE_MIN_S, STALE_PERIODS * period_s))
        self.problems: list[str] = []  # implausible values and unreadable documents, as named
        self.documents = 0
        self.seen: set[str] = set()  # the devices some document gave a power for
        self.reader_cpu_s = 0.0  # the reader thread's CPU time: what parsing cost
        self._spans: collections.deque = collections.deque(maxlen=10_000)
        self._last_seen = time.time()
        self._previous: float | None = None
        self._first = threading.Event()  # set by the first document, or by the end of the stream
        self._stderr = tempfile.TemporaryFile()  # never a pipe: a chatty stderr must not block it
        try:  # restore_signals (the default): it dies of SIGPIPE once nobody reads, as after a SIGKILL of us
            self.proc = subprocess.Popen(
                [self.path, "--samplers", SAMPLERS, "-f", "plist", "-i", str(round(period_s * 1000))],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr)
        except OSError:
            self._stderr.close()
            raise
        self._reader = threading.Thread(target=self._read, name="mlel-powermetrics", daemon=True)
        self._reader.start()
        self._first.wait(startup_s)  # open() tells at once whether the stream works

    # the reader thread ----------------------------------------------------------------------------
    def _read(self) -> None:
        buffer = b""
        try:
            while chunk := self.proc.stdout.read1(1 << 16):
                buffer += chunk
                while (end := buffer.find(_END_TAG)) >= 0:  # a NUL may trail: the end tag closes one
                    doc, buffer = buffer[:end + len(_END_TAG)], buffer[end + len(_END_TAG):]
                    self._take(doc.lstrip(b"\0 \t\r\n"), time.time())
        except (OSError, ValueError):
            pass  # the pipe was closed by close()
        finally:
            self.reader_cpu_s = time.thread_time()
            self._first.set()

    def _take(self, doc: bytes, arrived: float) -> None:
        self._last_seen = arrived
        try:
            span = parse_document(doc, arrived)
        except Exception as exc:  # plistlib raises several types: any unreadable document is named
            self._problem(f"an unreadable powermetrics document ({type(exc).__name__}: {exc})")
            return
        for problem in span.problems:
            self._problem(problem)
        self.documents += 1
        self.seen.update(device for device, watts in span.watts.items() if watts is not None)
        self._spans.append(span)
        self._first.set()

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            log.warning("monitoring %s: %s", self.source, text)
            self.problems.append(text)

    # the meter contract ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def failure(self) -> str:
        """Why the process ended (its exit code and the end of its stderr)."""
        self._stderr.seek(0)
        said = self._stderr.read()[-500:].decode(errors="replace").strip()
        return f"powermetrics exited with code {self.proc.poll()}" + (f": {said}" if said else "")

    def why_silent(self) -> str:
        """Why no document came at start: the exit and what it said, else that none came in time."""
        if self._reader.is_alive():
            return f"powermetrics wrote no sample within {self.startup_s:g} s"
        try:  # the stream ended: the process is exiting (reaped a moment after its pipe closed)
            self.proc.wait(timeout=self.startup_s)
        except subprocess.TimeoutExpired:
            pass
        return self.failure()

    def meta(self) -> dict:
        return {"power_keys": ["power"], "interval_energy_key": "energy", "estimated": False,
                "method": f"powermetrics --samplers {SAMPLERS} -f plist (Apple's own model-based "
                          "figures), spans apportioned to the sample intervals",
                "command": self.path, "period_s": self.period_s,
                "units": {"power": "W (interval average)", "energy": "J in the interval", "duration": "s"}}

    def sample(self, now: float) -> dict | None:
        while self._spans and self._spans[0].end_s <= now:  # later ones belong to the next interval
            self.ledger.add(self._spans.popleft())
        last_end = self.ledger.last_end_s
        if not self._reader.is_alive() and (last_end is None or now - last_end > self.ledger.stale_s):
            raise StreamFailed(self.failure())  # its documents are used up: the end is named
        if now - self._last_seen > self.frozen_after_s:
            raise StreamFailed(f"powermetrics stream frozen: no document for {now - self._last_seen:.1f} s "
                               f"(one is due every {self.period_s:g} s); this interval is not counted")
        previous = self.ledger.start_s if self._previous is None else self._previous
        energies = self.ledger.take(now)
        self._previous = now
        if energies is None:
            return None
        duration = now - previous
        return _reading(energies, duration)

    def close(self) -> None:
        """Stop powermetrics (TERM, then KILL) and its reader: it never outlives the meter."""
        if self.running:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc.stdout.close()
        self._reader.join(timeout=5)
        self._stderr.close()


def _reading(energies: Mapping[str, float | None], duration: float) -> dict:
    """{device: {duration, energy, power}}: the power is the interval's average, null with its energy."""
    return {device: {"duration": duration, "energy": j,
                     "power": None if j is None or duration <= 0 else j / duration}
            for device, j in energies.items()}


class IOReportMeter:
    """The SoC's cumulative IOReport energy counters (mJ) through ``zeus_apple_silicon``, no root:
    each sample is the energy since the previous one, as RAPL's. Devices are those the chip reports."""

    source = APPLE_SILICON
    estimated = False
    FIELDS = {"cpu": "cpu_total_mj", "gpu": "gpu_mj", "ane": "ane_mj", "dram": "dram_mj"}

    def __init__(self, module):
        self.monitor = module.AppleEnergyMonitor()
        first = self._read()
        self.devices = tuple(device for device, mj in first.items() if mj is not None)
        if "cpu" not in self.devices:
            raise RuntimeError("IOReport gives no CPU energy on this machine")
        self.problems: list[str] = []
        self._last: tuple | None = None
        self._still_s = 0.0  # how long the CPU counter has not moved

    def _read(self) -> dict:
        metrics = self.monitor.get_cumulative_energy()
        return {device: _number(getattr(metrics, field, None)) for device, field in self.FIELDS.items()}

    def meta(self) -> dict:
        return {"power_keys": ["power"], "interval_energy_key": "energy", "estimated": False,
                "method": "IOReport Energy Model counters (zeus-apple-silicon), differences per interval",
                "units": {"power": "W (interval average)", "energy": "J in the interval", "duration": "s"}}

    def _energy(self, device: str, before, after, dt: float) -> float | None:
        if before is None or after is None:
            return None
        joules = mj_to_j(after - before)
        if joules < 0 or (dt > 0 and joules / dt > MAX_PLAUSIBLE_W):
            problem = f"IOReport {device.upper()} counter went from {before:g} to {after:g} mJ: left out"
            if problem not in self.problems:
                log.warning("monitoring %s: %s", self.source, problem)
                self.problems.append(problem)
            return None
        return joules

    def sample(self, now: float) -> dict | None:
        reading = (now, self._read())
        last, self._last = self._last, reading
        if last is None:
            return None  # priming: an interval needs two readings
        dt = now - last[0]
        energies = {d: self._energy(d, last[1][d], reading[1][d], dt) for d in self.devices}
        # a CPU always draws something: a counter that stays put is stuck, not idle
        self._still_s = self._still_s + dt if energies["cpu"] == 0 else 0.0
        if self._still_s >= FROZEN_MIN_S:
            raise StreamFailed(f"IOReport CPU energy counter frozen: unchanged for {self._still_s:.1f} s")
        return _reading(energies, dt)

    def close(self) -> None:
        self.monitor = None


def _open_powermetrics(notes: list) -> Opened:
    path = os.environ.get(ENV_PATH) or DEFAULT_PATH
    try:
        meter = PowermetricsMeter(path)
    except OSError as exc:  # not there (an Intel Mac's is, yet gives no cpu_power here), not executable
        why = f"no powermetrics ({path}: {exc.strerror or exc})"
        return Opened(None, (*notes, f"Apple silicon power not measured: {why}"), why_not=why)
    if meter.documents and not meter.seen:
        meter.close()  # an Intel Mac's powermetrics has no such fields
        why = "powermetrics gives no CPU, GPU or ANE power here (not Apple silicon?)"
        return Opened(None, (*notes, f"Apple silicon power not measured: {why}"), why_not=why)
    if meter.documents:
        return Opened(meter, (*notes, f"Apple silicon power (CPU, GPU, ANE) measured by powermetrics "
                                      f"every {meter.period_s:g} s"))
    failure = meter.why_silent()
    meter.close()
    if "superuser" in failure or "root" in failure:
        why = f"powermetrics needs root ({failure})"
        return Opened(None, (*notes, f"Apple silicon power not measured: {why}. {ROOT_HELP}"), why_not=why)
    return Opened(None, (*notes, f"Apple silicon power not measured: {failure}"), why_not=failure)


def open_apple_silicon(context: Discovery) -> Opened:
    """The registry's opener: IOReport where zeus-apple-silicon imports (unless ``$MLEL_POWERMETRICS``
    asks for powermetrics), else powermetrics; without either, why not (the CPU estimate says it)."""
    notes: list[str] = []
    if not os.environ.get(ENV_PATH):
        try:
            import zeus_apple_silicon
        except ImportError:
            zeus_apple_silicon = None
        if zeus_apple_silicon is not None:
            try:
                return Opened(IOReportMeter(zeus_apple_silicon),
                              ("Apple silicon power (CPU, GPU, ANE) measured through IOReport "
                               "(zeus-apple-silicon), no root needed",))
            except Exception as exc:  # an unsupported chip must not stop the experiment: said
                notes.append(f"IOReport (zeus-apple-silicon) failed ({type(exc).__name__}: {exc}); "
                             "trying powermetrics")
    return _open_powermetrics(notes)


# Only a Mac has powermetrics; elsewhere the override (tests, a user's own stand-in) turns it on.
if sys.platform == "darwin" or os.environ.get(ENV_PATH):
    register_meter(APPLE_SILICON)(open_apple_silicon)
