"""``make demo`` / ``python -m mlel.apps.demo``: measure two small models' inference, merge the runs,
rate them, label one.

Runs the project's real command-line tools one after the other, as a user would, and prints where
everything landed. Energy on a machine without GPU or RAPL is estimated, and says so.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from mlel.apps.command import install_hint, invoked_as, missing_modules
from mlel.base.errors import EXIT_CODES_EPILOG, EXIT_OK, EXIT_USAGE

MODELS = ("MobileNetV3Small", "ResNet50")  # ResNet50 is the reference of the demo's index scale
REFERENCE = "ResNet50"
# whole passes until each run has measured this long: a shorter window is "not graded" (the gates)
MIN_DURATION_S = 3
NEEDS = ("torch", "torchvision")  # the demo measures PyTorch models: the torch extra


class DemoStopped(SystemExit):
    """A step of the demo failed (its tool printed why)."""


def _step(title: str, *args: str) -> None:
    print(f"\n== {title}\n$ python {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, *args])
    if result.returncode != 0:
        raise DemoStopped(f"demo stopped: '{title}' exited with {result.returncode}")


def _merge(runs: Path, results: Path) -> None:
    from mlel.runlog.merge import main as merge_main
    args = ["--directory", str(runs), "--output-dir", str(results)]
    print(f"\n== merge the run folders\n$ mlee-merge {' '.join(args)}", flush=True)
    code = merge_main(args)
    if code != EXIT_OK:
        raise DemoStopped(f"demo stopped: merging exited with {code}")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="The MLEE demo: measure the inference of "
                    f"{' and '.join(MODELS)} (PyTorch, CPU, synthetic data), merge the two runs, rate "
                    f"them against {REFERENCE} and draw an energy label. Takes about a minute.",
        epilog="Needs PyTorch: pip install 'mlee[torch]' (a checkout's .venv has it). " + EXIT_CODES_EPILOG)
    parser.add_argument("--output-dir", default="demo_output", metavar="DIR",
                        help="where the demo writes (emptied first; default: %(default)s)")
    return parser


def run_demo(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    runs, results = out / "runs", out / "results"
    for model in MODELS:
        _step(f"measure {model} inference (PyTorch, CPU, synthetic ImageNet-shaped data)",
              "-m", "mlel.infer", "--model", model, "--backend", "torch", "--dataset", "synthetic",
              "--n-batches", "8", "--batch-size", "8", "--min-duration", str(MIN_DURATION_S),
              "--output-dir", str(runs))
    _merge(runs, results)
    _step(f"rate against {REFERENCE}", "-m", "mlel.ratings", "--directory", str(results),
          "--reference", REFERENCE)
    log = next(p for p in sorted(results.glob("*.json")) if MODELS[0] in p.read_text())
    label_pdf, label_png = out / "label.pdf", out / "label.png"
    _step(f"label {MODELS[0]}", "-m", "mlel.label_generator", "-f", str(log), "-d", str(results),
          "--reference", REFERENCE, "-o", str(label_pdf), "--png", str(label_png))
    print("\nDone. What the demo wrote:")
    print(f"  run folders   {runs}")
    print(f"  merged logs   {results}")
    print(f"  energy label  {label_pdf}\n                {label_png}")
    print(f"Explore them:   python -m mlel.elex --directory {results}")


def missing_framework(prog: str) -> str | None:
    """The one line that says what to install when PyTorch is not there (None when it is)."""
    missing = missing_modules(*NEEDS)
    if not missing:
        return None
    return (f"{prog}: the demo measures PyTorch models, but {missing[0]} is not installed "
            f"(No module named '{missing[0]}'): {install_hint(missing[0])}")


def main(argv: list[str] | None = None) -> int:
    prog = invoked_as("mlee-demo")
    args = build_parser(prog).parse_args(argv)
    # checked before anything is written: a wheel installed without the torch extra lacks it
    hint = missing_framework(prog)
    if hint is None:
        try:
            run_demo(Path(args.output_dir).resolve())
            return EXIT_OK
        except ModuleNotFoundError as error:  # a framework module the check above did not name
            hint = f"{prog}: {error}: {install_hint(error.name or '')}"
    print(hint, file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
