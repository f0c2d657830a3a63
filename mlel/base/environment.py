"""Environment keys: ``"<hardware> - <backend name> <backend version>"`` (SPEC §5).

Pure functions over the ``execution_platform``, ``config.backend`` and ``requirements`` parts of a
merged log. Known hardware names map to the short names of the 2022 study; others go through a
general rule that drops vendor words, clock and form-factor suffixes.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from mlel.base.names import backend_key

KNOWN_HARDWARE = {
    "NVIDIA A100-SXM4-40GB": "A100",
    "Quadro RTX 5000": "RTX 5000",
    "Intel(R) Xeon(R) W-2155 CPU @ 3.30GHz": "Xeon(R) W-2155",
    "AMD EPYC 7742 64-Core Processor": "EPYC 7742",
}

# config.backend -> (display name, distributions whose version names the environment, first found wins)
BACKENDS = {
    "tensorflow": ("TensorFlow", ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos")),
    "pytorch": ("PyTorch", ("torch",)),
    "onnx_tensorflow": ("ONNX TF Export", ("onnxruntime", "onnxruntime-gpu")),
    "onnx_pytorch": ("ONNX PT Export", ("onnxruntime", "onnxruntime-gpu")),
}

_GPU_VENDOR_WORDS = re.compile(r"\b(NVIDIA|Tesla|Quadro|GeForce|AMD|Instinct|Radeon)\s+", re.I)  # AMD: market names
_GPU_FORM_FACTOR = re.compile(r"([- ](SXM\d*|PCIE|PCIe|NVL|HBM\w*|\d+GB)\b.*$)")
_CPU_CLOCK = re.compile(r"\s+(CPU\s+)?@\s*[\d.]+\s*[GM]Hz.*$", re.I)
_CPU_CORES = re.compile(r"\s+\d+-Core\s+Processor.*$", re.I)
_CPU_VENDOR = re.compile(r"^(Intel\(R\)\s+|AMD\s+)")


def gpu_short_name(name: str) -> str:
    if name in KNOWN_HARDWARE:
        return KNOWN_HARDWARE[name]
    short = _GPU_VENDOR_WORDS.sub("", name.strip())
    return _GPU_FORM_FACTOR.sub("", short).strip() or name.strip()


def cpu_short_name(name: str) -> str:
    if name in KNOWN_HARDWARE:
        return KNOWN_HARDWARE[name]
    short = _CPU_CORES.sub("", _CPU_CLOCK.sub("", name.strip()))
    short = re.sub(r"\s+(CPU|Processor)$", "", short)
    return _CPU_VENDOR.sub("", short).strip() or name.strip() or "unknown CPU"


def hardware_name(platform: dict, devices: Sequence[str] = ()) -> str:
    """The first GPU's short name (`` xN`` for N > 1 GPUs), else the CPU's short name. A
    data-parallel run (``devices``: its config's ``["cuda:0", "cuda:1"]`` or ``["cpu", "cpu"]``)
    counts the devices it used, not the machine's."""
    used = [str(d) for d in devices] if len(devices) > 1 else []
    gpus = platform.get("GPU") or {}
    if gpus and not (used and all(d.startswith("cpu") for d in used)):
        first = gpus.get("0") or gpus[sorted(gpus)[0]]
        short = gpu_short_name(str(first.get("Name", "unknown GPU")))
        count = len(used) or len(gpus)
        return f"{short} x{count}" if count > 1 else short
    short = cpu_short_name(str(platform.get("Processor") or ""))
    return f"{short} x{len(used)}" if used else short


def _normalise_dist(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_versions(requirements: list[str]) -> dict[str, str]:
    """``name==version`` lines -> {normalised name: version}; comments and other pins skipped."""
    versions = {}
    for line in requirements:
        if line.startswith("#") or "==" not in line:
            continue
        name, _, version = line.partition("==")
        versions[_normalise_dist(name.strip())] = version.strip()
    return versions


@lru_cache(maxsize=None)
def _pin_pattern(dists: tuple[str, ...]) -> re.Pattern:
    names = "|".join(re.escape(d).replace(r"\-", "[-_.]") for d in dists)
    return re.compile(rf"^\s*({names})\s*==\s*(\S+)\s*$", re.I | re.M)


def _installed_version(requirements: list[str], dists: tuple[str, ...]) -> str | None:
    """Version of the first of ``dists`` pinned in ``requirements`` (checked in the order of dists)."""
    # One regex scan over the joined lines: this runs once per log, over ~100 lines.
    found = {_normalise_dist(m.group(1)): m.group(2)
             for m in _pin_pattern(dists).finditer("\n".join(requirements))}
    return next((found[_normalise_dist(d)] for d in dists if _normalise_dist(d) in found), None)


def backend_name(backend: str, requirements: list[str]) -> str:
    """``"PyTorch 1.10.2+cu113"``; an unknown backend keeps its own name, version if installed."""
    canonical = backend_key(backend)
    display, dists = BACKENDS.get(canonical, (backend, (canonical,)))
    version = _installed_version(requirements, dists)
    return f"{display} {version}" if version else display


ESTIMATED = " (estimated)"


def environment_label(environment: str, estimated: bool) -> str:
    """The environment as every output shows it — CLI table, JSON (``environment_label``), ELEx:
    "... (estimated)" where its energy is estimated, never twice (importers may have named it so)."""
    return environment + ESTIMATED if estimated and not environment.endswith(ESTIMATED) else environment


def environment_key(platform: dict, backend: str, requirements: list[str], devices: Sequence[str] = ()) -> str:
    return f"{hardware_name(platform, devices)} - {backend_name(backend, requirements)}"
