"""The rating core on the 232 real logs of the 2022 study; figures pinned by hand from the files.

Hand computation (from the JSON files, see the comments): energy = sum of the power sources' totals,
samples = 50,000 (not recorded in 2022), epochs = len(history.loss).
"""
import json
import subprocess
import sys

import pytest

from mlel.runlog.logs import load_logs
from mlel.ratings import RatingOptions, rate_runs
from mlel.tasks.properties import TRUST_GROUP, load_property_set

A100_TF = "A100 x8 - TensorFlow 2.8.0"


@pytest.fixture(scope="module")
def rated(reference_dir):
    runs, problems = load_logs(reference_dir)
    assert problems == []  # all 232 load, including the two with NaN losses
    assert len(runs) == 232
    summaries, warnings = rate_runs(runs)
    assert warnings == []
    return {(s["task"], s["environment"], s["model"]): s for s in summaries}


def test_every_run_is_rated(rated):
    assert len(rated) == 232  # no repeated runs in 2022: one summary per log
    assert sum(task == "inference" for task, _, _ in rated) == 176
    envs = {env for _, env, _ in rated}
    assert envs == {"A100 x8 - PyTorch 1.10.2+cu113", A100_TF, "RTX 5000 - PyTorch 1.10.2+cu113",
                    "RTX 5000 - TensorFlow 2.4.1", "Xeon(R) W-2155 - PyTorch 1.10.2+cu113",
                    "Xeon(R) W-2155 - TensorFlow 2.4.1", "Xeon(R) W-2155 - ONNX PT Export 1.10.0",
                    "Xeon(R) W-2155 - ONNX TF Export 1.10.0"}
    assert all(s["compound"] in "ABCDE" for s in rated.values())


def test_resnet101_a100_tensorflow_inference(rated):
    # infer_2022_03_03_17_21_20.json: NVML total 42947.11710570192 Ws, duration 78.92730379104614 s
    s = rated[("inference", A100_TF, "ResNet101")]["metrics"]
    assert s["inference_power_draw"]["value"] == pytest.approx(42947.11710570192 / 50000)
    assert s["inference_time"]["value"] == pytest.approx(78.92730379104614 / 50000 * 1000)
    assert s["parameters"]["value"] == pytest.approx(44.707176)
    assert s["gflops"]["value"] == pytest.approx(7.579424696)
    assert s["top1_val"]["value"] == pytest.approx(0.7178285121917725)
    trust = load_property_set("inference").group_keys(TRUST_GROUP)  # not measured in 2022: no value, no index
    assert trust and all(s[key]["value"] is None and s[key]["index"] is None for key in trust)
    for key, metric in s.items():
        if key not in trust:
            assert metric["index"] == pytest.approx(1.0)
    # index 1.0: b1 (1.1358) >= 1 > b2 (0.8662) -> C for power draw; top-1's b1 is exactly 1.0 -> C
    assert s["inference_power_draw"]["rating"] == "C"
    assert s["top1_val"]["rating"] == "C"


def test_efficientnetb0_a100_tensorflow_inference(rated):
    # infer_2022_03_03_17_30_03.json: NVML 33650.798759189944 Ws -> 0.67302 Ws/sample
    s = rated[("inference", A100_TF, "EfficientNetB0")]
    power = s["metrics"]["inference_power_draw"]
    assert power["value"] == pytest.approx(0.6730159751837989)
    assert power["index"] == pytest.approx(0.8589423421140384 / 0.6730159751837989)  # 1.2763
    assert power["rating"] == "B"  # 1.8052 >= 1.2763 > 1.1358
    assert s["metrics"]["top1_val"]["index"] == pytest.approx(0.6809695363044739 / 0.7178285121917725)
    assert s["metrics"]["top1_val"]["rating"] == "D"  # 0.9487: 0.9535 >= i > 0.9289


def test_rapl_is_added_to_gpu_energy(rated):
    # infer_2022_03_03_21_17_00.json (RTX 5000, TF): NVML 27646.50229877885 + RAPL 6356.255211999993 Ws
    s = rated[("inference", "RTX 5000 - TensorFlow 2.4.1", "ResNet101")]
    assert s["metrics"]["inference_power_draw"]["value"] == pytest.approx(
        (27646.50229877885 + 6356.255211999993) / 50000)
    assert s["energy"]["sources"] == {"pynvml": "measured", "pyrapl": "measured"}
    assert s["energy"]["estimated"] is False


def test_training_metrics(rated):
    # train_2022_03_04_15_28_22.json ResNet101: NVML 11210495.679356864 Ws, 10 epochs, 7228.416970491409 s
    ref = rated[("training", A100_TF, "ResNet101")]["metrics"]
    per_epoch = 11210495.679356864 / 10 / 3.6e6
    assert ref["train_power_draw_epoch"]["value"] == pytest.approx(per_epoch)
    assert ref["train_power_draw"]["value"] == pytest.approx(per_epoch * 90)  # ResNet101: 90 epochs
    assert ref["train_time_epoch"]["value"] == pytest.approx(7228.416970491409 / 10 / 3600)
    # train_2022_03_04_20_14_40.json MobileNetV2: 7429887.651826939 Ws, 300 full-training epochs
    mobile = rated[("training", A100_TF, "MobileNetV2")]["metrics"]
    full = 7429887.651826939 / 10 / 3.6e6 * 300
    assert mobile["train_power_draw"]["value"] == pytest.approx(full)
    assert mobile["train_power_draw"]["index"] == pytest.approx(per_epoch * 90 / full)  # 0.4527
    assert mobile["train_power_draw"]["rating"] == "E"  # below b3 = 0.5627
    # training accuracy comes from the inference log of the same model and environment
    assert mobile["top1_val"]["value"] == pytest.approx(0.6156049966812134)


def test_unknown_full_training_epochs_and_unmeasured_flops(rated):
    effnet = rated[("training", "A100 x8 - PyTorch 1.10.2+cu113", "EfficientNetB0")]["metrics"]
    assert effnet["train_power_draw"] == {"value": None, "index": None, "rating": None, "n": 0, "ci95": None,
                                          "rating_p": None, "not_rated": "no value"}  # never E
    assert effnet["gflops"]["value"] is None  # 0 FLOPs in the 2022 PyTorch training log: not measured
    # train_time_epoch index lies exactly on b1 = 1.362230091894449 -> C, not B
    assert effnet["train_time_epoch"]["index"] == pytest.approx(1.362230091894449)
    assert effnet["train_time_epoch"]["rating"] == "C"


def test_best_scale_indexes_against_best_model(rated, reference_dir):
    runs, _ = load_logs(reference_dir)
    best, _ = rate_runs(runs, RatingOptions(scale="best"))
    for summary in best:
        for metric in summary["metrics"].values():
            assert metric["index"] is None or metric["index"] <= 1.0 + 1e-12
    env = [s for s in best if s["task"] == "inference" and s["environment"] == A100_TF]
    lowest = min(env, key=lambda s: s["metrics"]["inference_power_draw"]["value"])
    assert lowest["metrics"]["inference_power_draw"]["index"] == 1.0
    assert lowest["metrics"]["inference_power_draw"]["rating"] == "A"  # calibrated: top quintile


def test_calibrated_boundaries_spread_ratings(reference_dir):
    runs, _ = load_logs(reference_dir)
    summaries, _ = rate_runs(runs, RatingOptions(calibrate=True))
    power = [s["metrics"]["inference_power_draw"]["rating"] for s in summaries if s["task"] == "inference"]
    counts = {r: power.count(r) for r in "ABCDE"}
    assert all(30 <= n <= 40 for n in counts.values()), counts  # 176 models in five near-equal classes


def test_cli_json_contract(reference_dir):
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "--directory", str(reference_dir),
                          "--json", "--task", "inference"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert len(data) == 176
    first = data[0]
    assert {"task", "environment", "model", "logs", "metrics", "compound"} <= set(first)
    assert set(first["metrics"]["top1_val"]) == {"value", "index", "rating", "n", "ci95", "rating_p"}
    assert first["metrics"]["top1_val"]["ci95"] is None and first["n_runs"] == 1  # one run: no interval
    assert first["uncertainty"] == "1 run: no interval" and first["graded"] is True
    assert first["logs"][0].startswith("infer_2022_")
    assert "RuntimeWarning" not in out.stderr


def test_cli_table(reference_dir):
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(reference_dir)],
                         capture_output=True, text=True, check=True)
    assert "inference — 176 rated" in out.stdout and "training — 56 rated" in out.stdout
    assert "ResNet101" in out.stdout
