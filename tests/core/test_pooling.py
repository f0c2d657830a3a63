"""Issue 13: runs pool only within one configuration; repeated runs carry intervals and rating
probabilities. Issue 15: an invalid value never changes a grade silently."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlel.runlog.validation import FieldProblem
from mlel.runlog.logs import RunLog, load_logs
from mlel.ratings import RatingOptions, aggregate_runs, rate_entries, rate_runs
from mlel.ratings.odds import DRAWS
from mlel.ratings.uncertainty import t_quantile

EFFNET = "infer_2022_03_03_17_30_03.json"  # EfficientNetB0, A100 x8 - TensorFlow 2.8.0
RESNET = "infer_2022_03_03_17_21_20.json"  # ResNet101, the reference, same environment


@dataclasses.dataclass(frozen=True)
class ConfiguredRun(RunLog):
    """A RunLog with the configuration key (the reader's field, see the report): tests set it."""
    configuration: tuple[tuple[str, str], ...] = ()


@pytest.fixture(scope="module")
def pair(reference_dir):
    runs, _ = load_logs([reference_dir / EFFNET, reference_dir / RESNET])
    return {r.model: ConfiguredRun(**{f.name: getattr(r, f.name) for f in dataclasses.fields(r)}) for r in runs}


def _copy(run, file, **changes):
    return dataclasses.replace(run, file=file, **changes)


def test_runs_of_different_configurations_are_distinct_entries(pair):
    trained = (("dataset", "digits"), ("num_classes", "10"), ("weights", "trained"))
    untrained = (("dataset", "digits"), ("num_classes", "1000"), ("weights", "untrained"))
    effnet = pair["EfficientNetB0"]
    runs = [_copy(effnet, "a.json", configuration=trained), _copy(effnet, "b.json", configuration=trained),
            _copy(effnet, "c.json", configuration=untrained, accuracy=0.011), pair["ResNet101"]]
    entries = {e.name: e for e in aggregate_runs(runs)}
    assert set(entries) == {"EfficientNetB0 (trained, 10 classes)", "EfficientNetB0 (untrained, 1000 classes)",
                            "ResNet101"}
    assert entries["EfficientNetB0 (trained, 10 classes)"].logs == ["a.json", "b.json"]
    assert entries["EfficientNetB0 (trained, 10 classes)"].values["top1_val"] == pytest.approx(effnet.accuracy)
    assert entries["EfficientNetB0 (untrained, 1000 classes)"].values["top1_val"] == 0.011  # not averaged in
    rated, _ = rate_runs(runs)
    by_name = {s["entry"]: s for s in rated}
    assert by_name["EfficientNetB0 (trained, 10 classes)"]["n_runs"] == 2
    assert by_name["EfficientNetB0 (untrained, 1000 classes)"]["configuration"]["weights"] == "untrained"
    assert all(s["model"] in ("EfficientNetB0", "ResNet101") for s in rated)  # SPEC §7 "model" unchanged


def test_repeated_runs_carry_student_t_interval_and_probabilities(pair):
    effnet, resnet = pair["EfficientNetB0"], pair["ResNet101"]
    factors = (0.9, 1.0, 1.1)
    runs = [_copy(effnet, f"e{i}.json", energy_ws=effnet.energy_ws * f) for i, f in enumerate(factors)]
    runs += [_copy(resnet, f"r{i}.json", energy_ws=resnet.energy_ws * f) for i, f in enumerate(factors)]
    rated, _ = rate_runs(runs)
    effnet_summary = next(s for s in rated if s["model"] == "EfficientNetB0")
    power = effnet_summary["metrics"]["inference_power_draw"]
    values = np.array([effnet.energy_ws * f / 50_000 for f in factors])
    # a positive quantity: the t interval on the log scale of the mean (issue 24), never reaching 0
    h = t_quantile(0.975, 2) * values.std(ddof=1) / np.sqrt(3) / values.mean()
    assert power["n"] == 3 and power["ci95"] == pytest.approx([values.mean() * np.exp(-h), values.mean() * np.exp(h)])
    assert sum(power["rating_p"].values()) == pytest.approx(1.0)
    assert 0.05 < max(power["rating_p"].values()) < 0.999  # ±10% runs near a boundary: not certain
    assert power["rating"] == max(power["rating_p"], key=power["rating_p"].get)  # the most likely letter
    assert sum(effnet_summary["compound_p"].values()) == pytest.approx(1.0)
    assert effnet_summary["compound"] == max(effnet_summary["compound_p"], key=effnet_summary["compound_p"].get)
    assert effnet_summary["uncertainty"].startswith("3 runs: 95% interval")
    # parameters are the same in every run: certain, interval of width 0
    assert effnet_summary["metrics"]["parameters"]["rating_p"][effnet_summary["metrics"]["parameters"]["rating"]] == 1.0
    assert rate_runs(runs)[0] == rated  # seeded: the same input gives the same output


def test_probabilities_match_brute_force_resampling(pair):
    """The engine's draws against a plain loop over the same t-distribution of both means."""
    effnet, resnet = pair["EfficientNetB0"], pair["ResNet101"]
    e = np.array([0.95, 1.0, 1.08]) * effnet.energy_ws
    r = np.array([0.97, 1.0, 1.04]) * resnet.energy_ws
    runs = [_copy(effnet, f"e{i}.json", energy_ws=v) for i, v in enumerate(e)]
    runs += [_copy(resnet, f"r{i}.json", energy_ws=v) for i, v in enumerate(r)]
    rated, _ = rate_runs(runs)
    got = next(s for s in rated if s["model"] == "EfficientNetB0")["metrics"]["inference_power_draw"]["rating_p"]
    rng = np.random.default_rng(7)
    n = 200_000
    draw = lambda x: x.mean() + x.std(ddof=1) / np.sqrt(3) * rng.standard_t(2, n)  # noqa: E731
    index = draw(r) / draw(e)
    bounds = [1.8052095901385745, 1.1358154469107322, 0.8662052302144096, 0.49503222117931994]
    levels = (index[:, None] <= np.array(bounds)[None, :]).sum(axis=1)
    brute = np.bincount(levels, minlength=5) / n
    assert np.abs(np.array(list(got.values())) - brute).max() < 0.01 + 3 * np.sqrt(0.25 / DRAWS)


def test_single_runs_skip_resampling_and_say_so(pair):
    rated, _ = rate_runs(pair.values())
    for summary in rated:
        assert summary["n_runs"] == 1 and summary["uncertainty"] == "1 run: no interval"
        measured = [m for m in summary["metrics"].values() if m["value"] is not None]  # trust: not measured
        assert len(measured) >= 7 and all(m["ci95"] is None and m["rating_p"][m["rating"]] == 1.0 for m in measured)
        assert summary["compound_p"][summary["compound"]] == 1.0


def test_invalid_samples_never_fall_back_to_the_default(pair):
    bad = dataclasses.replace(pair["EfficientNetB0"], n_samples=None, invalid=frozenset({"n_samples"}),
                              problems=(FieldProblem("n_samples", "validation.results.metrics.n_samples", "0",
                                                     "not a positive integer"),))
    from mlel.runlog.metrics import compute_metrics

    assert compute_metrics(bad)["inference_power_draw"] is None  # not energy / 50,000
    assert compute_metrics(bad)["top1_val"] == bad.accuracy
    rated, _ = rate_runs([bad, pair["ResNet101"]])
    effnet = next(s for s in rated if s["model"] == "EfficientNetB0")
    in_2022 = next(s for s in rate_runs([bad, pair["ResNet101"]], RatingOptions(scheme="mlee-2022"))[0]
                   if s["model"] == "EfficientNetB0")
    for key in ("inference_power_draw", "inference_time"):
        metric = effnet["metrics"][key]
        # no letter without evidence; the 2022 scheme rates a value it lacks E
        assert metric["value"] is None and metric["rating"] is None and metric["not_rated"] == "invalid value"
        assert in_2022["metrics"][key]["rating"] == "E"
        assert metric["invalid"] == f"{EFFNET}: validation.results.metrics.n_samples = 0: not a positive integer"
    assert "invalid" not in effnet["metrics"]["top1_val"]
    assert effnet["problems"] == [f"{EFFNET}: validation.results.metrics.n_samples = 0: not a positive integer"]


def test_one_invalid_run_makes_the_pooled_metric_invalid(pair):
    effnet = pair["EfficientNetB0"]
    bad = _copy(effnet, "bad.json", energy_ws=None, invalid=frozenset({"energy"}),
                problems=(FieldProblem("energy", "validation.monitoring_pynvml.total.total_power_draw", "nan",
                                     "not a finite energy >= 0"),))
    entry = next(e for e in aggregate_runs([effnet, bad]) if e.model == "EfficientNetB0")
    assert entry.values["inference_power_draw"] is None  # not the mean of the valid run alone
    assert entry.invalid["inference_power_draw"].startswith("bad.json: validation.monitoring_pynvml")


def test_cli_names_invalid_values_and_flags_them(tmp_path, reference_dir):
    for name in (EFFNET, RESNET):
        shutil.copy(reference_dir / name, tmp_path / name)
    log = json.loads((tmp_path / EFFNET).read_text())
    log["validation"]["results"]["metrics"]["n_samples"] = 0
    (tmp_path / EFFNET).write_text(json.dumps(log))
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"invalid value: {EFFNET}: validation.results.metrics.n_samples = 0" in out.stderr
    effnet = next(s for s in json.loads(out.stdout) if s["model"] == "EfficientNetB0")
    assert effnet["metrics"]["inference_power_draw"]["value"] is None  # 2022 rated it A with 50,000 samples
    assert "n_samples" in effnet["metrics"]["inference_power_draw"]["invalid"]
    table = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path)],
                           capture_output=True, text=True).stdout
    assert "invalid –" in table and "invalid inference_power_draw:" in table  # no letter: not an E


def test_partial_boundaries_merge_with_defaults_and_are_named(tmp_path, reference_dir):
    for name in (EFFNET, RESNET):
        shutil.copy(reference_dir / name, tmp_path / name)
    bounds = tmp_path / "cfg"
    bounds.mkdir()
    (bounds / "b.json").write_text(json.dumps({"top1_val": [9.0, 8.0, 7.0, 6.0]}))
    default = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--json"],
                             capture_output=True, text=True, check=True)
    partial = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--json",
                              "--boundaries", str(bounds / "b.json")], capture_output=True, text=True, check=True)
    before, after = (next(s for s in json.loads(o.stdout) if s["model"] == "EfficientNetB0")
                     for o in (default, partial))
    assert after["metrics"]["top1_val"]["rating"] == "E"  # the file's boundaries
    assert after["metrics"]["inference_power_draw"] == before["metrics"]["inference_power_draw"]  # defaults
    assert "boundaries from" in partial.stderr and "top1_val" in partial.stderr


def test_settings_take_other_tasks_properties_and_are_usage_errors():
    from mlel.base.errors import UsageError
    from mlel.tasks.properties import load_property_set
    from mlel.ratings.settings import SettingsError, parse_boundaries, parse_weights

    key = load_property_set("lm-arena-chat").keys[0]
    assert parse_boundaries({key: [4, 3, 2, 1]}) == {key: [4.0, 3.0, 2.0, 1.0]}
    assert parse_weights({"lm-arena-chat": {key: 2}}) == {"lm-arena-chat": {key: 2}}
    assert issubclass(SettingsError, UsageError)
    with pytest.raises(SettingsError, match="unknown metric"):
        parse_boundaries({"watts": [4, 3, 2, 1]})


def test_rated_record_round_trips_with_probabilities(pair):
    from mlel.ratings.rated import RatedResult

    effnet = pair["EfficientNetB0"]
    runs = [_copy(effnet, f"e{i}.json", energy_ws=effnet.energy_ws * f) for i, f in enumerate((0.9, 1.1))]
    records, _ = rate_entries(aggregate_runs(runs + [pair["ResNet101"]]), RatingOptions())
    summary = next(r for r in records if r.model == "EfficientNetB0").to_dict()
    assert RatedResult.from_dict(summary).to_dict()["metrics"] == summary["metrics"]


def test_repeated_result_records_carry_intervals():
    from mlel.tasks.properties import load_property_set
    from mlel.ratings.rated import entries_from_records
    from mlel.results import ResultRecord

    key = load_property_set("lm-arena-chat").keys[0]

    def record(model, value):
        return ResultRecord.from_dict({
            "schema": "mlee-result/1", "task": "lm-arena-chat", "model": model,
            "environment": {"hardware": "B200", "software": "vLLM", "name": "B200 - vLLM"},
            "properties": {key: {"value": value, "source": "reported"}},
            "provenance": {"tool": "test", "file": "t.json", "row": 0}})

    entries = entries_from_records([("a.json", record("M", 1.0)), ("b.json", record("M", 1.2)),
                                    ("c.json", record("M", 1.1)), ("r.json", record("R", 1.0))])
    records, _ = rate_entries(entries, RatingOptions(reference="R"))
    m = next(r for r in records if r.model == "M").to_dict()
    assert m["n_runs"] == 3 and m["metrics"][key]["n"] == 3
    assert m["metrics"][key]["ci95"][0] < 1.1 < m["metrics"][key]["ci95"][1]
    assert sum(m["metrics"][key]["rating_p"].values()) == pytest.approx(1.0)


def test_one_run_against_a_repeated_reference_is_resampled(pair):
    effnet, resnet = pair["EfficientNetB0"], pair["ResNet101"]
    runs = [effnet] + [_copy(resnet, f"r{i}.json", energy_ws=resnet.energy_ws * f)
                       for i, f in enumerate((0.85, 1.0, 1.15))]
    rated, _ = rate_runs(runs)
    summary = next(s for s in rated if s["model"] == "EfficientNetB0")
    power = summary["metrics"]["inference_power_draw"]
    assert power["ci95"] is None and power["n"] == 1  # its own value: one run, no interval
    assert max(power["rating_p"].values()) < 0.999  # but the reference's spread makes the letter uncertain
    assert summary["uncertainty"] == "1 run: no interval; rating probabilities from the reference's runs"


def test_computed_metrics_are_the_property_sets_keys_in_order(reference_dir):
    from mlel.runlog.metrics import compute_metrics, task_metrics
    runs, _ = load_logs(reference_dir)
    for task in ("inference", "training"):
        run = next(r for r in runs if r.task == task)
        assert tuple(compute_metrics(run)) == task_metrics(task)


def test_entries_from_records_take_the_scans_paths_as_they_are(tmp_path):
    from mlel.base.io import write_json
    from mlel.ratings.rated import entries_from_records
    from mlel.results import ResultRecord, read_result_records

    for name, value in (("b.json", 1.2), ("a.json", 1.0), ("c.json", 3.0)):
        write_json(tmp_path / name, {"schema": "mlee-result/1", "task": "t", "model": "M" if value < 2 else "N",
                                     "environment": {"hardware": "H"}, "provenance": {"tool": "x"},
                                     "properties": {"p": {"value": value, "source": "measured"}}})
    scan = read_result_records(tmp_path)
    by_name = {e.model: e for e in entries_from_records(scan.records)}
    assert by_name["M"].logs == ["a.json", "b.json"] and by_name["N"].logs == ["c.json"]
    assert by_name["M"].values["p"] == pytest.approx(1.1)
    assert entries_from_records([(Path(p).name, r) for p, r in scan.records]) == list(by_name.values())
    assert isinstance(scan.records[0][1], ResultRecord)


def test_repeated_runs_without_anything_to_index_against_are_certain_e_without_draws(pair, monkeypatch):
    # no reference in the environment: no index can exist in any draw, so nothing is resampled: the
    # entry is not rated (the default scheme), or E for certain (mlee-2022); the interval of the
    # value still comes from the runs
    import mlel.ratings.odds as odds

    effnet = pair["EfficientNetB0"]
    runs = [effnet, _copy(effnet, "e2.json", energy_ws=effnet.energy_ws * 1.1)]
    drawn = []
    monkeypatch.setattr(odds, "rating_probabilities", lambda *a, **k: drawn.append(a) or pytest.fail("drew"))
    [summary], warnings = rate_runs(runs, RatingOptions(scheme="mlee-2022"))
    assert not drawn and "no graded" in warnings[0]
    assert summary["n_runs"] == 2 and summary["compound_p"] == {"A": 0.0, "B": 0.0, "C": 0.0, "D": 0.0, "E": 1.0}
    power = summary["metrics"]["inference_power_draw"]
    assert power["rating"] == "E" and power["rating_p"]["E"] == 1.0 and power["ci95"] is not None
    [honest], warnings = rate_runs(runs)
    assert not drawn and "not rated" in warnings[0]
    assert honest["compound"] is None and honest["compound_p"] is None and "lone model" in honest["not_rated"]
    power = honest["metrics"]["inference_power_draw"]
    assert power["rating"] is None and power["rating_p"] is None and power["ci95"] is not None
