"""The trust window in merged logs (issue 28): ``validation.trust`` is read into RunLog's ece, nll,
corruption_top1, robustness, trust energy and duration; the 2022 logs have none ("not measured",
never 0); a broken trust block costs the trust values only, never the efficiency window's."""
from __future__ import annotations

import copy
import json

import pytest

from mlel.runlog.logs import parse_log
from mlel.runlog.metrics import compute_metrics, invalid_metrics

TRUST_KEYS = ("ece", "nll", "corruption_top1", "robustness")
LOG = "infer_2022_03_03_17_21_20.json"  # ResNet101, TensorFlow, A100: NVML 42947.117 J in 78.93 s


@pytest.fixture(scope="module")
def reference_log(reference_dir) -> dict:
    return json.loads((reference_dir / LOG).read_text())


def _with_trust(log: dict, **metrics) -> dict:
    """The log plus a trust window: 12.5 s, 300 J on NVML, the metrics given (defaults below)."""
    log = copy.deepcopy(log)
    values = {"ece": 0.04, "nll": 0.9, "corruption_top1": 0.5, "robustness": 0.7, "clean_top1": 5 / 7,
              "n_samples": 50000} | metrics
    log["validation"]["trust"] = {
        "monitoring_pynvml": {"total": {"total_power_draw": 300.0, "total_duration": 12.5, "nr_measurements": 60}},
        "monitoring_pyrapl": None, "monitoring_psutil": None,
        "results": {"start": 100.0, "end": 112.5, "metrics": values}, "duration": 12.5, "energy": None}
    return log


def test_the_2022_logs_have_no_trust_values(reference_dir):
    for path in sorted(reference_dir.glob("infer_*.json")):
        data = json.loads(path.read_text())
        assert "trust" not in data["validation"]
        run = parse_log(data, path.name)
        values = compute_metrics(run)
        assert all(values[key] is None for key in TRUST_KEYS), path.name
        assert run.trust_energy_j is None and run.trust_duration_s is None


def test_trust_window_is_read_and_kept_out_of_the_efficiency_window(reference_log):
    plain = parse_log(reference_log, LOG)
    run = parse_log(_with_trust(reference_log), LOG)
    values = compute_metrics(run)
    assert (values["ece"], values["nll"], values["corruption_top1"], values["robustness"]) == (0.04, 0.9, 0.5, 0.7)
    assert run.trust_energy_j == 300.0 and run.trust_duration_s == 12.5
    assert run.energy_ws == plain.energy_ws == pytest.approx(42947.11710570192)
    assert (run.duration_s, run.n_samples, run.sources) == (plain.duration_s, plain.n_samples, plain.sources)
    assert compute_metrics(plain)["inference_power_draw"] == values["inference_power_draw"]
    assert not run.problems


def test_a_bad_trust_value_is_named_and_only_its_metric_is_lost(reference_log):
    run = parse_log(_with_trust(reference_log, ece=1.5, robustness=None), LOG)
    values = compute_metrics(run)
    assert values["ece"] is None and values["robustness"] is None and values["nll"] == 0.9
    assert list(invalid_metrics(run)) == ["ece"]
    assert "validation.trust.results.metrics.ece" in invalid_metrics(run)["ece"]
    assert values["inference_power_draw"] == pytest.approx(42947.11710570192 / 50000)


def test_a_broken_trust_block_costs_the_trust_values_only(reference_log):
    log = copy.deepcopy(reference_log)
    log["validation"]["trust"] = "not an object"
    run = parse_log(log, LOG)
    values = compute_metrics(run)
    assert all(values[key] is None for key in TRUST_KEYS)
    assert set(invalid_metrics(run)) == set(TRUST_KEYS)
    assert values["top1_val"] == pytest.approx(0.7178285121917725)
    assert run.energy_ws == pytest.approx(42947.11710570192)


def test_a_bad_trust_energy_leaves_the_run_energy_valid(reference_log):
    log = _with_trust(reference_log)
    log["validation"]["trust"]["monitoring_pynvml"]["total"]["total_power_draw"] = -5.0
    run = parse_log(log, LOG)
    assert run.trust_energy_j is None and "trust_energy" in run.invalid
    assert "energy" not in run.invalid and run.energy_ws == pytest.approx(42947.11710570192)
    assert [p.json_path for p in run.problems if p.key == "trust_energy"] == [
        "validation.trust.monitoring_pynvml.total.total_power_draw"]
    assert compute_metrics(run)["ece"] == 0.04
