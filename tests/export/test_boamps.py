"""`python -m mlel.export boamps`: one report per rated entry, each valid under the shared BoAmps schema,
its energy the rated entry's energy in kWh (an oracle written here, not the export's own rule), its
provenance honest (measured by which power source, estimated, or reported by which tool)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlel.base.filenames import key_stem
from mlel.export.cli import main
from tests.export.conftest import BOAMPS

J_PER_KWH = 3.6e6
# the energy each imported task's report must state: (property, joules per unit of its value)
IMPORTED_ENERGY = {
    "gpqa": ("energy_per_response", 1.0), "lm-arena-chat": ("energy_per_response", 1.0),
    "image-chat": ("energy_per_response", 1.0), "text-to-image": ("energy_per_image", 1.0),
    "text-to-video": ("energy_per_video", 1.0), "generic": ("energy_per_run", 1.0),
    "asr": ("gpu_energy_per_query", 3600.0), "image-classification": ("gpu_energy_per_query", 3600.0),
    "object-detection": ("gpu_energy_per_query", 3600.0), "summarization": ("gpu_energy_per_query", 3600.0),
}


def _export(tmp_path_factory, *directories: Path) -> Path:
    out = tmp_path_factory.mktemp("boamps")
    argv = ["boamps", "-o", str(out)]
    for directory in directories:
        argv += ["-d", str(directory)]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory, dirs_2022, own_results, imported) -> dict[str, Path]:
    return {"2022": _export(tmp_path_factory, dirs_2022), "own": _export(tmp_path_factory, own_results),
            "imported": _export(tmp_path_factory, imported)}


def _reports(folder: Path) -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def _report_of(folder: Path, summary: dict) -> dict:
    return json.loads((folder / _file_name(summary)).read_text())


def _file_name(summary: dict) -> str:
    return key_stem((summary["task"], summary["environment"], summary["entry"])) + ".json"


def test_the_validator_resolves_the_sub_schemas_and_rejects_a_broken_report(boamps_validator):
    example = json.loads((BOAMPS / "example-llm-inference.json").read_text())
    assert list(boamps_validator.iter_errors(example)) == []
    example["measures"][0].pop("powerConsumption")  # measure_schema.json, reached through a $ref
    example["infrastructure"]["components"][0]["nbComponent"] = 1.5  # hardware_schema.json
    messages = {error.message for error in boamps_validator.iter_errors(example)}
    assert messages == {"'powerConsumption' is a required property", "1.5 is not of type 'integer'"}


@pytest.mark.parametrize("kind", ["2022", "own", "imported"])
def test_every_rated_entry_has_one_report_and_every_report_validates(kind, exported, rated_json, boamps_validator):
    reports = _reports(exported[kind])
    expected = {_file_name(s) for s in rated_json[kind]}
    assert set(reports) == expected and len(expected) == len(rated_json[kind])
    problems = {name: [e.message for e in boamps_validator.iter_errors(report)] for name, report in reports.items()}
    assert {name: errors for name, errors in problems.items() if errors} == {}


@pytest.mark.parametrize("kind", ["2022", "own"])
def test_a_merged_logs_energy_is_its_rated_energy_in_kwh_and_names_its_power_sources(kind, exported, rated_json):
    for summary in rated_json[kind]:
        report = _report_of(exported[kind], summary)
        measure = report["measures"][0]
        assert measure["powerConsumption"] == pytest.approx(summary["energy"]["total_ws"] / J_PER_KWH, rel=1e-12)
        ways = {}
        for source, way in summary["energy"]["sources"].items():
            ways.setdefault(way, []).append(source)
        assert measure["measurementMethod"] == "mlee (" + "; ".join(f"{way}: {', '.join(names)}"
                                                                  for way, names in ways.items()) + ")"
        assert ("estimated" in measure["measurementMethod"]) == summary["energy"]["estimated"]
        assert report["task"]["taskStage"] == summary["task"]
        assert report["task"]["algorithms"][0]["algorithmName"] == summary["model"]
        assert f"files: {', '.join(summary['logs'])}" in report["task"]["taskDescription"]
    if kind == "2022":  # GPUs measured by NVML, 8 A100 in one machine, as the logs say
        report = _report_of(exported[kind], rated_json[kind][0])
        assert report["measures"][0]["gpuTrackingMode"] == "pynvml"
        assert {"componentName": "8 x NVIDIA A100-SXM4-40GB", "componentType": "gpu", "nbComponent": 8} \
            in report["infrastructure"]["components"]
        assert report["task"]["algorithms"][0]["framework"] == "PyTorch"
        assert report["task"]["algorithms"][0]["frameworkVersion"] == "1.10.2+cu113"


def test_an_imported_entrys_energy_is_its_rated_property_in_kwh_reported_by_its_tool(exported, rated_json):
    tools = {}
    for summary in rated_json["imported"]:
        key, joules = IMPORTED_ENERGY[summary["task"]]
        report = _report_of(exported["imported"], summary)
        measure = report["measures"][0]
        expected = summary["metrics"][key]["value"] * joules / J_PER_KWH
        assert measure["powerConsumption"] == pytest.approx(expected, rel=1e-12), summary["entry"]
        assert summary["energy"]["total_ws"] is None
        source = summary["energy"]["sources"][key]
        tool, how = re.fullmatch(r"(.+) \((\w+), imported by mlee\)", measure["measurementMethod"]).groups()
        assert how == source
        tools.setdefault(summary["task"], set()).add(tool)
        if summary["task"] != "generic":  # the energy of one request
            assert report["task"]["nbRequest"] == 1
    assert tools["gpqa"] == {"ML.ENERGY leaderboard"} and tools["generic"] == {"CodeCarbon"}
    # CodeCarbon's records hold energy_per_sample too: the energy of the whole run comes first
    assert all("energy_per_sample" in s["metrics"] for s in rated_json["imported"] if s["task"] == "generic")
    assert tools["asr"] == {"AI Energy Score"}


def test_codecarbon_records_keep_their_country_and_hardware(exported, rated_json):
    generic = [s for s in rated_json["imported"] if s["task"] == "generic"]
    assert len(generic) == 3
    reports = [_report_of(exported["imported"], s) for s in generic]
    assert sorted(r["environment"]["country"] for r in reports) == ["DEU", "FRA", "FRA"]
    components = sorted((c["componentName"], c["componentType"], c["nbComponent"])
                        for r in reports for c in r["infrastructure"]["components"])
    assert components == [("2 x NVIDIA A100-SXM4-40GB", "gpu", 2), ("2 x NVIDIA A100-SXM4-40GB", "gpu", 2),
                          ("AMD EPYC 7742 64-Core Processor", "cpu", 1)]
    # RAM is always modelled by CodeCarbon: the total is estimated, and the report says so
    assert {r["measures"][0]["measurementMethod"] for r in reports} == {"CodeCarbon (estimated, imported by mlee)"}


def test_names_are_stable_safe_and_one_per_key(exported, tmp_path_factory, own_results):
    again = _export(tmp_path_factory, own_results)
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in exported["own"].iterdir())
    for name in _reports(exported["imported"]):
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.json", name) and ".." not in name
    # two keys that sanitise alike still get two files
    assert key_stem(("t", "env", "a/b")) != key_stem(("t", "env", "a_b"))


def test_an_entry_without_an_energy_of_a_run_or_a_request_is_named_and_not_written(tmp_path, capsys):
    records = tmp_path / "records"
    records.mkdir()
    for model, value in (("m1", 0.5), ("m2", 0.7)):  # energy per token only: no request, no run
        (records / f"{model}.json").write_text(json.dumps({
            "schema": "mlee-result/1", "task": "gpqa", "model": model,
            "environment": {"hardware": "1 x H100", "software": "vLLM"},
            "properties": {"energy_per_token": {"value": value, "unit": "J/token", "source": "reported"}},
            "provenance": {"tool": "hand", "file": "x.json"}}))
    out = tmp_path / "out"
    assert main(["boamps", "-d", str(records), "-o", str(out)]) == 1  # nothing written
    err = capsys.readouterr().err
    assert err.count("not exported: m") == 2 and "energy_per_token (J/token)" in err
    assert list(out.iterdir()) == []


def test_two_directories_with_a_file_name_in_common_keep_each_logs_own_facts(tmp_path, dirs_2022):
    logs = sorted(dirs_2022.glob("infer_*.json"))[:2]
    durations = []
    for folder, log in zip(("a", "b"), logs):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.json").write_bytes(log.read_bytes())
        durations.append(json.loads(log.read_text())["validation"]["duration"])
    out = tmp_path / "out"
    assert main(["boamps", "-d", str(tmp_path / "a"), "-d", str(tmp_path / "b"), "-o", str(out)]) == 0
    reports = list(_reports(out).values())
    assert sorted(r["measures"][0]["measurementDuration"] for r in reports) == sorted(durations)
