"""The readable table of ``python -m mlel.ratings`` (issue 13, issue 14 item 8): 120 columns, the
label's metrics in scaled units, 'B (87%)' where runs were resampled, --wide for all."""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest

from mlel.runlog.logs import load_logs
from mlel.ratings import aggregate_runs, rate_entries
from mlel.ratings.table import TABLE_WIDTH, format_table, letter


@pytest.fixture(scope="module")
def reference_records(reference_dir):
    records, _ = rate_entries(aggregate_runs(load_logs(reference_dir)[0]))
    return records


def test_default_table_fits_120_columns_with_label_metrics(reference_records):
    table = format_table(reference_records)
    assert max(len(line) for line in table.splitlines()) <= TABLE_WIDTH
    assert "Energy per" in table and "Operations" not in table  # label metrics only
    effnet = next(line for line in table.splitlines() if line.strip().startswith("EfficientNetB0"))
    assert "877 mJ C" in effnet and "77.7 % B" in effnet  # format_quantity, then the letter
    wide = format_table(reference_records, wide=True)
    assert "Operations" in wide and "Model file size" in wide


def test_resampled_letters_show_their_probability(reference_dir):
    runs, _ = load_logs([reference_dir / "infer_2022_03_03_17_30_03.json",
                         reference_dir / "infer_2022_03_03_17_21_20.json"])
    effnet = next(r for r in runs if r.model == "EfficientNetB0")
    repeated = [dataclasses.replace(effnet, file=f"e{i}.json", energy_ws=effnet.energy_ws * f)
                for i, f in enumerate((0.8, 1.0, 1.25))]
    records, _ = rate_entries(aggregate_runs(repeated + [r for r in runs if r.model == "ResNet101"]))
    table = format_table(records)
    row = next(line for line in table.splitlines() if line.strip().startswith("EfficientNetB0"))
    record = next(r for r in records if r.model == "EfficientNetB0")
    power = record.metrics["inference_power_draw"]
    assert f"{power.rating} ({power.probability * 100:.0f}%)" in row
    assert re.search(r"EfficientNetB0\s+3\s+[A-E] \(\d+%\)", row)  # runs, then the compound with its odds
    resnet = next(line for line in table.splitlines() if line.strip().startswith("ResNet101"))
    assert "%)" not in resnet  # one run against itself: certain letters, no probability printed


def test_letter_text():
    assert letter("B", 0.874, True) == "B (87%)"
    assert letter("B", 1.0, False) == "B"
    assert letter(None, None, False) == "–"  # no letter: a dash, never an E


def test_cli_help_says_the_shown_letter_is_the_most_likely():
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "most likely letter" in " ".join(out.split()) and "--wide" in out
