"""Property sets as data: the built-in 2022 sets, their round trip, user files and their errors."""
import json

import pytest

from mlel.base.errors import UsageError
from mlel.runlog.metrics import LABEL_METRICS, METRICS, task_metrics
from mlel.tasks.properties import TRUST_GROUP, PropertySet, builtin_tasks, load_property_set, read_property_set
from mlel.ratings import RatingOptions, aggregate_runs, rate_entries, rate_results

TRUST_KEYS = ("ece", "nll", "corruption_top1", "robustness")
SPEC_INFERENCE_B0 = {"parameters": 8.38693941043089, "gflops": 19.202413664139083,
                     "inference_power_draw": 1.8052095901385745, "top1_val": 1.0214309865015994}


def test_builtin_sets_hold_the_2022_metrics():
    tasks = builtin_tasks()
    assert {"inference", "training"} <= set(tasks)
    inference = tasks["inference"]
    assert inference.keys == ("parameters", "gflops", "fsize", "inference_power_draw", "inference_time",
                              "top1_val", "top5_val") + TRUST_KEYS
    # issue 28: the trust group is shown, not compounded, until a user weights it
    assert inference.group_keys(TRUST_GROUP) == TRUST_KEYS
    assert all(inference[key].weight == 0 and inference[key].boundaries for key in TRUST_KEYS)
    assert inference.label_tiles == ("inference_power_draw", "inference_time", "top1_val", "parameters")
    assert {k for k, w in inference.default_weights().items() if w > 0} == set(inference.label_tiles)
    for key, b0 in SPEC_INFERENCE_B0.items():  # SPEC §5's table
        assert inference[key].boundaries[0] == b0
    assert inference["top1_val"].higher_is_better and not inference["inference_time"].higher_is_better
    training = tasks["training"]
    assert training["train_power_draw"].boundaries == (1.1262860986893752, 1.0, 0.7588663854696236,
                                                       0.5627471141302683)
    # the metric table of merged logs is derived from the sets, not written twice
    assert task_metrics("training") == training.keys and LABEL_METRICS["training"] == training.label_tiles
    assert METRICS["gflops"].label == inference["gflops"].name and METRICS["gflops"].tasks == ("inference",
                                                                                             "training")


def test_round_trip_and_user_file(tmp_path):
    inference = load_property_set("inference")
    assert PropertySet.from_dict(json.loads(json.dumps(inference.to_dict()))) == inference
    data = inference.to_dict()
    data["properties"]["gflops"]["weight"] = 2.0
    del data["properties"]["fsize"]["boundaries"]  # optional: the caller gives or calibrates them
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    mine = load_property_set(path)
    assert mine["gflops"].weight == 2.0 and mine["fsize"].boundaries is None
    assert "fsize" not in mine.default_boundaries()


@pytest.mark.parametrize("change, message", [
    (lambda d: d["properties"]["gflops"].pop("unit"), "lacks unit"),
    (lambda d: d["properties"]["gflops"].update(weight=-1), "non-negative"),
    (lambda d: d["properties"]["gflops"].update(boundaries=[1, 2, 3, 4]), "descend"),
    (lambda d: d["properties"]["gflops"].update(higher_is_better="no"), "true or false"),
    (lambda d: d.update(label_tiles=["speed"]), "speed"),
    (lambda d: d.pop("properties"), "expected"),
])
def test_bad_user_files_name_the_problem(tmp_path, change, message):
    data = load_property_set("inference").to_dict()
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=message) as raised:
        read_property_set(path)
    assert "bad.json" in str(raised.value) and raised.value.exit_code == 2


def test_unknown_task_and_missing_file():
    with pytest.raises(UsageError, match="built-in tasks: .*inference"):
        load_property_set("cooking")


def test_a_user_set_changes_what_is_rated(reference_dir):
    from mlel.runlog.logs import load_logs

    runs, _ = load_logs([reference_dir / "infer_2022_03_03_17_21_20.json",
                         reference_dir / "infer_2022_03_03_17_30_03.json"])
    data = load_property_set("inference").to_dict()
    data["properties"] = {k: v for k, v in data["properties"].items() if k in ("inference_power_draw", "top1_val")}
    data["label_tiles"] = ["inference_power_draw", "top1_val"]
    data["properties"]["inference_power_draw"]["weight"] = 0.0
    mine = PropertySet.from_dict(data)
    rated, _ = rate_entries(aggregate_runs(runs), RatingOptions(property_sets={"inference": mine}))
    effnet = next(r for r in rated if r.model == "EfficientNetB0")
    assert list(effnet.metrics) == ["inference_power_draw", "top1_val"]
    # top-1 alone decides: index 0.9487 -> D (the default set's median over four metrics says B)
    assert effnet.metrics["inference_power_draw"].rating == "B" and effnet.compound == "D"
    default, _ = rate_results(aggregate_runs(runs))
    assert next(r for r in default if r["model"] == "EfficientNetB0")["compound"] == "B"


def test_entries_of_any_task_rate_by_their_property_set():
    from mlel.ratings.rated import ModelResult

    llm = PropertySet.from_dict({
        "task": "chat", "display_name": "LLM chat", "label_tiles": ["energy_per_token", "quality"],
        "properties": {
            "energy_per_token": {"name": "Energy per token", "unit": "J/token", "higher_is_better": False,
                                 "group": "Resources", "weight": 1.0, "boundaries": [2.0, 1.2, 0.8, 0.5]},
            "quality": {"name": "Arena score", "unit": "", "higher_is_better": True, "group": "Quality",
                        "weight": 1.0}}})  # no default boundaries: quality rates E unless given
    entries = [ModelResult("chat", "B200 - vLLM", name, [], {"energy_per_token": energy, "quality": 1200.0},
                           sources={"reported": "reported"})
               for name, energy in (("ref-model", 0.7), ("small", 0.3), ("big", 1.6))]
    options = RatingOptions(reference="ref-model", property_sets={"chat": llm}, mode="best")
    rated, warnings = rate_entries(entries, options)
    assert warnings == []
    by_model = {r.model: r for r in rated}
    assert by_model["small"].metrics["energy_per_token"].index == pytest.approx(0.7 / 0.3)  # 2.33 > b0
    # the reference's own index is 1 (C: b1 = 1.2 ≥ 1 > 0.8); 0.7 / 1.6 = 0.44 lies below b3 (E)
    ratings = [by_model[m].metrics["energy_per_token"].rating for m in ("ref-model", "small", "big")]
    assert ratings == ["C", "A", "E"]
    # no boundaries, no letter (the 2022 scheme: E)
    assert {r.metrics["quality"].rating for r in rated} == {None} and by_model["small"].compound == "A"
    assert {r.metrics["quality"].not_rated for r in rated} == {"no index: nothing to compare this value with"}
    in_2022 = rate_entries(entries, RatingOptions(reference="ref-model", property_sets={"chat": llm}, mode="best",
                                                  scheme="mlee-2022"))[0]
    assert {r.metrics["quality"].rating for r in in_2022} == {"E"}
    given = RatingOptions(reference="ref-model", property_sets={"chat": llm},
                          boundaries={"quality": [1.1, 1.0, 0.9, 0.8]})
    assert rate_entries(entries, given)[0][0].metrics["quality"].rating == "C"  # index 1.0 = b1: C
