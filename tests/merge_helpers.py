"""Build run folders (SPEC §2) the way infer.py/train.py do: real measure() around real work, plus
the config/platform/results files, so merge tests run the real monitoring and merge code."""
from __future__ import annotations

import json
import time
from pathlib import Path

from mlel.monitoring import measure

PLATFORM = {"System": "Linux", "Node Name": "test", "Release": "6.0", "Version": "#1", "Machine": "x86_64",
            "Processor": "Intel(R) Xeon(R) W-2155 CPU @ 3.30GHz", "Physical cores": 10, "Total cores": 20,
            "Max Frequency": 4500.0, "Min Frequency": 1200.0, "Current Frequency": 3300.0,
            "Total": 67108864000, "Available": 60000000000, "Used": 7000000000, "GPU": {}}
REQUIREMENTS = "# 3.11.7 (main)\n# [GCC 12]\ntorch==2.14.1\nonnxruntime==1.32.0\n"


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2))


def make_run(runs: Path, name: str, *, model: str = "ResNet101", backend: str = "pytorch",
             accuracy: float = 0.77, seconds: float = 0.12, complete: bool = True,
             infer_model: str | None = None, epochs: int = 2, reason: str | None = None) -> Path:
    """A run folder named `name` (infer_... or train_...) under runs, measured for `seconds`."""
    folder = runs / name
    folder.mkdir(parents=True)
    task = "inference" if name.startswith("infer_") else "training"
    config = {"model": model, "backend": backend, "batch_size": 8, "seed": 42,
              "gpu_monitor_interval": 0.02, "cpu_monitor_interval": 0.02, "timestamp": name[6:]}
    if task == "inference":
        config["infer_model"] = infer_model or model
    write_json(folder / "config.json", config)
    write_json(folder / "execution_platform.json", PLATFORM)
    (folder / "requirements.txt").write_text(REQUIREMENTS)
    (folder / "logfile.txt").write_text("started\n")
    prefix = "validation_" if task == "inference" else ""
    with measure(folder, interval=0.02, prefix=prefix) as m:
        busy(seconds)
    model_info = {"params": 44_549_160, "flops": 7_801_405_440, "fsize": 178_000_000}
    if not complete:
        if reason:
            write_json(folder / "incomplete.json", {"reason": reason})
        return folder
    if task == "inference":
        results = {"start": m.start, "end": m.end, "model": model_info,
                   "metrics": {"accuracy": accuracy, "top_5_accuracy": 0.93, "loss": 1.0, "n_samples": 64}}
    else:
        results = {"start": m.start, "end": m.end, "model": model_info,
                   "history": {"loss": [2.0, 1.5][:epochs], "accuracy": [0.5, 0.6][:epochs],
                               "val_accuracy": [0.45, 0.55][:epochs], "lr": [0.1, 0.1][:epochs],
                               "timestamp": [m.start * 1000, m.end * 1000][:epochs]}}
    write_json(folder / f"{prefix}results.json", results)
    return folder
