"""merge_results.py / mlel.runlog.merge: run folders -> merged logs, safe, idempotent, 2022-compatible."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from merge_helpers import make_run
from mlel.runlog import merge
from mlel.runlog.logs import parse_log, read_log

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / ".." / "shared" / "reference" / "mlee-2022" / "results"


@pytest.fixture
def no_devices(monkeypatch, tmp_path):
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setitem(sys.modules, "pynvml", None)


@pytest.fixture
def runs(tmp_path, no_devices):
    """Two complete inference runs, one training run and one interrupted inference run."""
    d = tmp_path / "runs"
    make_run(d, "infer_2024_01_01_10_00_00", model="ResNet101", accuracy=0.77)
    make_run(d, "infer_2024_01_01_10_05_00", model="MobileNetV2", accuracy=0.71)
    make_run(d, "train_2024_01_01_09_00_00", model="MobileNetV2")
    make_run(d, "infer_2024_01_01_10_10_00", model="VGG16", complete=False, reason="KeyboardInterrupt")
    return d


def cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, str(REPO / "merge_results.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_inference_folder_merges_to_2022_layout_plus_ours(runs):
    log = merge.merge_run_folder(runs / "infer_2024_01_01_10_00_00")
    assert list(log)[:6] == ["directory_name", "config", "execution_platform", "requirements", "train",
                             "validation"]
    assert log["train"] == {"monitoring_pynvml": None, "monitoring_pyrapl": None, "monitoring_psutil": None,
                            "results": None, "duration": None}
    val = log["validation"]
    assert val["monitoring_pynvml"] is None and val["monitoring_pyrapl"] is None  # absent sources: null
    assert val["monitoring_estimate"]["total"]["estimated"] is True
    assert val["monitoring_psutil"]["total"]["total_power_draw"] == -1
    results = val["results"]
    assert val["duration"] == pytest.approx(results["end"] - results["start"])
    assert val["energy"]["energy_ws"] == pytest.approx(val["monitoring_estimate"]["total"]["total_power_draw"])
    assert log["requirements"][0] == "# 3.11.7 (main)" and "torch==2.14.1" in log["requirements"]
    assert "incomplete" not in log
    run = parse_log(log, "x.json")  # the rating core reads it
    assert run.sources == {"estimate": "estimated"}
    assert run.energy_ws == pytest.approx(val["energy"]["energy_ws"])


def test_training_folder_has_the_keys_at_top_level(runs):
    log = merge.merge_run_folder(runs / "train_2024_01_01_09_00_00")
    for key in ("monitoring_pynvml", "monitoring_pyrapl", "monitoring_psutil", "monitoring_estimate",
                "results", "duration", "energy"):
        assert key in log
    assert "validation" not in log and "train" not in log
    assert parse_log(log, "t.json").epochs == 2


def _reference(prefix):
    files = sorted(REFERENCE.glob(f"{prefix}_*.json"))
    assert files, f"2022 reference logs missing under {REFERENCE}"
    return [json.loads(f.read_text()) for f in files]


def _device_keys(summary):
    return {k for dev, v in summary.items() if dev != "total" for k in v}


def test_schema_matches_the_2022_logs(runs):
    """Same keys as the 2022 logs at the places readers use (ours may add keys, never drop one)."""
    ours_inf = merge.merge_run_folder(runs / "infer_2024_01_01_10_00_00")
    ours_train = merge.merge_run_folder(runs / "train_2024_01_01_09_00_00")
    for ref in _reference("infer"):
        assert set(ref) <= set(ours_inf)
        assert set(ref["validation"]) <= set(ours_inf["validation"])
        assert set(ref["train"]) == set(ours_inf["train"])
        for source in ("monitoring_pynvml", "monitoring_pyrapl", "monitoring_psutil"):
            if ref["validation"][source] is not None:
                assert set(ref["validation"][source]["total"]) <= set(ours_inf["validation"]["monitoring_estimate"]["total"])
        assert set(ref["validation"]["results"]) - {"metrics", "model", "start", "end"} == set()
        assert set(ref["validation"]["results"]["metrics"]) <= set(ours_inf["validation"]["results"]["metrics"])
        assert {"Processor", "GPU"} <= set(ref["execution_platform"]) and \
            {"Processor", "GPU"} <= set(ours_inf["execution_platform"])
    ref_ps = _reference("infer")[0]["validation"]["monitoring_psutil"]
    ours_ps = ours_inf["validation"]["monitoring_psutil"]
    # the process summary: the 2022 scalar fields, the memory and CPU quantities readers plot
    assert {"start_unix", "end_unix", "start_utc", "end_utc", "total_duration", "nr_measurements",
            "cpu_percent", "mem_rss", "mem_vms", "mem_uss", "mem_pss", "cpu_num",
            "total_power_draw"} <= _device_keys(ref_ps) & _device_keys(ours_ps)
    for ref in _reference("train"):
        assert set(ref) <= set(ours_train)
        assert set(ref["results"]) - {"history", "model", "start", "end"} == set()


def test_our_logs_load_like_the_2022_ones(runs, tmp_path):
    out = tmp_path / "results"
    merge.merge_directory(runs, out)
    ref = read_log(next(REFERENCE.glob("infer_*.json")))
    ours = read_log(out / "infer_2024_01_01_10_00_00.json")
    assert type(ref) is type(ours)
    assert ours.task == "inference" and ours.energy_ws > 0 and ours.accuracy == 0.77
    assert ours.environment.startswith("Xeon(R) W-2155 - PyTorch")


def test_cli_merges_then_is_a_no_op_then_refuses_to_overwrite(runs, tmp_path):
    out = tmp_path / "results"
    res = cli("--directory", runs, "--output-dir", out)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.name}.json" for p in runs.iterdir())
    # the summary table: one row per run, with model, energy and its source
    for name in ("ResNet101", "MobileNetV2", "VGG16", "estimated", "incomplete"):
        assert name in res.stdout
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()}
    again = cli("--directory", runs, "--output-dir", out)
    assert again.returncode == 0 and again.stdout.count("unchanged") >= 4
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()} == before

    changed = runs / "infer_2024_01_01_10_00_00" / "validation_results.json"
    data = json.loads(changed.read_text())
    data["metrics"]["accuracy"] = 0.5
    changed.write_text(json.dumps(data))
    refused = cli("--directory", runs, "--output-dir", out)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert (out / "infer_2024_01_01_10_00_00.json").read_bytes() == before["infer_2024_01_01_10_00_00.json"][1]
    forced = cli("--directory", runs, "--output-dir", out, "--force")
    assert forced.returncode == 0 and "overwritten" in forced.stdout
    assert json.loads((out / "infer_2024_01_01_10_00_00.json").read_text())["validation"]["results"]["metrics"]["accuracy"] == 0.5


def test_incomplete_run_is_merged_with_its_reason(runs, tmp_path):
    log = merge.merge_run_folder(runs / "infer_2024_01_01_10_10_00")
    assert log["incomplete"] is True and log["incomplete_reason"] == "KeyboardInterrupt"
    assert log["validation"]["results"] is None and log["validation"]["duration"] is None
    assert log["validation"]["monitoring_estimate"]["total"]["total_power_draw"] > 0  # kept what it measured
    no_reason = make_run(runs, "train_2024_01_02_00_00_00", complete=False)
    log = merge.merge_run_folder(no_reason)
    assert log["incomplete"] is True and "results.json" in log["incomplete_reason"]


def test_broken_folders_are_reported_and_good_runs_still_merged(runs, tmp_path):
    bad_config = make_run(runs, "infer_2024_02_01_00_00_00")
    text = (bad_config / "config.json").read_text()
    (bad_config / "config.json").write_text(text[: len(text) // 2])  # truncated
    bad_mon = make_run(runs, "infer_2024_02_02_00_00_00")
    text = (bad_mon / "validation_monitoring_psutil.json").read_text()
    (bad_mon / "validation_monitoring_psutil.json").write_text(text[:-20])
    bad_results = make_run(runs, "train_2024_02_03_00_00_00")
    (bad_results / "results.json").write_text('{"start": 1, "end": ')
    no_mon = make_run(runs, "infer_2024_02_04_00_00_00")
    (no_mon / "validation_monitoring_psutil.json").unlink()  # missing: null, as in 2022
    no_platform = make_run(runs, "infer_2024_02_05_00_00_00")
    (no_platform / "execution_platform.json").unlink()
    (runs / "notes").mkdir()  # not a run folder: ignored
    (runs / "notes" / "readme.txt").write_text("hello")

    out = tmp_path / "results"
    res = cli("--directory", runs, "--output-dir", out)
    assert res.returncode == 1
    for folder, file in ((bad_config, "config.json"), (bad_mon, "validation_monitoring_psutil.json"),
                         (bad_results, "results.json"), (no_platform, "execution_platform.json")):
        line = next(ln for ln in res.stderr.splitlines() if folder.name in ln)
        assert "FAILED" in line and file in line
        assert not (out / f"{folder.name}.json").exists()
    merged = sorted(p.name for p in out.iterdir())
    assert merged == sorted(f"{n}.json" for n in (
        "infer_2024_01_01_10_00_00", "infer_2024_01_01_10_05_00", "train_2024_01_01_09_00_00",
        "infer_2024_01_01_10_10_00", no_mon.name))
    assert json.loads((out / f"{no_mon.name}.json").read_text())["validation"]["monitoring_psutil"] is None
    assert not list(out.glob(".*"))  # no temp files left behind


def test_training_log_is_embedded(runs, tmp_path):
    train = runs / "train_2024_01_01_09_00_00"
    make_run(runs, "infer_2024_03_01_00_00_00", model="MobileNetV2", infer_model=str(train))
    log = merge.merge_run_folder(runs / "infer_2024_03_01_00_00_00")
    assert log["training"] == merge.merge_run_folder(train)
    # found by name under --train-dirs when the path is not valid here (runs moved)
    elsewhere = tmp_path / "elsewhere"
    make_run(elsewhere, "infer_2024_03_02_00_00_00", model="MobileNetV2",
             infer_model="/old/cluster/path/train_2024_01_01_09_00_00")
    out = tmp_path / "results"
    res = cli("--directory", elsewhere, "--output-dir", out, "--train-dirs", runs)
    assert res.returncode == 0, res.stderr
    embedded = json.loads((out / "infer_2024_03_02_00_00_00.json").read_text())["training"]
    assert embedded["directory_name"] == "train_2024_01_01_09_00_00" and embedded["results"]["history"]


def test_output_log_dir_keeps_archives(runs, tmp_path):
    archives = tmp_path / "raw"
    res = cli("--directory", runs, "--output-dir", tmp_path / "results", "--output-log-dir", archives)
    assert res.returncode == 0, res.stderr
    with tarfile.open(archives / "infer_2024_01_01_10_00_00.tar.gz") as tar:
        names = tar.getnames()
    assert "infer_2024_01_01_10_00_00/validation_monitoring_estimate.json" in names
    assert "infer_2024_01_01_10_00_00/config.json" in names


def test_publish_leaves_old_file_and_no_temp_on_crash(tmp_path, monkeypatch):
    target = tmp_path / "x.json"
    target.write_text('{"old": 1}')

    def crash(*_):
        raise OSError(5, "disk gone")

    monkeypatch.setattr(merge.os, "replace", crash)
    with pytest.raises(merge.OutputError):
        merge.publish(target, b'{"new": 2}', force=True)
    assert target.read_text() == '{"old": 1}' and list(tmp_path.iterdir()) == [target]


def test_usage_errors(tmp_path):
    assert cli("--directory", tmp_path / "absent").returncode == 2
    (tmp_path / "empty").mkdir()
    assert cli("--directory", tmp_path / "empty", "--output-dir", tmp_path / "o").returncode == 3


def test_ratings_rate_merged_logs_and_skip_incomplete(runs, tmp_path):
    out = tmp_path / "results"
    assert merge.main(["--directory", str(runs), "--output-dir", str(out)]) == 0
    res = subprocess.run([sys.executable, "-m", "mlel.ratings", "--directory", str(out), "--reference",
                          "ResNet101", "--json"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr
    rated = json.loads(res.stdout)
    models = {(r["task"], r["model"]) for r in rated}
    assert ("inference", "ResNet101") in models and ("inference", "MobileNetV2") in models
    assert ("inference", "VGG16") not in models  # incomplete: skipped ...
    assert "infer_2024_01_01_10_10_00" in res.stderr  # ... with a line naming it
    resnet = next(r for r in rated if r["model"] == "ResNet101")
    # 0.12 s runs: kept and shown, but too short to grade (validity gates, issue 13) ...
    assert resnet["graded"] is False and "measured" in resnet["not_graded"]
    assert resnet["metrics"]["inference_power_draw"]["value"] > 0
    # ... and without the gates the merged logs index as before
    from mlel.ratings import RatingOptions
    from mlel.ratings.report import rate_directory
    ungated = rate_directory(out, RatingOptions(reference="ResNet101", gates=None)).rated
    resnet = next(r for r in ungated if r["model"] == "ResNet101")
    assert resnet["metrics"]["inference_power_draw"]["index"] == pytest.approx(1.0)


def test_training_folder_found_beside_the_inference_run(runs):
    make_run(runs, "infer_2024_03_03_00_00_00", model="MobileNetV2",
             infer_model="some/old/place/train_2024_01_01_09_00_00")
    log = merge.merge_run_folder(runs / "infer_2024_03_03_00_00_00")
    assert log["training"]["directory_name"] == "train_2024_01_01_09_00_00"


def test_directory_that_is_a_run_folder_is_merged_alone(runs, tmp_path):
    outcomes = merge.merge_directory(runs / "infer_2024_01_01_10_05_00", tmp_path / "out")
    assert [o.status for o in outcomes] == ["merged"]
    assert (tmp_path / "out" / "infer_2024_01_01_10_05_00.json").is_file()


# --- round trip with the real experiment scripts ---------------------------------------------------

def _script(*args, cwd):
    res = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                         timeout=300, env={**__import__("os").environ, "MLEL_POWERCAP_ROOT": str(cwd / "none")})
    assert res.returncode == 0, (args, res.stdout[-2000:], res.stderr[-2000:])
    return res


@pytest.mark.slow
def test_round_trip_train_infer_merge_rate(tmp_path, torch_trained_run):
    """train.py (the session's one torch training run) -> infer.py on the trained folder ->
    merge_results.py -> python -m mlel.ratings."""
    shutil.copytree(torch_trained_run, tmp_path / "runs" / torch_trained_run.name)
    (train,) = (tmp_path / "runs").glob("train_*")
    _script(REPO / "infer.py", "--infer-model", f"runs/{train.name}", "--dataset", "digits",
            "--n-batches", "1", "-b", "8", "--output-dir", "runs", cwd=tmp_path)
    (infer,) = (tmp_path / "runs").glob("infer_*")
    res = _script(REPO / "merge_results.py", "--directory", "runs", "--output-dir", "results", cwd=tmp_path)
    assert "2 merged" in res.stdout and "estimated" in res.stdout
    log = json.loads((tmp_path / "results" / f"{infer.name}.json").read_text())
    assert log["training"] == json.loads((tmp_path / "results" / f"{train.name}.json").read_text())
    assert log["validation"]["monitoring_estimate"]["total"]["estimated"] is True
    assert log["validation"]["energy"]["sources"] == {"estimate": "estimated"}
    rated = json.loads(_script("-m", "mlel.ratings", "--directory", tmp_path / "results", "--reference",
                               "ResNet18", "--json", cwd=REPO).stdout)
    assert {r["task"] for r in rated} == {"inference", "training"}
    inference = next(r for r in rated if r["task"] == "inference")
    assert inference["metrics"]["inference_power_draw"]["value"] > 0


# --- merges that cannot lose data (issue 15) -------------------------------------------------------

def _quick_run(runs: Path, name: str, accuracy: float, extra_files: dict | None = None) -> Path:
    """A complete inference run folder written by hand (no monitoring): fast to make by the dozen."""
    folder = runs / name
    folder.mkdir(parents=True)
    files = {"config.json": {"model": "ResNet101", "backend": "pytorch", "infer_model": "ResNet101"},
             "execution_platform.json": {"Processor": "Intel(R) Xeon(R) W-2155 CPU @ 3.30GHz", "GPU": {}},
             "validation_results.json": {"start": 1.0, "end": 2.0, "model": {"params": 1, "flops": 1, "fsize": 1},
                                         "metrics": {"accuracy": accuracy, "n_samples": 10}},
             **(extra_files or {})}
    for file, content in files.items():
        (folder / file).write_text(json.dumps(content))
    return folder


def _merge_statuses(args) -> dict:
    runs, out = args
    return {o.folder.name: o.status for o in merge.merge_directory(runs, out)}


def test_concurrent_merges_of_different_content_never_overwrite(tmp_path):
    """Two merges into one folder, same run names, different content, started together, 8 rounds:
    every name ends with exactly one winner whose content is on disk; the other says 'exists'."""
    import concurrent.futures
    import multiprocessing

    names = [f"infer_2024_05_01_00_00_{i:02d}" for i in range(40)]
    sides = {"a": 0.25, "b": 0.75}
    for side, accuracy in sides.items():
        for name in names:
            _quick_run(tmp_path / side, name, accuracy)
    lost = []
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        for round_ in range(8):
            out = tmp_path / f"out{round_}"
            results = list(pool.map(_merge_statuses, [(tmp_path / s, out) for s in sides]))
            for name in names:
                statuses = {side: res[name] for side, res in zip(sides, results)}
                winners = [side for side, status in statuses.items() if status == "merged"]
                on_disk = json.loads((out / f"{name}.json").read_text())["validation"]["results"]
                if len(winners) != 1 or on_disk["metrics"]["accuracy"] != sides[winners[0]]:
                    lost.append((round_, name, statuses))
                elif set(statuses.values()) != {"merged", "exists"}:
                    lost.append((round_, name, statuses))
            assert not list(out.glob(".*"))  # no temp or pending file left
    assert lost == []


def test_same_content_merged_concurrently_is_idempotent(tmp_path):
    import concurrent.futures
    import multiprocessing

    names = [f"train_2024_05_02_00_00_{i:02d}" for i in range(20)]
    for name in names:
        _quick_run(tmp_path / "runs", name, 0.5, {"results.json": {"start": 1, "end": 3, "history": {"loss": [1]}}})
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        results = list(pool.map(_merge_statuses, [(tmp_path / "runs", tmp_path / "out")] * 2))
    for name in names:
        assert sorted(r[name] for r in results) == ["merged", "unchanged"]  # one wrote, one agreed


def test_output_dir_that_is_a_file_is_one_clean_line(tmp_path):
    _quick_run(tmp_path / "runs", "infer_2024_05_03_00_00_00", 0.5)
    (tmp_path / "results").write_text("not a folder")
    res = cli("--directory", tmp_path / "runs", "--output-dir", tmp_path / "results")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr and "not a directory" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stdout == ""


def test_full_disk_fails_cleanly_and_leaves_no_temp(tmp_path, monkeypatch, capsys):
    import errno
    import os

    import mlel.base.io

    for i in range(3):
        _quick_run(tmp_path / "runs", f"infer_2024_05_04_00_00_0{i}", 0.5)
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mlel.base.io.os, "fdopen", lambda fd, *a, **k: FullDisk(real_fdopen(fd, *a, **k)))
    out = tmp_path / "results"
    code = merge.main(["--directory", str(tmp_path / "runs"), "--output-dir", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("FAILED") == 3 and "No space left on device" in err and "Traceback" not in err
    assert list(out.iterdir()) == []  # no log, no temp file


def test_unwritable_output_fails_cleanly(tmp_path, monkeypatch, capsys):
    import mlel.base.io

    _quick_run(tmp_path / "runs", "infer_2024_05_05_00_00_00", 0.5)

    def denied(*args, **kwargs):  # what mkstemp meets in a folder we may not write (root bypasses chmod)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(mlel.base.io.tempfile, "mkstemp", denied)
    code = merge.main(["--directory", str(tmp_path / "runs"), "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "Permission denied" in err and "FAILED" in err
    assert list((tmp_path / "out").iterdir()) == []


def test_merged_logs_are_readable_per_umask(tmp_path):
    import os
    import stat

    _quick_run(tmp_path / "runs", "infer_2024_05_06_00_00_00", 0.5)
    merge.merge_directory(tmp_path / "runs", tmp_path / "out")
    mask = os.umask(0)
    os.umask(mask)
    mode = stat.S_IMODE((tmp_path / "out" / "infer_2024_05_06_00_00_00.json").stat().st_mode)
    assert mode == 0o666 & ~mask


def test_sigterm_right_after_the_folder_was_made_is_incomplete(tmp_path, no_devices):
    """A run stopped before it wrote its platform (or anything): incomplete, not FAILED."""
    runs = tmp_path / "runs"
    early = runs / "infer_2024_05_07_00_00_00"
    early.mkdir(parents=True)
    (early / "config.json").write_text(json.dumps({"model": "ResNet101", "backend": "pytorch"}))
    (early / "incomplete.json").write_text(json.dumps({"reason": "SIGTERM"}))
    (runs / "train_2024_05_07_00_00_01").mkdir()  # nothing written at all
    res = cli("--directory", runs, "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert "FAILED" not in res.stderr and res.stdout.count("(incomplete)") == 2
    log = json.loads((tmp_path / "out" / f"{early.name}.json").read_text())
    assert log["incomplete"] is True and "SIGTERM" in log["incomplete_reason"]
    assert "execution_platform.json" in log["incomplete_reason"] and log["execution_platform"] is None
    assert read_log_problem(tmp_path / "out" / f"{early.name}.json").startswith("incomplete run")


def read_log_problem(path) -> str:
    try:
        read_log(path)
    except ValueError as exc:
        return str(exc)
    return ""


def test_results_without_platform_still_fail(tmp_path):
    folder = _quick_run(tmp_path / "runs", "infer_2024_05_08_00_00_00", 0.5)
    (folder / "execution_platform.json").unlink()
    outcome, = merge.merge_directory(tmp_path / "runs", tmp_path / "out")
    assert outcome.status == "failed" and "execution_platform.json: missing" in outcome.message


def test_table_energy_sums_every_power_source(tmp_path):
    """GPU (2022 raw NVML form) + CPU (RAPL interval form): the table shows their sum."""
    ts = [1_700_000_000_000.0 + 1000.0 * i for i in range(3)]
    gpu = {"0": {"timestamp": ts, "power_usage": [100.0, 100.0, 100.0]}}  # 200 J by trapezoid
    cpu = {"0": {"timestamp": ts, "duration": [1.0, 1.0, 1.0], "package-0": [10.0, 20.0, 30.0]},  # 60 J
           "_meta": {"power_keys": ["package-0"], "estimated": False}}
    folder = _quick_run(tmp_path / "runs", "infer_2024_05_09_00_00_00", 0.5,
                        {"validation_monitoring_pynvml.json": gpu, "validation_monitoring_pyrapl.json": cpu})
    (outcome,) = merge.merge_directory(folder.parent, tmp_path / "out")
    table = merge.summary_table([outcome])
    assert "260.0 Ws" in table and "measured" in table
    assert read_log(tmp_path / "out" / f"{folder.name}.json").energy_ws == pytest.approx(260.0)


def test_power_sample_of_1e308_does_not_crash_merge(tmp_path):
    ts = [1_700_000_000_000.0 + 1000.0 * i for i in range(4)]
    gpu = {"0": {"timestamp": ts, "power_usage": [1e308, 1e308, 1e308, 100.0]}}
    _quick_run(tmp_path / "runs", "infer_2024_05_10_00_00_00", 0.5, {"validation_monitoring_pynvml.json": gpu})
    _quick_run(tmp_path / "runs", "infer_2024_05_10_00_00_01", 0.5)
    outcomes = merge.merge_directory(tmp_path / "runs", tmp_path / "out")
    assert [o.status for o in outcomes] == ["merged", "merged"]  # the rest of the directory goes on
    total = outcomes[0].log["validation"]["monitoring_pynvml"]["total"]
    assert total["total_power_draw"] is None and "sum overflows a float" in total["energy_problems"]


def test_killed_run_merges_its_append_only_series(tmp_path):
    """A SIGKILLed run left only <prefix>monitoring_<source>.jsonl: merge summarises it."""
    lines = [{"_meta": {"source": "estimate", "estimated": True, "power_keys": ["cpu_power"],
                        "complete": False}}] + \
        [{"timestamp": 1_700_000_000_000.0 + 500.0 * i, "0": {"duration": 0.5, "cpu_power": 20.0}}
         for i in range(1, 5)]
    folder = _quick_run(tmp_path / "runs", "infer_2024_05_11_00_00_00", 0.5)
    (folder / "validation_results.json").unlink()  # killed: no results
    (folder / "validation_monitoring_estimate.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines) + '{"timestamp": 17')  # cut mid-line
    (outcome,) = merge.merge_directory(folder.parent, tmp_path / "out")
    assert outcome.status == "merged" and outcome.log["incomplete"] is True
    total = outcome.log["validation"]["monitoring_estimate"]["total"]
    assert total["total_power_draw"] == pytest.approx(4 * 0.5 * 20.0) and total["estimated"] is True
    assert total["nr_measurements"] == 4


def test_recorded_experiment_merges_beside_infer_runs_as_a_result_record(runs, tmp_path):
    from mlel.experiment.record import experiment

    with experiment("text-to-image", "tiny-diffusion", output_dir=runs, interval=0.05, steps=4) as run:
        run.log(images=8, batches=2)
    done = cli("--directory", runs, "--output-dir", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "tiny-diffusion (steps 4)" in done.stdout  # its row in merge's table
    record = json.loads((tmp_path / "out" / f"{run.folder.name}.json").read_text())
    assert record["schema"] == "mlee-result/1" and record["task"] == "text-to-image"
    assert record["properties"]["throughput"]["unit"] == "images/s"
    assert json.loads((tmp_path / "out" / "infer_2024_01_01_10_00_00.json").read_text())["config"]


def test_merged_config_names_paths_relative_to_where_merge_ran(runs, tmp_path, monkeypatch):
    config_file = runs / "infer_2024_01_01_10_00_00" / "config.json"
    config = json.loads(config_file.read_text())
    config.update(infer_model=str(tmp_path / "runs" / "train_x"), data_path="/data/imagenet")
    config_file.write_text(json.dumps(config))
    monkeypatch.chdir(tmp_path)
    log = merge.merge_run_folder(runs / "infer_2024_01_01_10_00_00")
    assert log["config"]["infer_model"] == "runs/train_x"  # no absolute path of this machine
    assert log["config"]["data_path"] == "/data/imagenet"  # outside: the user's own path, kept


def test_merge_reads_runs_by_default_and_lists_its_exit_codes():
    parser = merge._parser()
    assert parser.parse_args([]).directory == "runs" and parser.parse_args(["-d", "x"]).directory == "x"
    assert "Exit codes" in parser.format_help()
