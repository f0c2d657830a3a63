"""How a run was measured, as both readers of merged logs see it: pooling key, warm-up, windows."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from mlel.runlog.logs import parse_log, parse_log_bytes
from mlel.runlog.run_facts import SourceWindow, configuration_of, weights_kind
from mlel.runlog.validation import parse_json

OWN_RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.mark.parametrize("weights,infer_model,kind", [
    ("random", None, "untrained"), ("pretrained", None, "pretrained"),
    ("runs/train_x/model.pth", None, "trained"), (None, "runs/train_x", "trained"),
    (None, "ResNet50", None),  # the 2022 logs say nothing: they pool as before
])
def test_weights_kind_never_keeps_the_path(weights, infer_model, kind):
    assert weights_kind(weights, infer_model) == kind


def test_configuration_holds_what_changes_the_measurement():
    config = {"dataset": "digits", "num_classes": 1000, "input_size": 32, "batch_size": 32,
              "weights": "random", "seed": 3, "output_dir": "/somewhere"}
    assert configuration_of(config.get) == (("batch_size", "32"), ("dataset", "digits"),
                                            ("input_size", "32"), ("num_classes", "1000"),
                                            ("weights", "untrained"))


def _own_inference_log() -> bytes:
    return next(p for p in sorted(OWN_RESULTS.glob("infer_*.json"))).read_bytes()


def test_both_readers_see_the_same_facts():
    raw = _own_inference_log()
    fast, slow = parse_log_bytes(raw, "x.json"), parse_log(parse_json(raw), "x.json")
    assert fast == slow
    log = json.loads(raw)
    assert ("weights", "trained") in fast.configuration and fast.warmup == log["config"]["warmup"] >= 1
    total = log["validation"]["monitoring_estimate"]["total"]
    assert fast.windows == (SourceWindow("estimate", total["total_duration"], total["nr_measurements"],
                                         log["config"]["cpu_monitor_interval"]),)


def test_an_untrained_1000_class_run_is_another_configuration():
    log = json.loads(_own_inference_log())
    other = copy.deepcopy(log)
    other["config"].update(weights="random", num_classes=1000)
    trained, untrained = (parse_log_bytes(json.dumps(x).encode(), "x.json") for x in (log, other))
    assert trained.configuration != untrained.configuration
    assert dict(untrained.configuration)["num_classes"] == "1000"


def test_a_data_parallel_run_names_the_devices_it_used():
    log = json.loads(_own_inference_log())
    log["config"]["devices"] = ["cpu", "cpu"]
    raw = json.dumps(log).encode()
    fast, slow = parse_log_bytes(raw, "x.json"), parse_log(parse_json(raw), "x.json")
    assert fast.environment == slow.environment
    assert fast.environment.split(" - ")[0].endswith(" x2")
    log["config"]["devices"] = ["cpu"]  # one device: named as before
    single = parse_log_bytes(json.dumps(log).encode(), "x.json")
    assert not single.environment.split(" - ")[0].endswith(" x2")


def test_gpus_used_not_the_machines_are_counted():
    from mlel.base.environment import hardware_name
    platform = {"Processor": "AMD EPYC 7742 64-Core Processor",
                "GPU": {str(i): {"Name": "NVIDIA A100-SXM4-40GB"} for i in range(8)}}
    assert hardware_name(platform) == "A100 x8"
    assert hardware_name(platform, ("cuda:0", "cuda:1")) == "A100 x2"
    assert hardware_name(platform, ("cpu", "cpu")) == "EPYC 7742 x2"


def test_estimated_environments_are_labelled_by_one_rule_everywhere(tmp_path):
    """Issue 14 item 10: the CLI table, the JSON of rate_directory and ELEx say "(estimated)" alike."""
    import subprocess
    import sys

    from mlel.elex.entries import environment_label as elex_label
    from mlel.ratings.report import rate_directory

    rated = rate_directory(OWN_RESULTS).rated
    assert rated and all(r["environment_label"] == r["environment"] + " (estimated)" for r in rated)
    assert all(elex_label(r["environment"], True) == r["environment_label"] for r in rated)
    table = subprocess.run([sys.executable, "-m", "mlel.ratings", "--directory", str(OWN_RESULTS)],
                           capture_output=True, text=True, cwd=OWN_RESULTS.parent, timeout=300).stdout
    assert f"  {rated[0]['environment_label']}\n" in table and "(estimated) (estimated)" not in table


def test_source_totals_read_summaries_as_merged_logs_keep_them_and_records_share_the_window_type():
    from mlel.results.record import SourceWindow as RecordWindow
    from mlel.runlog.run_facts import source_totals, windows_of

    summaries = {"pyrapl": {"total": {"total_duration": 2.0, "nr_measurements": 40}}, "pynvml": None}
    totals = source_totals(summaries, ["pyrapl", "pynvml"])
    assert totals == [("pyrapl", 2.0, 40), ("pynvml", None, None)]
    assert windows_of(totals, 0.1, 0.05) == (SourceWindow("pyrapl", 2.0, 40, 0.05),
                                             SourceWindow("pynvml", None, None, 0.1))
    assert SourceWindow is RecordWindow  # one type on both routes: what a record carries is what a run has
