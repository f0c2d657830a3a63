"""python -m mlel.label_generator: files written, the 2022 selection, clear errors and exit codes."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from mlel import label_generator as cli
from tests.labels.conftest import pdf_pages, pdf_text, png_image

INFER_LOG = "infer_2022_04_01_15_15_17.json"  # EfficientNetB0, A100 x8, PyTorch


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_label_of_a_log_as_pdf_and_png(reference_dir, tmp_path, capsys):
    pdf, png = tmp_path / "label.pdf", tmp_path / "out" / "label.png"
    code, out, err = run(capsys, "-f", reference_dir / INFER_LOG, "-o", pdf, "--png", png, "--dpi", 72)
    assert code == cli.EXIT_OK, err
    assert pdf_pages(pdf.read_bytes()) == 1 and "EfficientNetB0" in pdf_text(pdf.read_bytes())
    assert png_image(png.read_bytes()).width == 288
    assert f"wrote {pdf}" in out and "compound rating B" in err
    assert "optimistic median" in pdf_text(pdf.read_bytes())


def test_default_output_name_in_the_working_directory(reference_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "-f", reference_dir / INFER_LOG)[0] == cli.EXIT_OK
    assert [p.name for p in tmp_path.iterdir()] == ["infer_2022_04_01_15_15_17_label.pdf"]


def test_png_only(reference_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "-f", reference_dir / INFER_LOG, "--png", "x.png")[0] == cli.EXIT_OK
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_2022_selection_task_model_environment(reference_dir, tmp_path, capsys):
    pdf = tmp_path / "r50.pdf"
    code, _, err = run(capsys, "-d", reference_dir, "--task", "training", "--model", "resnet-50",
                       "--environment", "a100 x8 - pytorch", "-o", pdf)  # forgiving spelling
    assert code == cli.EXIT_OK, err
    text = pdf_text(pdf.read_bytes())
    assert "ResNet50" in text and "Training" in text and "A100 x8 - PyTorch 1.10.2+cu113" in text


def test_rating_options_reach_the_label(reference_dir, tmp_path, capsys):
    weights = tmp_path / "w.json"
    # only the size counts: EfficientNetB0 has a fifth of ResNet101's parameters, A (default: B)
    weights.write_text(json.dumps({"parameters": 1, "inference_power_draw": 0, "inference_time": 0,
                                   "top1_val": 0}))
    pdf = tmp_path / "l.pdf"
    code, _, err = run(capsys, "-f", reference_dir / INFER_LOG, "--weights", weights, "--mode", "worst",
                       "-o", pdf)
    assert code == cli.EXIT_OK, err
    assert "compound rating A" in err
    assert "Reference model: ResNet101 · worst" in pdf_text(pdf.read_bytes())
    code, _, err = run(capsys, "-f", reference_dir / INFER_LOG, "--reference", "ResNet50", "-o", pdf)
    assert code == cli.EXIT_OK and "Reference model: ResNet50" in pdf_text(pdf.read_bytes())


def test_a_log_outside_the_directory_is_rated_with_it(reference_dir, tmp_path, capsys):
    log = json.loads((reference_dir / INFER_LOG).read_text())
    log["config"]["model"] = "MyNet"  # an own model, measured beside the 2022 ones
    elsewhere = tmp_path / "mine.json"
    elsewhere.write_text(json.dumps(log))
    pdf = tmp_path / "l.pdf"
    code, _, err = run(capsys, "-f", elsewhere, "-d", reference_dir, "-o", pdf)
    assert code == cli.EXIT_OK, err
    text = pdf_text(pdf.read_bytes())
    assert "MyNet" in text and "mine.json" in text and "About MLEE" in text  # QR: the project page
    # the same log again, under another name, is a second run of EfficientNetB0: averaged (SPEC §5)
    shutil.copy(reference_dir / INFER_LOG, elsewhere)
    assert run(capsys, "-f", elsewhere, "-d", reference_dir, "-o", pdf)[0] == cli.EXIT_OK
    assert "mean of 2 runs" in pdf_text(pdf.read_bytes())


def test_model_not_found_lists_close_matches(reference_dir, capsys):
    code, _, err = run(capsys, "-d", reference_dir, "--model", "ResNt50")
    assert code == cli.EXIT_NOT_FOUND
    assert "did you mean" in err and "ResNet50" in err


def test_environment_needed_or_not_found(reference_dir, capsys):
    code, _, err = run(capsys, "-d", reference_dir, "--model", "ResNet50")
    assert code == cli.EXIT_USAGE and "--environment" in err and "RTX 5000 - TensorFlow 2.4.1" in err
    code, _, err = run(capsys, "-d", reference_dir, "--model", "ResNet50", "--environment", "H100 - JAX")
    assert code == cli.EXIT_NOT_FOUND and "A100 x8 - TensorFlow 2.8.0" in err
    code, _, err = run(capsys, "-d", reference_dir, "--model", "ResNet50", "--environment", "A100")
    assert code == cli.EXIT_USAGE and "matches several" in err


def test_reference_absent_is_an_error_not_a_label_of_es(reference_dir, tmp_path, capsys):
    code, _, err = run(capsys, "-f", reference_dir / INFER_LOG, "--reference", "ResNet500", "-o", tmp_path / "x.pdf")
    assert code == cli.EXIT_NOT_FOUND and "ResNet101" in err
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize("content, message", [
    ('{"a": 1}', "not a merged log"), ("{not json", "not valid JSON"), ("[1, 2]", "not a merged log")])
def test_a_file_that_is_not_a_merged_log(tmp_path, capsys, content, message):
    path = tmp_path / "foreign.json"
    path.write_text(content)
    code, _, err = run(capsys, "-f", path)
    assert code == cli.EXIT_USAGE and message in err and "foreign.json" in err


@pytest.mark.parametrize("argv, message", [
    ([], "nothing to label"),
    (["-f", "no/such/file.json"], "no such file"),
    (["--model", "ResNet50"], "needs -d"),
    (["-d", "no/such/dir", "--model", "ResNet50"], "no such directory"),
    (["--dpi", "0", "--model", "X", "-d", "."], "--dpi"),
])
def test_usage_errors(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == cli.EXIT_USAGE and message in err


def test_file_and_model_together(reference_dir, capsys):
    code, _, err = run(capsys, "-f", reference_dir / INFER_LOG, "--model", "VGG16", "-d", reference_dir)
    assert code == cli.EXIT_USAGE and "either" in err


def test_bad_weights_file(reference_dir, tmp_path, capsys):
    weights = tmp_path / "w.json"
    weights.write_text(json.dumps({"speed": 1}))
    code, _, err = run(capsys, "-f", reference_dir / INFER_LOG, "--weights", weights)
    assert code == cli.EXIT_USAGE and "speed" in err


def test_python_dash_m(reference_dir, tmp_path, repo_root):
    result = subprocess.run([sys.executable, "-m", "mlel.label_generator", "-f", str(reference_dir / INFER_LOG),
                             "-o", str(tmp_path / "l.pdf")], cwd=repo_root, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "l.pdf").read_bytes().startswith(b"%PDF")
