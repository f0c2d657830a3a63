"""Benchmark: ELEx callbacks over 10,000 rated runs (goal: < 100 ms for a boundary slider move).

The corpus is built in memory from the 232 reference logs: each RunLog is replicated with
``dataclasses.replace`` into renamed environments (``<env> #k``) and models (``<model>-vj``; j = 0
keeps the original names, so every environment still has the reference model) with perturbed
energy, duration and accuracy. Each callback is timed as the server runs it: the pure work the
callback calls plus the JSON encoding of its outputs (plotly's encoder, as Dash uses).

    .venv/bin/python bench/elex_callbacks.py [--runs 10000] [--repeat 7]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REFERENCE = REPO.parent / "shared" / "reference" / "mlee-2022" / "results"

from plotly.io.json import to_json_plotly  # noqa: E402

from mlel.elex import callbacks, figures, state  # noqa: E402
from mlel.elex import layout as ids  # noqa: E402
from mlel.logs import load_logs  # noqa: E402

ENV_COPIES = 8  # each environment appears as "<env> #0" … "#7"


def corpus_runs(n_runs: int = 10_000, seed: int = 0):
    runs, problems = load_logs(REFERENCE)
    if problems or not runs:
        raise SystemExit(f"cannot read the reference logs in {REFERENCE}")
    rng = random.Random(seed)
    out = []
    copy = 0
    while len(out) < n_runs:
        env_suffix, model_suffix = copy % ENV_COPIES, copy // ENV_COPIES
        for run in runs:
            if len(out) == n_runs:
                break
            factor = rng.uniform(0.8, 1.25)
            out.append(dataclasses.replace(
                run, file=f"{Path(run.file).stem}_{copy:03d}.json",
                environment=f"{run.environment} #{env_suffix}",
                model=run.model if model_suffix == 0 else f"{run.model}-v{model_suffix}",
                energy_ws=None if run.energy_ws is None else run.energy_ws * factor,
                duration_s=None if run.duration_s is None else run.duration_s * rng.uniform(0.8, 1.25),
                accuracy=None if run.accuracy is None else run.accuracy * rng.uniform(0.98, 1.02)))
        copy += 1
    return out


def timed(function, repeat: int) -> tuple[float, object]:
    """Median wall time in ms over ``repeat`` calls (after one warm-up call) and the last result."""
    result = function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    start = time.perf_counter()
    data = state.ElexData.load(corpus_runs(args.runs))
    load_s = time.perf_counter() - start
    task = "inference"
    table = data.table(task)
    settings = state.default_settings(data)
    environments = list(table.environments)
    x, y = ids.axis_defaults(task)
    rating = state.rate(data, task, settings)
    spec = state.slider_spec(rating, x)
    moved = list(spec.value)
    moved[2] = (moved[2] + moved[3]) / 2  # drag handle b1 half-way towards b0
    values = dict(reference=settings["reference"], mode=settings["mode"], x=x, y=y, x_bounds=moved,
                  y_bounds=None, x_weight=None, y_weight=None, boundaries_file=None, boundaries_name=None,
                  weights_file=None, weights_name=None)
    after_move, _ = callbacks.apply_event(data, settings, ids.X_BOUNDS, task, values)
    first = {"task": task, "environment": table.environments[0], "model": settings["reference"]}

    def encode(*outputs):
        return len(to_json_plotly(list(outputs)))

    cases = {
        "rate (index + ratings + compound)": lambda: state.rate(data, task, after_move),
        "slider move: on_settings": lambda: encode(callbacks.apply_event(data, settings, ids.X_BOUNDS, task, values)),
        "slider move: on_views (scatter + bars)": lambda: encode(*callbacks.views(
            data, after_move, task, environments, x, y, "index", first)),
        "slider move: on_table (all rows)": lambda: encode(
            figures.table_rows(state.rate(data, task, after_move)), figures.table_columns(rating),
            figures.rating_cell_styles(rating)),
        "slider move: on_detail (summary + label)": lambda: encode(
            callbacks.label_source(callbacks.selected_summary(data, after_move, first))),
        "axis change: on_settings (slider specs)": lambda: encode(
            *callbacks.settings_outputs(data, settings, task, "parameters", "inference_time")),
        "calibrate: on_settings": lambda: encode(state.calibrate(settings, data, task)),
        "one environment, real scale: on_views": lambda: encode(*callbacks.views(
            data, after_move, task, environments[:1], x, y, "real", first)),
    }
    results = {}
    print(f"{args.runs} runs -> {len(data.table('inference'))} inference + "
          f"{len(data.tables.get('training', ()))} training results in "
          f"{len(table.environments)} inference environments (built in {load_s:.1f} s); "
          f"timing the {task} task, median of {args.repeat}")
    for name, function in cases.items():
        ms, _ = timed(function, args.repeat)
        results[name] = round(ms, 1)
        print(f"  {name:<45} {ms:8.1f} ms")
    slider = sum(v for k, v in results.items() if k.startswith("slider move"))
    print(f"  {'slider move, all four callbacks together':<45} {slider:8.1f} ms (goal < 100 ms)")
    print(json.dumps({"runs": args.runs, "rows": len(table), "ms": results, "slider_move_total_ms": round(slider, 1)}))


if __name__ == "__main__":
    main()
