"""The meter registry: each meter module registers how to open its source; discovery asks them all.

A meter is a small reader with one contract (``source``, ``estimated``, ``meta()``,
``sample(now)``, ``close()``; see :mod:`.recorder`). Its module registers an opener::

    @register_meter(sources.NVML)
    def open_nvml(context: Discovery) -> Opened: ...

and :func:`open_meters` tries the registered ones. What a source is (its device, whether it is an
estimate, which interval samples it) is the source table's (:mod:`.sources`), so the order is
data too: real sensors first — a whole board's (its input rail contains its GPU and CPU), then GPUs,
then CPUs — then estimates, and last the sources that give no power (the process tree); ties keep
the table's order (RAPL before amd_energy). Nothing is counted twice: an estimate only fills in for a
device no sensor could read, a device other than a GPU gets one sensor (RAPL and amd_energy read the
same AMD package; two GPU meters read different vendors' cards), and nothing is opened for a device
inside a measured whole (:data:`CONTAINS`). Adding a meter is adding a module (and its row in the
table); :mod:`.monitor` imports the meter modules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .sources import BY_NAME, SOURCES, PowerSource


@dataclass(frozen=True)
class Discovery:
    """What an opener is told: the user's CPU TDP (for the estimate) and, per device, why the
    sensors registered before it could not read it (``{"CPU": "no RAPL: ..."}``)."""

    cpu_tdp: float | None = None
    unmeasured: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Opened:
    """An opener's answer: the meter (None: not available here), the notes to show, and where
    there is no meter the short reason an estimate for the same device names."""

    meter: Any | None
    notes: tuple[str, ...] = ()
    why_not: str = ""


Opener = Callable[[Discovery], Opened]


def try_open(make: Callable[[], Any], errors: tuple[type[BaseException], ...], missing: str,
             describe: Callable[[Any], tuple[str, ...]]) -> Opened:
    """The shape of a sensor's opener: the meter ``make()`` builds, with the notes ``describe``
    gives it, or no meter and why not (``"<missing>: <error>"``, which an estimate names)."""
    try:
        meter = make()
    except errors as exc:
        return Opened(None, why_not=f"{missing}: {exc}")
    return Opened(meter, describe(meter))
_OPENERS: dict[str, Opener] = {}  # source -> opener, in registration order


def register_meter(source: str) -> Callable[[Opener], Opener]:
    """Decorator: ``opener`` opens the meter of ``source`` (a name of the source table; a second
    registration of a source replaces the first, as a reloaded module does)."""
    if source not in BY_NAME:
        raise ValueError(f"meter source {source!r} is not in the source table (mlel.monitoring.sources)")

    def register(opener: Opener) -> Opener:
        _OPENERS[source] = opener
        return opener
    return register


# What the energy of a measured device already contains: no sensor or estimate is opened for these.
CONTAINS = {"board": ("GPU", "CPU"),  # a Jetson's VDD_IN feeds its GPU and CPU
            "CPU, GPU, ANE": ("GPU", "CPU")}  # an Apple SoC's CPU and GPU are in its source
SEVERAL_SENSORS = frozenset({"GPU"})  # each GPU meter reads its own vendor's cards: all are opened
_DEVICE_RANK = {"board": 0, "CPU, GPU, ANE": 0, "GPU": 1}  # then every other device (CPU)
_TABLE_ORDER = {s.name: i for i, s in enumerate(SOURCES)}  # a source outside the table: last


def _rank(source: PowerSource) -> tuple[bool, bool, int, int]:
    return (not source.gives_power, source.estimated, _DEVICE_RANK.get(source.device, 2),
            _TABLE_ORDER.get(source.name, len(_TABLE_ORDER)))


def registered() -> tuple[str, ...]:
    """The registered sources, in the order discovery tries them."""
    return tuple(sorted(_OPENERS, key=lambda name: _rank(BY_NAME[name])))  # stable: sources outside the table keep registration


def _counted(source: PowerSource, measured: set, covered: set) -> bool:
    """Whether what ``source`` measures is counted already (then it is not opened)."""
    if source.device in covered:
        return True  # inside a measured whole (a board's input rail)
    return source.device in measured and (source.estimated or source.device not in SEVERAL_SENSORS)


def open_meters(gpu_interval: float, cpu_interval: float, cpu_tdp: float | None = None
                ) -> tuple[list[tuple[Any, float]], list[str]]:
    """[(meter, interval)] of every source that can be read here, and notes saying what was found
    and why not. An interval of 0 turns that class of meters off (the table says which is which)."""
    meters, notes, unmeasured, measured, covered = [], [], {}, set(), set()
    for name in registered():
        source = BY_NAME[name]
        interval = gpu_interval if source.gpu_interval else cpu_interval
        if interval <= 0 or _counted(source, measured, covered):
            continue  # never an estimate or a second sensor on top of a real sensor
        opened = _OPENERS[name](Discovery(cpu_tdp, dict(unmeasured)))
        notes.extend(opened.notes)
        if opened.meter is None:
            unmeasured.setdefault(source.device, opened.why_not)
            continue
        meters.append((opened.meter, interval))
        if source.gives_power and not source.estimated:
            measured.add(source.device)
            covered.update(CONTAINS.get(source.device, ()))
    return meters, notes
