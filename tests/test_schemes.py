"""Rating schemes (issue 24, SPEC §10): the 2022 method exactly under mlee-2022, no letter without
evidence under the default, STREP's quantiles, schemes as data with errors that name the field."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlel.base.errors import UsageError
from mlel.ratings import NOT_RATED, RATING_COLORS, RatingOptions, rate_entries, rate_runs, rate_task
from mlel.ratings.entries import ModelResult
from mlel.ratings.engine import compound_levels, equal_width_boundaries, rating_levels
from mlel.runlog.logs import load_logs
from mlel.tasks.properties import TRUST_GROUP, PropertySet, load_property_set
from mlel.tasks.schemes import builtin_schemes, load_scheme
from tests.test_palette import SPEC_2022 as SPEC_2022_COLORS

REPO = Path(__file__).resolve().parents[1]
# sha256 of the sorted (task, environment, entry, metric, rating) of the 232 logs, and of their
# compounds, as the code before schemes (commit e93f929) rated them: mlee-2022 must give these bytes
RATINGS_2022 = "0bde4ff0f9b33692d0b8522957d31f703fdb9ab1ef8f04d8a7e7bbc863f4a042"
COMPOUNDS_2022 = "5edd7c5772d83493b0c10fbe8664ec3abb28fa3c1d2ac5aec8c31aaf41b7fcd3"


def _digest(rows) -> str:
    return hashlib.sha256(json.dumps(sorted(rows)).encode()).hexdigest()


@pytest.fixture(scope="module")
def runs_2022(reference_dir):
    runs, problems = load_logs(reference_dir)
    assert problems == [] and len(runs) == 232
    return runs


def test_mlee_2022_rates_the_232_logs_exactly_as_the_2022_method(runs_2022):
    rated, _ = rate_runs(runs_2022, RatingOptions(scheme="mlee-2022"))
    # the digest covers the 2022 metrics only: the trust properties (issue 28) came after, and the
    # 2022 logs have no values for them; that they change no compound is COMPOUNDS_2022's to prove
    trust = set(load_property_set("inference").group_keys(TRUST_GROUP))
    ratings = [(s["task"], s["environment"], s["entry"], key, m["rating"]) for s in rated
               for key, m in s["metrics"].items() if key not in trust]
    assert len(ratings) == 1736 and all(r[4] in "ABCDE" for r in ratings)
    assert _digest(ratings) == RATINGS_2022
    assert _digest([(s["task"], s["environment"], s["entry"], s["compound"]) for s in rated]) == COMPOUNDS_2022
    assert {s["scheme"] for s in rated} == {"mlee-2022"}


def test_the_default_differs_from_2022_only_where_there_is_no_evidence(runs_2022):
    old = {(s["task"], s["environment"], s["entry"]): s for s in rate_runs(runs_2022, RatingOptions(scheme="mlee-2022"))[0]}
    new, _ = rate_runs(runs_2022)
    changed = 0
    for summary in new:
        before = old[(summary["task"], summary["environment"], summary["entry"])]
        for key, metric in summary["metrics"].items():
            if metric["rating"] != before["metrics"][key]["rating"]:
                changed += 1
                # only a metric without a value loses its letter: it was an E for "not measured"
                assert metric["value"] is None and metric["rating"] is None and metric["not_rated"] == "no value"
                assert before["metrics"][key]["rating"] == "E"
        assert summary["compound"] in "ABCDE" and summary["scheme"] == "mlee"
    assert changed > 0


def _set(**extra) -> PropertySet:
    return PropertySet.from_dict({"task": "chat", "properties": {
        "energy": {"name": "Energy per token", "unit": "J/token", "higher_is_better": False, "group": "Resources",
                   "weight": 1.0, "boundaries": [2.0, 1.2, 0.8, 0.5]},
        "latency": {"name": "Latency", "unit": "ms", "higher_is_better": False, "group": "Performance",
                    "weight": 1.0, "boundaries": [2.0, 1.2, 0.8, 0.5]}}, **extra})


def _entry(model: str, energy: float | None, latency: float | None = 1.0, env: str = "B200 - vLLM") -> ModelResult:
    return ModelResult("chat", env, model, [f"{model}.json"], {"energy": energy, "latency": latency})


def _rate(entries, **options):
    return rate_entries(entries, RatingOptions(property_sets={"chat": options.pop("prop_set", _set())}, **options))


def test_a_missing_value_is_not_rated_and_the_compound_rests_on_the_rest():
    entries = [_entry("ref", 1.0), _entry("small", 0.3, None), _entry("big", 1.6)]
    rated, _ = _rate(entries, reference="ref")
    small = {r.model: r for r in rated}["small"].to_dict()
    assert small["metrics"]["latency"]["rating"] is None and small["metrics"]["latency"]["not_rated"] == "no value"
    assert small["compound"] == "A" and small["compound_rests_on"] == "1 of 2 weighted metrics"
    old, _ = _rate(entries, reference="ref", scheme="mlee-2022")  # the 2022 rule: E, counted
    small_2022 = {r.model: r for r in old}["small"].to_dict()
    # the E of "not measured" pulls the compound from A to C (optimistic median of A and E)
    assert small_2022["metrics"]["latency"]["rating"] == "E" and small_2022["compound"] == "C"
    assert "compound_rests_on" not in small_2022


def test_repeated_runs_with_a_missing_metric_draw_no_letter_for_it():
    # several runs: letters come from the seeded draws, which must treat "no value" as the engine
    # does (no letter, not counted), not as an E in every draw
    runs = ({"energy": 0.30, "latency": None}, {"energy": 0.32, "latency": None}, {"energy": 0.31, "latency": None})
    pooled = ModelResult("chat", "B200 - vLLM", "small", ["a.json", "b.json", "c.json"],
                         {"energy": 0.31, "latency": None}, run_values=runs)
    rated, _ = _rate([_entry("ref", 1.0), pooled, _entry("big", 1.6)], reference="ref")
    small = rated[1].to_dict()
    assert small["n_runs"] == 3 and small["metrics"]["latency"]["rating"] is None
    assert small["metrics"]["latency"]["not_rated"] == "no value" and small["metrics"]["latency"]["rating_p"] is None
    assert small["compound"] == "A" and small["compound_p"]["A"] > 0.99  # energy index 3.2, far above b0 = 2
    assert small["metrics"]["energy"]["rating"] == "A" and small["compound_rests_on"] == "1 of 2 weighted metrics"
    old, _ = _rate([_entry("ref", 1.0), pooled, _entry("big", 1.6)], reference="ref", scheme="mlee-2022")
    assert old[1].metrics["latency"].rating == "E" and old[1].compound == "C"  # the E counts, as in 2022


def test_an_environment_without_the_reference_is_not_rated_never_e():
    entries = [_entry("ref", 1.0), _entry("small", 0.3), _entry("x", 0.5, env="H100 - vLLM"),
               _entry("y", 0.7, env="H100 - vLLM")]
    warnings: list[str] = []
    rated = rate_task(entries, _set(), RatingOptions(reference="ref", property_sets={"chat": _set()}), warnings)
    assert rated.compound.tolist()[2:] == [NOT_RATED, NOT_RATED] and (rated.levels[2:] == NOT_RATED).all()
    assert "not rated" in warnings[0] and "H100 - vLLM" in warnings[0]
    records, _ = _rate(entries, reference="ref")
    x = records[2].to_dict()
    assert x["compound"] is None and x["compound_p"] is None and "no ref in 'H100 - vLLM'" in x["not_rated"]
    assert all(m["rating"] is None and m["not_rated"] == "entry not rated" for m in x["metrics"].values())
    assert x["metrics"]["energy"]["value"] == 0.5  # the value is still shown
    old, _ = _rate(entries, reference="ref", scheme="mlee-2022")
    assert old[2].compound == "E"


def test_a_lone_model_is_not_rated_and_told_how_to_get_a_grade():
    [alone], _ = rate_entries([_entry("mine", 0.4)], RatingOptions(property_sets={"chat": _set()}))
    out = alone.to_dict()
    assert out["compound"] is None and out["reference"] == "best"  # the task names no reference model
    assert out["not_rated"].startswith("lone model: nothing to compare with in 'B200 - vLLM'")
    assert "mlel.record.experiment('chat', '<model>')" in out["not_rated"]
    inference = ModelResult("inference", "EPYC - PyTorch", "ResNet50", ["r.json"], {"inference_power_draw": 1.0},
                            backend="torch 2.14.1")
    [one], warnings = rate_entries([inference])
    assert "python infer.py --model resnet101 --backend torch" in one.not_rated


def test_strep_quantiles_need_five_models_else_the_fixed_boundaries_said_so():
    few = [_entry(f"m{i}", 0.2 * (i + 1)) for i in range(4)]
    rated, _ = _rate(few, scheme="strep")
    out = rated[0].to_dict(settings=True)
    assert out["boundaries_note"] == ("fixed boundaries: 4 graded model(s) in the task, quantile boundaries need 5")
    # the fixed boundaries of the best scale: the same cut for every property, the best model A
    assert out["boundaries"]["energy"] == [0.8, 0.6, 0.4, 0.2] and out["reference"] == "best"
    many = [_entry(f"m{i}", 0.2 * (i + 1)) for i in range(6)]
    rated, _ = _rate(many, scheme="strep")
    out = rated[0].to_dict(settings=True)
    assert "boundaries_note" not in out and out["boundaries"]["energy"] != [0.8, 0.6, 0.4, 0.2]
    # indices 0.2 / x: 1, .5, .33, .25, .2, .17; quantiles .8/.6/.4/.2 of them: .5, .33, .25, .2
    assert [r.metrics["energy"].rating for r in rated] == ["A", "B", "C", "D", "E", "E"]


def test_on_the_best_scale_the_best_value_of_every_property_is_an_a():
    # the issue's case: the smallest LLM's parameters (index 1.0) got B while an energy index of
    # 0.76 got A, by per-property quantiles nobody saw; the default now cuts every property alike
    entries = [_entry(f"m{i}", 0.2 * (i + 1), latency=1.0 + i) for i in range(6)]
    rated, _ = _rate(entries)
    best = rated[0].to_dict(settings=True)
    assert best["reference"] == "best" and best["scheme"] == "mlee"
    assert best["metrics"]["energy"]["index"] == 1.0 and best["metrics"]["latency"]["index"] == 1.0
    assert best["metrics"]["energy"]["rating"] == best["metrics"]["latency"]["rating"] == "A"
    assert best["boundaries"] == {"energy": [0.8, 0.6, 0.4, 0.2], "latency": [0.8, 0.6, 0.4, 0.2]}
    second = rated[1].to_dict()["metrics"]  # 0.2 / 0.4 = 0.5 (C), 1 / 2 = 0.5 (C): one index, one letter
    assert second["energy"]["rating"] == second["latency"]["rating"] == "C"


def test_equal_width_bins_put_a_value_on_a_cut_in_the_worse_bin():
    import numpy as np

    scores = -np.array([[1.0], [2.0], [3.0], [5.999], [6.0]])  # lower is better: min 1, max 6, width 1
    bounds = equal_width_boundaries(scores)
    assert rating_levels(scores, bounds)[:, 0].tolist() == [0, 1, 2, 4, 4]
    assert rating_levels(-np.array([[2.0], [2.0]]), equal_width_boundaries(-np.array([[2.0], [2.0]]))).tolist() \
        == [[0], [0]]  # one value: every entry best


def test_not_rated_cells_do_not_count_and_a_row_without_any_is_not_rated():
    import numpy as np

    levels = np.array([[0, NOT_RATED, 4], [NOT_RATED, NOT_RATED, NOT_RATED], [4, 4, 0]], dtype=np.int8)
    # row 0 rests on A and E (optimistic median: C), as if its unrated metric were not there
    assert compound_levels(levels, np.array([1.0, 1.0, 1.0]), "optimistic median").tolist() == [2, NOT_RATED, 4]
    assert compound_levels(levels, np.array([1.0, 1.0, 1.0]), "best").tolist() == [0, NOT_RATED, 0]
    assert compound_levels(levels, np.array([1.0, 1.0, 1.0]), "worst").tolist() == [4, NOT_RATED, 4]


def test_a_scheme_file_is_data_and_bad_fields_are_named(tmp_path):
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"scheme": "mine", "scale": "best", "boundaries": "quantiles", "min_group": 3,
                                "missing": "not-rated", "mode": "worst"}))
    entries = [_entry(f"m{i}", 0.2 * (i + 1)) for i in range(3)]
    rated, _ = _rate(entries, scheme=str(mine))
    assert rated[0].to_dict()["scheme"] == "mine" and "boundaries_note" not in rated[0].to_dict()
    assert rated[0].mode == "worst"
    for bad, field in (({"scheme": "x", "scale": "median"}, "'scale'"), ({"scheme": "x", "levels": ["A"]}, "'levels'"),
                       ({"scheme": "x", "quantiles": [0.2, 0.4, 0.6, 0.8]}, "'quantiles'"),
                       ({"scheme": "x", "colour": 1}, "colour"), ({"scale": "best"}, "expected")):
        mine.write_text(json.dumps(bad))
        with pytest.raises(UsageError, match=field) as error:
            load_scheme(str(mine))
        assert "mine.json" in str(error.value)
    with pytest.raises(UsageError, match="did you mean strep"):
        load_scheme("strepp")


def test_every_built_in_scheme_loads_and_the_default_is_honest():
    schemes = builtin_schemes()
    assert set(schemes) == {"mlee", "mlee-2022", "strep", "ai-energy-score"}
    assert load_scheme().name == "mlee" and load_scheme().honest and not schemes["mlee-2022"].honest
    assert schemes["ai-energy-score"].levels == ("5", "4", "3", "2", "1")


def test_the_cli_takes_a_scheme_and_says_what_is_not_rated(tmp_path, reference_dir):
    for name in ("infer_2022_03_03_17_30_03.json",):  # EfficientNetB0 alone: no ResNet101 beside it
        (tmp_path / name).write_bytes((reference_dir / name).read_bytes())
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--json"], capture_output=True,
                         text=True, cwd=REPO)
    [summary] = json.loads(out.stdout)
    assert out.returncode == 0 and summary["compound"] is None and "lone model" in summary["not_rated"]
    assert "1 not rated" in out.stderr
    old = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--json", "--scheme",
                          "mlee-2022"], capture_output=True, text=True, cwd=REPO)
    assert json.loads(old.stdout)[0]["compound"] == "E"
    bad = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--scheme", "nope"],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and "no built-in scheme" in bad.stderr


def test_tracking_tags_say_not_rated_instead_of_a_letter():
    from mlel.apps.tracking import _rating_fields

    [alone], _ = rate_entries([_entry("mine", 0.4)], RatingOptions(property_sets={"chat": _set()}))
    _, tags = _rating_fields(alone.to_dict())
    assert "mlee.compound" not in tags and tags["mlee.not_rated"].startswith("lone model")
    assert tags["mlee.scheme"] == "mlee" and not any(k.startswith("mlee.rating.") for k in tags)


def test_ai_energy_score_reproduces_every_published_star(tmp_path, reference_dir):
    import csv

    source = reference_dir.parents[1] / "ai-energy-score"  # beside mlee-2022/ in ../shared/reference
    imported = subprocess.run([sys.executable, "-m", "mlel.importers", "aienergyscore", str(source), "--output-dir",
                               str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert imported.returncode == 0, imported.stderr
    published = {}  # (file stem, model) -> stars; a model measured twice has the same stars both times
    for table in sorted(source.glob("*.csv")):
        for row in csv.DictReader(table.open()):
            published.setdefault((table.stem, row["model"]), set()).add(row["energy_score"])
    assert len(published) == 52 and all(len(stars) == 1 for stars in published.values())
    for scheme in (["--scheme", "ai-energy-score"], []):  # the tasks' own scheme is AI Energy Score's
        out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--json", *scheme],
                             capture_output=True, text=True, cwd=REPO)
        rated = json.loads(out.stdout)
        assert len(rated) == 52
        for summary in rated:
            [stars] = published[(summary["task"].replace("-", "_"), summary["model"])]
            assert summary["compound"] == stars, summary["model"]
            assert summary["levels"] == ["5", "4", "3", "2", "1"] and summary["level_style"] == "stars"
            assert summary["metrics"]["gpu_energy_per_query"]["index"] is None  # the raw value: no index
    # the 2022-style scheme on the same data gives letters, indexed against the best of each task
    letters = json.loads(subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--json",
                                         "--scheme", "mlee"], capture_output=True, text=True, cwd=REPO).stdout)
    assert {s["compound"] for s in letters} <= set("ABCDE") and {s["reference"] for s in letters} == {"best"}


def test_the_paper_gives_no_letter_without_evidence(tmp_path, reference_dir):
    from mlel.paper.outputs import indexing_table, rate_for_paper, rating_histogram

    # EfficientNetB0 trained on A100 x8 PyTorch: its full-training energy was not measured (2022 logs)
    rated, _, _ = rate_for_paper(reference_dir)
    effnet = next(s for s in rated if s["task"] == "training" and s["model"] == "EfficientNetB0"
                  and s["environment"] == "A100 x8 - PyTorch 1.10.2+cu113")
    assert effnet["metrics"]["train_power_draw"]["rating"] is None and effnet["scheme"] == "mlee"
    table = indexing_table([effnet], None, ("train_power_draw",), "training")
    assert "n.a. & n.a." in table and "cellcolor" not in table.split("\\midrule")[1]  # no colour, no E
    lone = {**effnet, "compound": None, "not_rated": "lone model: …"}
    figure = rating_histogram([lone], "training")
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == \
        ["A", "B", "C", "D", "E", "no letter (not graded / not rated)"]
    in_2022, _, _ = rate_for_paper(reference_dir, scheme="mlee-2022")
    effnet_2022 = next(s for s in in_2022 if s["task"] == "training" and s["model"] == "EfficientNetB0"
                       and s["environment"] == "A100 x8 - PyTorch 1.10.2+cu113")
    assert effnet_2022["metrics"]["train_power_draw"]["rating"] == "E"


def test_under_mlee_2022_the_papers_table_is_the_2022_one(tmp_path, reference_dir):
    from mlel.paper.outputs import DEFAULT_MODELS, rate_for_paper, write_tables

    # the body (values, indices, their colours) of indexing-results.tex as the code before schemes
    # (commit e93f929) wrote it; only the column header's wording has changed since ("Energy per sample")
    rated, _, runs = rate_for_paper(reference_dir, scheme="mlee-2022")
    write_tables(reference_dir, runs, rated, DEFAULT_MODELS, tmp_path)
    body = (tmp_path / "indexing-results.tex").read_text().split("\\midrule", 1)[1]
    for letter, hex_code in RATING_COLORS.items():  # the palette has moved since (tests/test_palette.py)
        body = body.replace(hex_code.lstrip("#"), SPEC_2022_COLORS[letter].lstrip("#"))
    assert hashlib.sha256(body.encode()).hexdigest() == \
        "034b9642316cbe97ac40459628f9e64116a07a805c53f42c23603aca36ad29c3"


def test_boundaries_of_ones_own_are_fixed_ones_under_any_scheme():
    # STREP makes its boundaries from quantiles; a --boundaries file (or ELEx's sliders) replaces them
    many = [_entry(f"m{i}", 0.2 * (i + 1)) for i in range(6)]
    given = {"energy": [0.9, 0.7, 0.5, 0.3]}
    rated, _ = _rate(many, scheme="strep", boundaries=given)
    out = rated[0].to_dict(settings=True)
    assert out["boundaries"]["energy"] == [0.9, 0.7, 0.5, 0.3] and out["scheme"] == "strep"
    # indices 1, .5, .33, .25, .2, .17 against 0.9 / 0.7 / 0.5 / 0.3
    assert [r.metrics["energy"].rating for r in rated] == ["A", "D", "D", "E", "E", "E"]
