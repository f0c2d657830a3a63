"""infer.py --trust (issue 28) end to end on our own trained digits models (tests/conftest.py):
calibration and robustness reach the run folder and the merged log, in their own measured window
outside the efficiency window; the corrupted inputs are the same bytes on PyTorch and TensorFlow;
a trained model loses top-1 under severity-3 Gaussian noise; synthetic data records nothing."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from mlel.apps.experiment_cli import build_infer_parser
from mlel.experiment import InferOptions, run_inference
from mlel.runlog.logs import parse_log
from mlel.runlog.merge import merge_run_folder
from mlel.runlog.metrics import compute_metrics

pytestmark = pytest.mark.timeout(600)
TRUST_KEYS = ("ece", "nll", "corruption_top1", "robustness")
N_BATCHES, BATCH = 4, 32        # 128 digits: every condition on the same 128 inputs
SEED = 5                        # one run seed for both backends: the same corruptions
PASSES = 1 + 5 * 3              # clean + corruptions x severities, per batch


def _options(run: Path, out: Path, **extra) -> InferOptions:
    return InferOptions(infer_model=str(run), n_batches=N_BATCHES, batch_size=BATCH, seed=SEED,
                        output_dir=str(out), gpu_monitor_interval=0.1, cpu_monitor_interval=0.1, **extra)


def _recorded_run(backend_cls, opts: InferOptions, monkeypatch) -> tuple[Path, list[tuple]]:
    """Run inference, recording every raw batch the backend's prepare receives (shape, dtype, sha256)."""
    seen, prepare = [], backend_cls.prepare

    def recording(self, x):
        seen.append((x.shape, str(x.dtype), hashlib.sha256(x.tobytes()).hexdigest()))
        return prepare(self, x)
    with monkeypatch.context() as patch:
        patch.setattr(backend_cls, "prepare", recording)
        result = run_inference(opts)
    assert result.exit_code == 0
    return result.run_dir, seen


@pytest.fixture(scope="module")
def trust_runs(torch_trained_run, tf_trained_run, tmp_path_factory):
    """{framework: (run folder, raw batches prepare saw)}: one --trust run of each trained model."""
    from mlel.backends.tensorflow import TensorFlowBackend
    from mlel.backends.torch import TorchBackend
    out = tmp_path_factory.mktemp("trust_runs")
    with pytest.MonkeyPatch.context() as monkeypatch:
        return {"torch": _recorded_run(TorchBackend, _options(torch_trained_run, out, trust=True), monkeypatch),
                "tf": _recorded_run(TensorFlowBackend, _options(tf_trained_run, out, trust=True), monkeypatch)}


def _results(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_merged_log_carries_trust_outside_the_measured_window(trust_runs, framework, tmp_path):
    folder, _ = trust_runs[framework]
    merged = merge_run_folder(folder)
    run = parse_log(merged, "trust.json")
    values = compute_metrics(run)
    for key in TRUST_KEYS:
        assert values[key] is not None and values[key] >= 0, key
    assert 0 < run.ece < 1 and run.nll > 0 and 0 < run.corruption_top1 <= 1
    assert run.robustness == pytest.approx(run.corruption_top1 / merged["validation"]["trust"]["results"]
                                           ["metrics"]["clean_top1"])
    assert run.trust_energy_j > 0 and run.trust_duration_s > 0
    trust = _results(folder, "trust_results.json")
    assert run.trust_duration_s == pytest.approx(trust["end"] - trust["start"])
    assert trust["metrics"]["n_samples"] == N_BATCHES * BATCH
    # the efficiency window ended before the trust passes began, and is the one a run without them has:
    # the same folder without its trust files merges to the same samples, energy and duration
    assert _results(folder, "validation_results.json")["end"] <= trust["start"]
    assert merged["validation"]["monitoring_psutil"]["total"]["end_unix"] <= trust["start"]
    plain = tmp_path / folder.name
    shutil.copytree(folder, plain, ignore=shutil.ignore_patterns("trust_*"))
    without = parse_log(merge_run_folder(plain), "plain.json")
    assert (run.n_samples, run.energy_ws, run.duration_s) == (without.n_samples, without.energy_ws,
                                                                without.duration_s)
    assert run.n_samples == N_BATCHES * BATCH
    assert run.duration_s < run.trust_duration_s  # 16 passes in the trust window, 1 measured
    assert all(compute_metrics(without)[key] is None for key in TRUST_KEYS)  # not measured, never 0
    assert without.trust_energy_j is None and without.trust_duration_s is None


def test_corrupted_inputs_are_the_same_bytes_on_torch_and_tensorflow(trust_runs):
    torch_seen, tf_seen = trust_runs["torch"][1], trust_runs["tf"][1]
    trust_calls = N_BATCHES * PASSES
    assert len(torch_seen) >= trust_calls and len(tf_seen) >= trust_calls
    assert torch_seen[-trust_calls:] == tf_seen[-trust_calls:]  # raw NHWC batches, before each prepare
    for batch in range(N_BATCHES):  # clean + 15 conditions: 16 different inputs per batch
        assert len({digest for _, _, digest in torch_seen[-trust_calls:][batch * PASSES:(batch + 1) * PASSES]}) == PASSES


def test_trained_model_loses_top1_under_severity_3_noise(trust_runs):
    # the TensorFlow MobileNetV3Small (Adam, 2 full epochs): ~0.84 clean, ~0.59 under the noise. (The
    # briefly trained PyTorch ResNet18 is not asserted: on these 128 digits it gains under noise.)
    trust = _results(trust_runs["tf"][0], "trust_results.json")
    clean, noisy = trust["metrics"]["clean_top1"], trust["corruption_top1"]["gaussian_noise"]["3"]
    assert clean > 0.5, clean  # our trained model, well above chance (0.1)
    assert noisy < clean - 0.1, (clean, noisy)
    mild = trust["corruption_top1"]["gaussian_noise"]["1"]
    assert noisy < mild, (mild, noisy)  # more noise, less top-1


def test_synthetic_data_records_nothing(tmp_path, capsys):
    result = run_inference(InferOptions(model="resnet18", backend="torch", dataset="synthetic", n_batches=1,
                                        batch_size=4, input_size=32, seed=1, output_dir=str(tmp_path),
                                        trust=True, warmup_batches=0, cpu_monitor_interval=0.1))
    assert result.exit_code == 0 and result.trust is None
    assert "trust: not measured: no labels" in capsys.readouterr().out
    assert not list(result.run_dir.glob("trust_*"))
    merged = merge_run_folder(result.run_dir)
    assert "trust" not in merged["validation"]
    assert all(compute_metrics(parse_log(merged, "s.json"))[key] is None for key in TRUST_KEYS)


def test_help_explains_trust_and_the_flag_reaches_the_options():
    parser = build_infer_parser("infer.py")
    assert "--trust" in parser.format_help() and "calibration" in parser.format_help()
    assert parser.parse_args(["--model", "resnet18", "--trust"]).trust is True
    assert parser.parse_args(["--model", "resnet18"]).trust is False
