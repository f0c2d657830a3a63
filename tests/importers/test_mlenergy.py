"""The ML.ENERGY leaderboard importer on the published sample (../shared), plus bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from mlel.importers.cli import main
from mlel.importers.mlenergy import import_mlenergy
from mlel.tasks.properties import load_property_set
from mlel.results import read_result_records


@pytest.fixture(scope="module")
def published(leaderboard_dir):
    files = sorted((leaderboard_dir / "tasks").glob("*.json"))
    return {json.loads(p.read_text())["task"]: json.loads(p.read_text())["configurations"] for p in files}


@pytest.fixture(scope="module")
def report(leaderboard_dir):
    return import_mlenergy(leaderboard_dir)


def test_every_configuration_of_every_task_file_is_one_record(report, published):
    assert report.problems == []
    assert report.counts_by_task() == {task: len(rows) for task, rows in published.items()}


def test_values_are_the_published_ones_reported_with_provenance(report, published, leaderboard_dir):
    for record in report.records[::97]:
        row = published[record.task][record.provenance.row]
        assert record.provenance.tool == "ML.ENERGY leaderboard"
        assert record.provenance.file == f"tasks/{record.task}.json"
        assert record.model == row["model_id"]
        assert record.environment.hardware == f"{row['num_gpus']} x {row['gpu_model']}"
        assert record.configuration["weight_precision"] == row["weight_precision"]
        energy_field = next(k for k in row if k.startswith("energy_per_") and k != "energy_per_request_joules")
        energy_key = energy_field.removesuffix("_joules")
        assert record.value(energy_key) == row[energy_field]
        assert record.value("total_params") == row["total_params_billions"]
        assert {p.source for p in record.properties.values()} == {"reported"}


def test_llm_and_diffusion_environments_name_their_software(report):
    software = {r.task: r.environment.software for r in report.records}
    assert software["lm-arena-chat"] == software["gpqa"] == software["image-chat"] == "vLLM"
    assert software["text-to-image"] == software["text-to-video"] == "diffusers"


def test_properties_and_units_match_the_tasks_property_sets(report):
    for task in ("lm-arena-chat", "gpqa", "image-chat", "text-to-image", "text-to-video"):
        property_set = load_property_set(task)
        record = next(r for r in report.records if r.task == task)
        for key in property_set.label_tiles:
            assert record.properties[key].unit == property_set[key].unit, (task, key)


def test_configurations_of_one_model_are_distinct_named_entries(report):
    names = Counter((r.task, r.name, r.environment.name) for r in report.records)
    repeated = {k for k, n in names.items() if n > 1}
    # the published data repeats three configurations with other values: kept as runs, and said so
    assert len(repeated) == len(report.notes) == 3
    qwen = {r.name for r in report.records if r.task == "lm-arena-chat" and r.model == "Qwen/Qwen3-14B"
            and r.environment.name == "1 x B200 - vLLM"}
    assert len(qwen) > 1 and all(n.startswith("Qwen/Qwen3-14B (max_num_seqs ") for n in qwen)


def test_an_index_is_the_plain_ratio_of_two_configurations(report, published):
    """Pinned by hand: two lm-arena-chat configurations' energy per token, as published."""
    rows = published["lm-arena-chat"]
    a, b = rows[0], rows[1]
    by_row = {r.provenance.row: r for r in report.records if r.task == "lm-arena-chat"}
    ratio = by_row[0].value("energy_per_token") / by_row[1].value("energy_per_token")
    assert ratio == a["energy_per_token_joules"] / b["energy_per_token_joules"]


def test_best_under_latency_keeps_the_lowest_energy_configuration_per_model(leaderboard_dir, report):
    limit = 40.0
    best = import_mlenergy(leaderboard_dir, best_under_latency_ms=limit)
    groups = defaultdict(list)
    for r in report.records:
        latency = r.value("median_itl") if r.value("median_itl") is not None else r.value("batch_latency") * 1000
        if latency <= limit:
            groups[(r.task, r.model, r.environment.name)].append(r)
    expected = {key: min(g, key=lambda r: r.value("energy_per_token") or r.value("energy_per_image")
                         or r.value("energy_per_video")) for key, g in groups.items()}
    kept = {(r.task, r.model, r.environment.name): r for r in best.records}
    assert kept == expected
    assert best.notes  # models with no configuration under the limit are named


def test_cli_imports_idempotently_and_records_read_back(leaderboard_dir, tmp_path, capsys, published):
    out = tmp_path / "out"
    assert main(["mlenergy", str(leaderboard_dir), "--output-dir", str(out)]) == 0
    first = capsys.readouterr().out
    assert all(f"{task} {len(rows)}" in first for task, rows in published.items())
    files = sorted(out.iterdir())
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    assert main(["mlenergy", str(leaderboard_dir), "--output-dir", str(out)]) == 0
    assert f"0 written, {len(files)} unchanged" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in sorted(out.iterdir())} == mtimes
    scan = read_result_records(out)
    assert scan.problems == () and len(scan.records) == len(files) == sum(
        import_mlenergy(leaderboard_dir).counts_by_task().values())


def test_bad_rows_are_reported_by_file_row_and_field_and_the_rest_imported(leaderboard_dir, tmp_path, capsys):
    rows = json.loads((leaderboard_dir / "tasks" / "gpqa.json").read_text())["configurations"][:4]
    rows[1] = dict(rows[1], energy_per_token_joules="lots")
    rows[2] = {k: v for k, v in rows[2].items() if k != "model_id"}
    rows[3] = "not an object"
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "gpqa.json").write_text(json.dumps({"task": "gpqa", "configurations": rows}))
    (tmp_path / "tasks" / "other.json").write_text(json.dumps({"task": "other"}))
    result = import_mlenergy(tmp_path)
    assert [r.provenance.row for r in result.records] == [0]
    found = {(p.file, p.row, p.field) for p in result.problems}
    assert found == {("tasks/gpqa.json", 1, "energy_per_token_joules"), ("tasks/gpqa.json", 2, "model_id"),
                     ("tasks/gpqa.json", 3, None), ("tasks/other.json", None, "configurations")}
    assert main(["mlenergy", str(tmp_path), "--output-dir", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "tasks/gpqa.json, row 1: energy_per_token_joules: not a number" in err


def test_exit_codes_nothing_imported_and_usage(tmp_path, capsys):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "t.json").write_text(json.dumps({"task": "t", "configurations": [{}]}))
    assert main(["mlenergy", str(tmp_path), "--output-dir", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()
    assert main(["mlenergy", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "out")]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["mlenergy", str(tmp_path)])  # no --output-dir
    assert usage.value.code == 2


def test_python_dash_m_entry_point(leaderboard_dir, tmp_path, repo_root):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "mlel.importers", "mlenergy",
                           str(leaderboard_dir / "tasks" / "text-to-video.json"), "--output-dir", str(out)],
                          cwd=repo_root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(repo_root)})
    assert done.returncode == 0, done.stderr
    assert "text-to-video" in done.stdout
    assert len(list(out.glob("text-to-video__*.json"))) == len(
        json.loads((leaderboard_dir / "tasks" / "text-to-video.json").read_text())["configurations"])


def test_cli_best_under_latency_writes_one_configuration_per_model_and_environment(leaderboard_dir, tmp_path,
                                                                                    capsys):
    out = tmp_path / "out"
    assert main(["mlenergy", str(leaderboard_dir / "tasks" / "lm-arena-chat.json"), "--output-dir", str(out),
                 "--best-under-latency", "10"]) == 0
    records = [r for _, r in read_result_records(out).records]
    keys = [(r.model, r.environment.name) for r in records]
    assert records and len(keys) == len(set(keys))
    assert all(r.value("median_itl") <= 10 for r in records)
    assert "no configuration under 10 ms" in capsys.readouterr().err


def test_output_dir_has_no_short_o_which_means_an_output_file_elsewhere(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["mlenergy", str(tmp_path), "-o", str(tmp_path / "out")])
    assert caught.value.code == 2
