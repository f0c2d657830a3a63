"""Issue 28: the trust properties of the inference task are --map targets like any other; a CSV with
an ECE column imports into records the ratings pipeline rates (shown, weight 0 by default)."""
from __future__ import annotations

import json

import pytest

from mlel.importers.cli import main
from mlel.ratings import RatingOptions
from mlel.ratings.report import rate_directory
from mlel.results import read_result_records

TABLE = """model,gpu,framework,energy_ws,ms,top1,ece_pct,nll_bits,top1_c
ResNet101,A100,PyTorch,0.8,3.0,0.77,3.5,1.4426950408889634,0.45
MobileNetV2,A100,PyTorch,0.2,1.0,0.72,7.0,,0.36
"""


def _import(tmp_path, capsys, *maps: str) -> tuple[int, object]:
    tmp_path.mkdir(exist_ok=True)
    source = tmp_path / "trust.csv"
    source.write_text(TABLE)
    out = tmp_path / "records"
    args = ["csv", str(source), "--task", "inference", "--model", "model", "--environment", "gpu,framework",
            "--output-dir", str(out), "--source", "measured"]
    for item in maps:
        args += ["--map", item]
    code = main(args)
    capsys.readouterr()
    return code, out


def test_an_ece_column_in_percent_imports_as_a_fraction_and_nll_in_bits_as_nats(tmp_path, capsys):
    code, out = _import(tmp_path, capsys, "inference_power_draw=energy_ws", "inference_time=ms",
                        "top1_val=top1", "ece=ece_pct:%", "nll=nll_bits:bits", "corruption_top1=top1_c")
    assert code == 0
    records = {r.model: r for _, r in read_result_records(out).records}
    resnet, mobile = records["ResNet101"], records["MobileNetV2"]
    assert resnet.properties["ece"].unit == "fraction" and resnet.value("ece") == pytest.approx(0.035)
    assert resnet.properties["nll"].unit == "nats / sample" and resnet.value("nll") == pytest.approx(1.0)
    assert mobile.value("corruption_top1") == 0.36 and mobile.value("nll") is None  # an empty cell: no value
    rated = {r.model: r for r in rate_directory(out, RatingOptions()).records}
    ece = rated["MobileNetV2"].metrics["ece"]
    # indexed against the task's reference like any metric: 0.035 / 0.07 = 0.5, twice its error: E (D needs > 0.5)
    assert ece.value == pytest.approx(0.07) and ece.index == pytest.approx(0.5) and ece.rating == "E"
    assert rated["MobileNetV2"].metrics["nll"].not_rated == "no value"
    # weight 0: the compound is the one without the trust columns
    plain_code, plain = _import(tmp_path / "plain", capsys, "inference_power_draw=energy_ws",
                                "inference_time=ms", "top1_val=top1")
    without = {r.model: r.compound for r in rate_directory(plain, RatingOptions()).records}
    assert plain_code == 0 and {m: r.compound for m, r in rated.items()} == without


def test_a_trust_property_in_a_unit_that_does_not_convert_is_refused_by_name(tmp_path, capsys):
    source = tmp_path / "bad.csv"
    source.write_text(TABLE)
    code = main(["csv", str(source), "--task", "inference", "--model", "model", "--environment", "gpu",
                 "--output-dir", str(tmp_path / "o"), "--map", "nll=nll_bits:ms"])
    error = capsys.readouterr().err
    assert code == 1 and "row 0: nll_bits: nll" in error and "cannot convert 'ms' to 'nats / sample'" in error
