"""Repeated runs of one (task, environment, model) are averaged metric by metric, spread kept."""
import dataclasses

import pytest

from mlel.runlog.logs import load_logs
from mlel.ratings import aggregate_runs, rate_runs


def test_repeated_runs_are_averaged(reference_dir):
    runs, _ = load_logs([reference_dir / "infer_2022_03_03_17_21_20.json"])
    run = runs[0]
    again = dataclasses.replace(run, file="infer_again.json", energy_ws=run.energy_ws * 1.2,
                                accuracy=None)
    results = aggregate_runs([run, again])
    assert len(results) == 1
    result = results[0]
    assert result.logs == ["infer_2022_03_03_17_21_20.json", "infer_again.json"]
    assert result.values["inference_power_draw"] == pytest.approx(run.energy_ws * 1.1 / 50000)
    assert result.spread["inference_power_draw"] == pytest.approx(run.energy_ws * 0.1 / 50000)
    assert result.values["top1_val"] == pytest.approx(run.accuracy)  # a missing value is skipped
    rated, _ = rate_runs([run, again])
    assert rated[0]["metrics"]["inference_power_draw"]["index"] == 1.0  # its own reference


def test_own_full_epochs_and_samples(reference_dir):
    runs, _ = load_logs([reference_dir / "train_2022_03_04_15_28_22.json"])
    own = dataclasses.replace(runs[0], model="TinyNet", full_epochs=3)
    metrics = aggregate_runs([own])[0].values
    assert metrics["train_power_draw"] == pytest.approx(metrics["train_power_draw_epoch"] * 3)
