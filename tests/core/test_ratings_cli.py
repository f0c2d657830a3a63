"""``python -m mlel.ratings``: each module executes once, --properties, JSON through orjson."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from mlel.tasks.properties import load_property_set

# Counts code executions per source file with an audit hook: importing a module and running one
# with runpy both raise an "exec" event. A module run as __main__ that the CLI imports again shows
# up as one file executed twice.
COUNT_EXECUTIONS = """
import collections, runpy, sys
seen = collections.Counter()
def hook(event, args):
    if event == "exec" and hasattr(args[0], "co_filename"):
        seen[args[0].co_filename] += 1
sys.addaudithook(hook)
import os
def leave(code):  # the CLI ends its process with os._exit: here, the SystemExit it stands for
    raise SystemExit(code)
os._exit = leave
sys.argv = ["mlel.ratings", "--directory", sys.argv[1], "--json"]
try:
    runpy.run_module("mlel.ratings", run_name="__main__", alter_sys=True)
except SystemExit as done:
    code = done.code
print({f: n for f, n in seen.items() if n > 1 and "/mlel/" in f}, code, file=sys.stderr)
"""


@pytest.fixture
def two_logs(tmp_path, reference_dir):
    for name in ("infer_2022_03_03_17_21_20.json", "infer_2022_03_03_17_30_03.json"):
        shutil.copy(reference_dir / name, tmp_path / name)
    return tmp_path


def test_python_m_mlel_ratings_executes_each_module_once(two_logs, repo_root):
    out = subprocess.run([sys.executable, "-c", COUNT_EXECUTIONS, str(two_logs)], capture_output=True,
                         text=True, cwd=repo_root, timeout=120)
    assert out.stderr.strip().splitlines()[-1] == "{} 0", out.stderr
    assert [s["model"] for s in json.loads(out.stdout)] == ["EfficientNetB0", "ResNet101"]


def test_properties_file_replaces_the_builtin_set(two_logs, tmp_path):
    data = load_property_set("inference").to_dict()
    data["properties"] = {k: data["properties"][k] for k in ("inference_power_draw", "top1_val")}
    data["label_tiles"] = []
    data["properties"]["inference_power_draw"]["weight"] = 0.0
    path = tmp_path / "props.json"
    path.write_text(json.dumps(data))
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(two_logs), "--json",
                          "--properties", str(path)], capture_output=True, text=True, check=True)
    effnet = next(s for s in json.loads(out.stdout) if s["model"] == "EfficientNetB0")
    assert list(effnet["metrics"]) == ["inference_power_draw", "top1_val"] and effnet["compound"] == "D"
    table = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(two_logs), "--properties", str(path)],
                           capture_output=True, text=True, check=True).stdout
    assert "Top-1 accuracy" in table and "68.1 % D" in table and "Operations" not in table


def test_bad_properties_file_is_a_usage_error(two_logs, tmp_path):
    path = tmp_path / "props.json"
    path.write_text('{"task": "inference"}')
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(two_logs), "--properties", str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "props.json" in out.stderr


def test_json_is_valid_with_nan_values(tmp_path, reference_dir):
    # a training log with NaN losses: the JSON printed must still be strict JSON (no NaN literal)
    for name in ("train_2022_03_04_15_28_22.json", "infer_2022_03_03_17_21_20.json"):
        shutil.copy(reference_dir / name, tmp_path / name)
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--json"],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    training = next(s for s in data if s["task"] == "training")
    assert training["metrics"]["gflops"]["value"] == pytest.approx(7.579424696)
    assert training["metrics"]["top1_val"]["index"] == 1.0


def test_rated_record_round_trip_and_nan_to_null(reference_dir):
    from mlel.base.io import dumps
    from mlel.runlog.logs import load_logs
    from mlel.ratings.rated import RatedResult
    from mlel.ratings import aggregate_runs, rate_entries

    runs, _ = load_logs([reference_dir / "infer_2022_03_03_17_21_20.json"])
    records, _ = rate_entries(aggregate_runs(runs))
    record = records[0]
    summary = record.to_dict()
    assert list(summary)[:11] == ["task", "environment", "model", "logs", "metrics", "compound", "dataset",
                                  "backend", "reference", "energy", "spread"]  # SPEC §7 keys, in this order
    assert (summary["n_runs"], summary["uncertainty"], summary["graded"]) == (1, "1 run: no interval", True)
    assert RatedResult.from_dict(summary).to_dict() == summary
    with_settings = RatedResult.from_dict(record.to_dict(settings=True)).to_dict(settings=True)
    assert with_settings["mode"] == "optimistic median" and with_settings["weights"]["top1_val"] == 1.0
    assert with_settings["boundaries"]["top1_val"][1] == 1.0  # SPEC §5: top-1's b1
    assert set(with_settings) - set(summary) == {"mode", "weights", "boundaries"}
    # a NaN accuracy in a log is a value the JSON cannot hold: it prints as null
    nan_entry = RatedResult.from_dict({**summary, "metrics": {"top1_val": {"value": float("nan"),
                                                                           "index": None, "rating": "E"}}})
    assert b'"value": null' in dumps([nan_entry.to_dict()])


def _record(model, energy, quality, source="reported"):
    return {"schema": "mlee-result/1", "task": "generic", "model": model, "dataset": "toy",
            "environment": {"hardware": "B200", "software": "vLLM", "name": "B200 - vLLM"},
            "properties": {"energy_per_sample": {"value": energy, "unit": "J/sample", "source": source},
                           "quality": {"value": quality, "unit": "fraction", "source": "reported"}},
            "runs": 1, "provenance": {"tool": "test", "file": "t.csv", "row": 0}}


def test_imported_result_records_rate_beside_merged_logs(two_logs):
    records = {"ref.json": _record("ref", 2.0, 0.8), "lean.json": _record("lean", 0.5, 0.79, "estimated"),
               "lean-again.json": _record("lean", 0.7, 0.79, "estimated")}
    for name, record in records.items():
        (two_logs / name).write_text(json.dumps(record))
    broken = _record("odd", 1.0, 0.5)
    broken["properties"]["quality"]["source"] = "guessed"
    (two_logs / "broken.json").write_text(json.dumps(broken))
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(two_logs), "--json", "--task", "generic",
                          "--reference", "ref"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "broken.json" in out.stderr and "guessed" in out.stderr
    rated = {s["model"]: s for s in json.loads(out.stdout)}
    assert set(rated) == {"ref", "lean"}
    lean = rated["lean"]
    assert lean["logs"] == ["lean-again.json", "lean.json"]  # two records of one entry: averaged
    assert lean["metrics"]["energy_per_sample"]["value"] == pytest.approx(0.6)
    assert lean["metrics"]["energy_per_sample"]["index"] == pytest.approx(2.0 / 0.6)
    assert lean["spread"]["energy_per_sample"] == pytest.approx(0.1)
    assert lean["energy"]["estimated"] is True and rated["ref"]["energy"]["estimated"] is False
    both = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(two_logs)], capture_output=True,
                          text=True, check=True).stdout
    assert "inference — 2 rated" in both and "generic — 2 rated" in both


def test_a_record_of_a_task_without_property_set_is_skipped_and_named(two_logs):
    (two_logs / "alien.json").write_text(json.dumps({**_record("x", 1.0, 0.5), "task": "alien-task"}))
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(two_logs), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and len(json.loads(out.stdout)) == 2
    assert "alien.json" in out.stderr and "alien-task" in out.stderr and "--properties" in out.stderr


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_the_output_reaches_a_pipe_whole_though_the_process_ends_at_once(two_logs, as_json):
    # the command ends with os._exit: what Python still buffers (stdout to a pipe, unless
    # PYTHONUNBUFFERED) must be flushed first
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(two_logs)] + ["--json"] * as_json,
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stderr.strip().endswith("0 file(s) skipped"), out.stderr
    if as_json:
        assert [s["model"] for s in json.loads(out.stdout)] == ["EfficientNetB0", "ResNet101"]
    else:
        assert "EfficientNetB0" in out.stdout and out.stdout.rstrip().splitlines()[-1].split()[0] == "ResNet101"


@pytest.mark.parametrize("slice_size", [1, 7, 1000])
def test_json_written_in_slices_is_the_same_bytes_as_one_dump(reference_dir, slice_size):
    import io

    from mlel.ratings.cli import _write_json
    from mlel.base.io import dumps
    from mlel.ratings.report import rate_directory

    records = rate_directory(reference_dir).records
    out = io.BytesIO()
    _write_json(records, out, slice_size)
    assert out.getvalue() == dumps([record.to_dict() for record in records], indent=False)
    empty = io.BytesIO()
    _write_json([], empty, slice_size)
    assert empty.getvalue() == b"[]"


def test_a_reader_that_stops_early_gets_no_traceback(reference_dir):
    # `python -m mlel.ratings --json | head`: the closed pipe ends the command quietly, exit 1
    proc = subprocess.Popen([sys.executable, "-m", "mlel.ratings", "--directory", str(reference_dir), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10).startswith(b"[")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1 and "Traceback" not in err and "BrokenPipe" not in err, err[-2000:]
