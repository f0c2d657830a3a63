"""Finding what to label (issue 24): "did you mean" with a handful of the closest names, never the
whole list; configurations told apart; --scheme passed on to the rating."""
from __future__ import annotations

import json
import re

import pytest

from mlel.labels import cli
from mlel.labels.lookup import MAX_SUGGESTIONS, closest, did_you_mean
from tests.labels.conftest import pdf_text

INFER_LOG = "infer_2022_04_01_15_15_17.json"  # EfficientNetB0, A100 x8, PyTorch
TRAIN_A100_PT = "A100 x8 - PyTorch 1.10.2+cu113"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _suggested(err: str) -> list[str]:
    found = re.search(r"did you mean (.*)\?", err)
    return found.group(1).split(", ") if found else []


def test_an_unknown_model_gets_the_closest_names_only(reference_dir, capsys):
    code, out, err = run(capsys, "-d", reference_dir, "--model", "ResNt50")
    assert code == cli.EXIT_NOT_FOUND and out == ""
    names = _suggested(err)
    assert names[0] == "ResNet50" and len(names) <= MAX_SUGGESTIONS
    assert "usage:" not in err and len(err.splitlines()) == 1


def test_a_name_close_to_nothing_lists_nothing_long(reference_dir, capsys):
    code, _, err = run(capsys, "-d", reference_dir, "--model", "zzzqqqxx")
    assert code == cli.EXIT_NOT_FOUND and "did you mean" not in err
    assert "VGG16" not in err and len(err) < 200  # not the ~30 names of the task


def test_an_unknown_task_suggests_the_known_one(reference_dir, capsys):
    code, _, err = run(capsys, "-d", reference_dir, "-t", "trainng", "--model", "ResNet50")
    assert code == cli.EXIT_NOT_FOUND and _suggested(err) == ["training"]


def test_closest_and_did_you_mean():
    names = [f"Qwen/Qwen3-14B (max_num_seqs {n})" for n in (8, 16, 32, 64, 128, 256, 512)] + ["VGG16"]
    assert len(closest("qwen3-14b", names)) == MAX_SUGGESTIONS
    assert did_you_mean("VGG61", names) == "; did you mean VGG16?"
    assert did_you_mean("x", ["a", "b"]) == "; available: a, b"
    assert did_you_mean("x", [f"model{i}" for i in range(80)]) == " (none of the 80 names is close)"


def test_a_model_of_several_configurations_asks_for_one():
    rated = [{"task": "lm-arena-chat", "environment": "1 x H100 - vLLM", "model": "Qwen/Qwen3-14B",
              "entry": f"Qwen/Qwen3-14B (max_num_seqs {n})"} for n in (8, 16, 32, 64, 128, 256)]
    args = cli.build_parser().parse_args(["-t", "lm-arena-chat", "-m", "Qwen/Qwen3-14B"])
    with pytest.raises(cli.LabelError, match=r"6 configurations.*max_num_seqs 128.*\(6 in all\)") as error:
        cli._pick(rated, None, None, args)
    assert error.value.code == cli.EXIT_USAGE


def test_scheme_is_passed_on_to_the_rating(reference_dir, tmp_path, capsys):
    pdf = tmp_path / "l.pdf"
    argv = ("-d", reference_dir, "-t", "training", "-m", "EfficientNetB0", "-e", TRAIN_A100_PT, "-o", pdf)
    code, _, err = run(capsys, *argv)  # the default scheme: no value, no level
    assert code == cli.EXIT_OK, err
    text = pdf_text(pdf.read_bytes())
    assert "Rated by MLEE (honest)" in text and "Not rated: no value" in text
    code, _, err = run(capsys, *argv, "--scheme", "mlee-2022")  # the 2022 rule: no value is E
    assert code == cli.EXIT_OK, err
    text = pdf_text(pdf.read_bytes())
    assert "Rated by MLEE 2022" in text and "Not rated" not in text


def test_a_scheme_file_is_named_by_its_title(reference_dir, tmp_path, capsys):
    scheme = tmp_path / "mine.json"
    scheme.write_text(json.dumps({"scheme": "mine", "title": "My careful scheme", "missing": "not-rated"}))
    pdf = tmp_path / "l.pdf"
    code, _, err = run(capsys, "-f", reference_dir / INFER_LOG, "--scheme", scheme, "-o", pdf)
    assert code == cli.EXIT_OK, err
    assert "Rated by My careful scheme" in pdf_text(pdf.read_bytes())


def test_an_unknown_scheme_is_a_usage_error(reference_dir, tmp_path, capsys):
    code, _, err = run(capsys, "-f", reference_dir / INFER_LOG, "--scheme", "strp", "-o", tmp_path / "l.pdf")
    assert code == cli.EXIT_USAGE and "did you mean strep" in err
    assert not (tmp_path / "l.pdf").exists()


def test_the_command_line_module_stays_small(repo_root):
    for name in ("cli", "arguments", "lookup", "content", "render", "scale", "drawing", "levels"):
        lines = (repo_root / "mlel" / "labels" / f"{name}.py").read_text().splitlines()
        assert len(lines) <= 400, name
