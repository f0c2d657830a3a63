"""python -m mlel.label_generator: files written, the 2022 selection, clear errors and exit codes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlel.labels import cli
from mlel.base.errors import EXIT_CODES_EPILOG
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
    (["-f", "no/such/file.json"], "no such file"),
    (["-d", "no/such/dir", "--model", "ResNet50"], "no such directory"),
    (["--dpi", "0", "--model", "X", "-d", "."], "--dpi"),
])
def test_usage_errors(capsys, argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
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


# --- the 2022 tool's flags and its run without arguments ------------------------------------------

@pytest.fixture
def in_results_dir(reference_dir, tmp_path, monkeypatch) -> Path:
    """A working directory whose results/ holds the 2022 logs (as a clone of the 2022 repository)."""
    (tmp_path / "results").symlink_to(reference_dir, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_no_arguments_labels_the_first_log_in_results(in_results_dir, reference_dir, capsys):
    code, out, err = run(capsys)
    first = sorted(p.name for p in reference_dir.glob("*.json"))[0]
    assert code == cli.EXIT_OK, err
    assert f"first log in results: {first}" in err
    pdf = in_results_dir / f"{Path(first).stem}_label.pdf"
    assert pdf_pages(pdf.read_bytes()) == 1 and f"wrote {pdf.name}" in out


def test_no_arguments_and_no_results_says_how_to_get_some(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys)
    assert code == cli.EXIT_NOT_FOUND and "nothing to label" in err
    assert "make demo" in err and "infer.py" in err and "-f FILE" in err
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "notes.json").write_text("[]")  # no merged log among them
    code, _, err = run(capsys)
    assert code == cli.EXIT_NOT_FOUND and "no merged logs in 'results'" in err and "make demo" in err
    assert list(tmp_path.glob("*.pdf")) == []


def test_short_flags_of_2022(in_results_dir, capsys):
    code, _, err = run(capsys, "-t", "training", "-m", "ResNet50", "-e", "A100 x8 - PyTorch 1.10.2+cu113",
                       "-r", "ResNet50", "-o", "l.pdf")  # -d results is the default, as in 2022
    assert code == cli.EXIT_OK, err
    text = pdf_text((in_results_dir / "l.pdf").read_bytes())
    assert "ResNet50" in text and "Training" in text and "Reference model: ResNet50" in text


def test_file_named_inside_the_directory_as_in_2022(reference_dir, tmp_path, capsys):
    pdf = tmp_path / "l.pdf"
    code, _, err = run(capsys, "-d", reference_dir, "-f", INFER_LOG, "-o", pdf)
    assert code == cli.EXIT_OK, err
    assert "EfficientNetB0" in pdf_text(pdf.read_bytes())


def test_help_shows_every_default_and_the_exit_codes(capsys):
    parser = cli.build_parser()
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert "default" in (action.help or ""), action.option_strings
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and EXIT_CODES_EPILOG in out
    for short, long in (("-t", "--task"), ("-m", "--model"), ("-e", "--environment"), ("-r", "--reference"),
                        ("-f", "--file"), ("-d", "--directory"), ("-o", "--output")):
        assert any(line.lstrip().startswith(short + " ") and long in line for line in out.splitlines()), short


# --- outputs never destroy ------------------------------------------------------------------------

@pytest.fixture
def own_results(reference_dir, tmp_path) -> Path:
    """A writable results folder: the EfficientNetB0 log and its reference, ResNet101."""
    folder = tmp_path / "results"
    folder.mkdir()
    reference = "infer_2022_04_01_15_06_16.json"  # ResNet101, A100 x8, PyTorch
    for name in (INFER_LOG, reference):
        shutil.copy(reference_dir / name, folder / name)
    assert json.loads((folder / reference).read_text())["config"]["model"] == "ResNet101"
    return folder


def _no_temp_files(*folders: Path) -> bool:
    return not [p for folder in folders for p in folder.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("target", [INFER_LOG, "infer_2022_04_01_15_06_16.json"])
def test_output_over_an_input_log_is_refused(own_results, capsys, target):
    log = own_results / INFER_LOG
    before = {p.name: p.read_bytes() for p in own_results.iterdir()}
    for option in ("-o", "--png"):
        code, _, err = run(capsys, "-f", log, option, own_results / target)
        assert code == cli.EXIT_USAGE and "input log" in err and target in err
    assert {p.name: p.read_bytes() for p in own_results.iterdir()} == before


def test_output_over_a_hard_link_of_the_input_is_refused(own_results, tmp_path, capsys):
    alias = tmp_path / "alias.pdf"
    os.link(own_results / INFER_LOG, alias)
    code, _, err = run(capsys, "-f", own_results / INFER_LOG, "-o", alias)
    assert code == cli.EXIT_USAGE and "input log" in err
    assert json.loads(alias.read_text())["config"]["model"] == "EfficientNetB0"


def test_output_that_is_a_directory_is_refused(own_results, tmp_path, capsys):
    folder = tmp_path / "labels"
    folder.mkdir()
    code, _, err = run(capsys, "-f", own_results / INFER_LOG, "-o", folder)
    assert code == cli.EXIT_USAGE and "is a directory" in err
    assert list(folder.iterdir()) == [] and _no_temp_files(tmp_path)


def test_output_through_a_symlink_is_refused(own_results, tmp_path, capsys):
    target, link = tmp_path / "precious.txt", tmp_path / "link.pdf"
    target.write_text("keep me")
    link.symlink_to(target)
    for option in ("-o", "--png"):
        code, _, err = run(capsys, "-f", own_results / INFER_LOG, option, link)
        assert code == cli.EXIT_USAGE and "symbolic link" in err and "precious.txt" in err
    assert link.is_symlink() and target.read_text() == "keep me"


def test_output_that_is_not_a_regular_file_is_refused(own_results, tmp_path, capsys):
    fifo = tmp_path / "pipe.pdf"  # a FIFO, not /dev/full: a broken check must not replace a device
    os.mkfifo(fifo)
    code, _, err = run(capsys, "-f", own_results / INFER_LOG, "-o", fifo)
    assert code == cli.EXIT_USAGE and "not a regular file" in err
    assert fifo.is_fifo() and _no_temp_files(tmp_path)
    with pytest.raises(cli.UsageError, match="not a regular file"):
        cli.check_output(Path("/dev/full"), [])  # checked, never written


def test_pdf_and_png_on_one_path_are_refused(own_results, tmp_path, capsys):
    same = tmp_path / "label"
    code, _, err = run(capsys, "-f", own_results / INFER_LOG, "-o", same, "--png", same)
    assert code == cli.EXIT_USAGE and "same file" in err and not same.exists()


def test_a_failed_write_exits_1_and_leaves_no_temp_file(own_results, tmp_path, capsys, monkeypatch):
    import mlel.base.io

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mlel.base.io.os, "replace", disk_full)
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "-f", own_results / INFER_LOG, "-o", out_dir / "l.pdf")
    assert code == cli.EXIT_FAILED and "No space left" in err and "l.pdf" in err
    assert list(out_dir.iterdir()) == []  # neither the label nor a temp file


def test_an_output_below_a_file_exits_1(own_results, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "-f", own_results / INFER_LOG, "-o", blocker / "l.pdf")
    assert code == cli.EXIT_FAILED and "cannot write" in err and blocker.read_text() == "x"


def test_a_100000_character_model_name_gets_a_short_default_file_name(own_results, tmp_path, capsys,
                                                                       monkeypatch):
    log = json.loads((own_results / INFER_LOG).read_text())
    log["config"]["model"] = "Net" + "x" * 100_000
    (own_results / INFER_LOG).write_text(json.dumps(log))
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "-d", own_results, "-m", "Net" + "x" * 100_000)
    assert code == cli.EXIT_OK, err[:500]
    [pdf] = tmp_path.glob("*.pdf")
    assert len(pdf.name) <= cli.MAX_STEM_CHARS + len("_label.pdf")


def test_files_skipped_in_the_directory_are_named(own_results, tmp_path, capsys):
    (own_results / "foreign.json").write_text('{"a": 1}')
    code, _, err = run(capsys, "-f", own_results / INFER_LOG, "-o", tmp_path / "l.pdf")
    assert code == cli.EXIT_OK and "skipped foreign.json" in err


@pytest.mark.parametrize("hostile", ["[" * 3000 + "]" * 3000, '{"config": ["x"], "validation": {}}',
                                     '{"config": {"model": "M"}, "validation": {"results": 1e999}}'])
def test_a_hostile_log_named_with_f_is_an_error_not_a_traceback(tmp_path, capsys, hostile):
    path = tmp_path / "hostile.json"
    path.write_text(hostile)
    code, _, err = run(capsys, "-f", path, "-o", tmp_path / "l.pdf")
    assert code == cli.EXIT_USAGE and "cannot label" in err and "hostile.json" in err
    assert not (tmp_path / "l.pdf").exists()
