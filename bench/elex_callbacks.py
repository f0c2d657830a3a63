"""Benchmark: ELEx callbacks over 100,000 rated runs (goals, issue 12: a boundary slider move updates
the views in < 100 ms of callback time and < 300 ms over HTTP).

The corpus is built in memory from the 232 reference logs: each RunLog is replicated with
``dataclasses.replace`` into renamed environments (``<env> #k``) and models (``<model>-vj``; j = 0
keeps the original names, so every environment still has the reference model) with perturbed
energy, duration and accuracy. Each callback is timed twice: the pure work it calls plus the JSON
encoding of its outputs (plotly's encoder, as Dash uses), and end to end, as an HTTP request through
Dash's dispatch on the app's Flask test client (what a browser waits for, minus the network).

Every timed slider move drags handle b1 to a new position of the slider's step grid, so each one
changes the boundaries and pays for a fresh rating (ELEx remembers recent ratings: the callbacks of
one move share one; a repeated position would be free, and a drag by less than half a step keeps
the boundary). What a move cannot change is remembered per table and reused, as in a real drag:
the other metrics' levels, the scatter's points (positions, hover texts: ``mlel.elex.points``),
the slider's range and the table's order by a value column. The first view of an axis pair,
environment selection or reference builds the points: "axis change: on_views" times that. The
scatter draws an even sample of at most ``figures.MAX_POINTS`` points; bars and table use all.
Times are medians of wall-clock ms, with the process's CPU ms beside them (a loaded machine
inflates only the first).

    .venv/bin/python bench/elex_callbacks.py [--runs 100000] [--repeat 7]
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REFERENCE = REPO.parent / "shared" / "reference" / "mlee-2022" / "results"

from plotly.io.json import to_json_plotly  # noqa: E402

from mlel.elex import callbacks, figures, session, sliders, state  # noqa: E402
from mlel.elex import table as rated_table  # noqa: E402
from mlel.elex import layout as ids  # noqa: E402
from mlel.runlog.logs import load_logs  # noqa: E402

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


def dash_request(client, app, output_prefix: str, values: dict):
    """POST one callback the way the browser does; ``values`` maps "id.prop" to the value sent."""
    key = next(k for k in app.callback_map if k.startswith(output_prefix))
    spec = app.callback_map[key]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
               for o in key.strip(".").split("...")] if key.startswith("..") else \
        {"id": key.split(".")[0], "property": key.split(".")[1]}

    def entries(kind):
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in spec[kind]]

    body = {"output": key, "outputs": outputs, "inputs": entries("inputs"), "state": entries("state"),
            "changedPropIds": [next(iter(values))]}
    response = client.post("/_dash-update-component", json=body)
    if response.status_code != 200:
        raise RuntimeError(f"{key}: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")
    return len(response.get_data())


CPU_TIMES: dict[str, float] = {}  # name -> median CPU ms of this process (what load cannot inflate)


def timed(function, repeat: int, name: str = "") -> tuple[float, object]:
    """Median wall time in ms over ``repeat`` calls (after one warm-up call) and the last result;
    the median CPU time of the process goes to CPU_TIMES[name] (on a loaded machine wall time
    includes waiting for a core; CPU time is the work itself)."""
    result = function()
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    CPU_TIMES[name] = round(statistics.median(cpu), 1)
    return statistics.median(times), result


def encode(*outputs) -> int:
    """Bytes of the outputs as Dash sends them (plotly's JSON encoder)."""
    return len(to_json_plotly(list(outputs)))


class Scenario:
    """The inference task of the corpus, default settings, and slider moves to new positions."""

    def __init__(self, data: state.ElexData):
        self.data, self.task = data, "inference"
        self.table = data.table(self.task)
        self.settings = session.default_settings(data)
        self.environments = list(self.table.environments)
        self.x, self.y = ids.axis_defaults(self.task)
        self.rating = state.rate(data, self.task, self.settings)
        self.spec = sliders.slider_spec(self.rating, self.x)
        self.moved = list(self.spec.value)
        self.moved[2] = (self.moved[2] + self.moved[3]) / 2  # drag handle b1 half-way towards b0
        self.values = dict(reference=self.settings["reference"], mode=self.settings["mode"], x=self.x, y=self.y,
                           x_bounds=self.moved, y_bounds=None, x_weight=None, y_weight=None, boundaries_file=None,
                           boundaries_name=None, weights_file=None, weights_name=None)
        self.after_move, _ = callbacks.apply_event(data, self.settings, ids.X_BOUNDS, self.task, self.values)
        self.first = {"task": self.task, "environment": self.table.environments[0],
                      "model": self.settings["reference"]}
        # handle b1's positions on the slider's step grid between its neighbours, its own excluded:
        # a drag by less than half a step keeps the boundary (ELEx: "did not move"), so each of
        # these gives new boundaries; more of them than ELEx keeps ratings, so none is remembered
        low, high, step = self.spec.value[1], self.spec.value[3], self.spec.step
        self._grid = [p for p in (low + step * j for j in range(1, int((high - low) / step)))
                      if abs(p - self.spec.value[2]) >= step]
        if len(self._grid) <= 2 * state.RATINGS_KEPT:
            raise SystemExit(f"only {len(self._grid)} slider positions to move to")
        self._positions = itertools.count()

    def fresh_move(self) -> tuple[list, dict]:
        """A slider value whose rating ELEx does not remember, and the settings it gives."""
        value = list(self.spec.value)
        value[2] = self._grid[next(self._positions) % len(self._grid)]
        moved, _ = callbacks.apply_event(self.data, self.settings, ids.X_BOUNDS, self.task,
                                         {**self.values, "x_bounds": value})
        if moved["boundaries"][self.task][self.x][1] == self.settings["boundaries"][self.task][self.x][1]:
            raise RuntimeError(f"slider value {value} left boundary b1 where it was")
        return value, moved

    def views(self, settings: dict, environments=None, scale: str = "index", forget_points: bool = False) -> int:
        if forget_points:  # as on the first view of these axes: no point layer remembered
            self.table.cache.pop("points", None)
        return encode(*callbacks.views(self.data, settings, self.task, environments or self.environments,
                                       self.x, self.y, scale, self.first))

    def table_page(self, settings: dict, page: int = 0, sort=None, query: str | None = None) -> int:
        sort = sort or [{"column_id": "inference_power_draw", "direction": "asc"}]
        return encode(rated_table.table_page(state.rate(self.data, self.task, settings), page, 15, sort, query),
                      rated_table.table_columns(self.rating), rated_table.rating_cell_styles(self.rating))

    def detail(self, settings: dict) -> int:
        return encode(callbacks.label_source(callbacks.selected_summary(self.data, settings, self.first)))

    def slider_move(self) -> int:
        """What one move costs on the server: the four callbacks it triggers, one fresh rating."""
        _, new = self.fresh_move()
        return encode(new) + self.views(new) + self.table_page(new) + self.detail(new)


def run_callbacks(sc: Scenario, repeat: int) -> tuple[dict, float]:
    """Each callback's pure work plus encoding; then a whole move. Returns (ms per case, move ms)."""
    after = sc.after_move
    cases = {
        "rate (index + ratings + compound)": lambda: state.rate(sc.data, sc.task, sc.fresh_move()[1]),
        "slider move: on_settings": lambda: encode(callbacks.apply_event(sc.data, sc.settings, ids.X_BOUNDS,
                                                                         sc.task, sc.values)),
        "slider move: on_views (scatter + bars)": lambda: sc.views(after),
        "slider move: on_table (sorted page)": lambda: sc.table_page(after),
        "filter + sort the table: on_table": lambda: sc.table_page(
            after, 3, [{"column_id": "compound", "direction": "desc"}, {"column_id": "top1_val", "direction": "asc"}],
            "{model} icontains resnet && {top1_val} > 0.7"),
        "slider move: on_detail (summary + label)": lambda: sc.detail(after),
        "axis change: on_views (points built afresh)": lambda: sc.views(after, forget_points=True),
        "axis change: on_settings (slider specs)": lambda: encode(
            *callbacks.settings_outputs(sc.data, sc.settings, sc.task, "parameters", "inference_time")),
        "calibrate: on_settings": lambda: encode(session.calibrate(sc.settings, sc.data, sc.task)),
        "one environment, real scale: on_views": lambda: sc.views(after, sc.environments[:1], "real"),
    }
    results = {}
    for name, function in cases.items():
        ms, _ = timed(function, repeat, name)
        results[name] = round(ms, 1)
        print(f"  {name:<45} {ms:8.1f} ms  (CPU {CPU_TIMES[name]:.1f} ms)")
    slider, _ = timed(sc.slider_move, repeat, "slider move")
    print(f"  {'slider move, all four callbacks, fresh rating':<45} {slider:8.1f} ms  (CPU "
          f"{CPU_TIMES['slider move']:.1f} ms; goal < 100 ms)")
    return results, round(slider, 1)


def http_requests(sc: Scenario) -> dict:
    """(callback output prefix, inputs) of the four requests a slider move makes."""
    common = {f"{ids.TASK}.value": sc.task, f"{ids.X}.value": sc.x, f"{ids.Y}.value": sc.y,
              f"{ids.REFERENCE}.value": sc.settings["reference"], f"{ids.MODE}.value": sc.settings["mode"],
              f"{ids.ENVIRONMENTS}.value": sc.environments, f"{ids.SCALE}.value": "index"}
    return {
        "on_settings (slider value)": (f"..{ids.SETTINGS}.data", {
            f"{ids.X_BOUNDS}.value": sc.moved, **common, f"{ids.SETTINGS}.data": sc.settings,
            f"{ids.Y_BOUNDS}.value": sliders.slider_spec(sc.rating, sc.y).value}),
        "on_views (scatter + bars)": (f"..{ids.SCATTER}.figure", {
            f"{ids.SETTINGS}.data": sc.after_move, **common, f"{ids.SELECTED}.data": sc.first}),
        "on_rows (the grid's sorted block)": (f"{ids.TABLE}.getRowsResponse", {
            f"{ids.SETTINGS}.data": sc.after_move, **common, f"{ids.TABLE}.getRowsRequest": {
                "startRow": 0, "endRow": 50, "filterModel": {},
                "sortModel": [{"colId": "inference_power_draw", "sort": "asc"}]}}),
        "on_detail (summary + label)": (f"..{ids.LABEL}.src", {
            f"{ids.SELECTED}.data": sc.first, f"{ids.SETTINGS}.data": sc.after_move}),
    }


def run_http(sc: Scenario, repeat: int) -> tuple[dict, float]:
    """Each request through Dash's dispatch, then a whole move as the browser makes it."""
    from mlel.elex.app import create_app

    app = create_app(sc.data)
    client = app.server.test_client()
    requests = http_requests(sc)

    def send(name: str, value: list, new: dict) -> int:
        prefix, payload = requests[name]
        changed = {f"{ids.X_BOUNDS}.value": value} if prefix.endswith(f"{ids.SETTINGS}.data") else \
            {f"{ids.SETTINGS}.data": new}
        return dash_request(client, app, prefix, {**payload, **changed})

    http = {}
    print("  end to end, one HTTP request through Dash per callback (each a fresh slider position):")
    for name in requests:
        ms, size = timed(lambda name=name: send(name, *sc.fresh_move()), repeat, f"http {name}")
        http[name] = round(ms, 1)
        print(f"  {name:<45} {ms:8.1f} ms  (CPU {CPU_TIMES[f'http {name}']:.1f} ms, {size / 1024:.0f} KiB)")

    def http_move() -> int:
        value, new = sc.fresh_move()
        return sum(send(name, value, new) for name in requests)

    total, _ = timed(http_move, repeat, "http slider move")
    print(f"  {'slider move, all four requests, fresh rating':<45} {total:8.1f} ms  (CPU "
          f"{CPU_TIMES['http slider move']:.1f} ms; goal < 300 ms)")
    return http, round(total, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    start = time.perf_counter()
    data = state.ElexData.load(corpus_runs(args.runs))
    load_s = time.perf_counter() - start
    sc = Scenario(data)
    print(f"{args.runs} runs -> {len(data.table('inference'))} inference + "
          f"{len(data.tables.get('training', ()))} training results in "
          f"{len(sc.table.environments)} inference environments (built in {load_s:.1f} s); "
          f"timing the {sc.task} task, median of {args.repeat}")
    results, slider = run_callbacks(sc, args.repeat)
    http, total = run_http(sc, args.repeat)
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(json.dumps({"runs": args.runs, "rows": len(sc.table), "max_points_drawn": figures.MAX_POINTS,
                      "ms": results, "slider_move_total_ms": slider, "http_ms": http,
                      "http_slider_move_total_ms": total, "cpu_ms": CPU_TIMES,
                      "load_average": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
