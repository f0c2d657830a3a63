"""``make demo``: measure two small models' inference, merge the runs, rate them, label one.

Runs the project's real command-line tools one after the other, as a user would, and prints where
everything landed. Energy on a machine without GPU or RAPL is estimated, and says so.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "demo_output"
MODELS = ("MobileNetV3Small", "ResNet50")  # ResNet50 is the reference of the demo's index scale
REFERENCE = "ResNet50"


def _step(title: str, *args: str) -> None:
    print(f"\n== {title}\n$ {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, *args], cwd=REPO)
    if result.returncode != 0:
        sys.exit(f"demo stopped: '{title}' exited with {result.returncode}")


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    runs, results = OUT / "runs", OUT / "results"
    for model in MODELS:
        _step(f"measure {model} inference (PyTorch, CPU, synthetic ImageNet-shaped data)",
              "infer.py", "--model", model, "--backend", "torch", "--dataset", "synthetic",
              "--n-batches", "8", "--batch-size", "8", "--output-dir", str(runs))
    _step("merge the run folders", "merge_results.py", "--directory", str(runs), "--output-dir", str(results))
    _step(f"rate against {REFERENCE}", "-m", "mlel.ratings", "--directory", str(results),
          "--reference", REFERENCE)
    log = next(p for p in sorted(results.glob("*.json")) if MODELS[0] in p.read_text())
    label_pdf, label_png = OUT / "label.pdf", OUT / "label.png"
    _step(f"label {MODELS[0]}", "-m", "mlel.label_generator", "-f", str(log), "-d", str(results),
          "--reference", REFERENCE, "-o", str(label_pdf), "--png", str(label_png))
    print("\nDone. What the demo wrote:")
    print(f"  run folders   {runs}")
    print(f"  merged logs   {results}")
    print(f"  energy label  {label_pdf}\n                {label_png}")
    print(f"Explore them:   .venv/bin/python elex.py --directory {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
