"""Bad input to `python -m mlel.export`: each error names the path it is about, exits as the other
commands do (2 usage, 1 failed) and leaves no output behind."""
from __future__ import annotations

import pytest

from mlel.export.cli import main


def _run(capsys, argv) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command,output", [("boamps", "out"), ("table", "out.csv")])
def test_a_missing_directory_is_a_usage_error_naming_it(command, output, tmp_path, capsys):
    missing = tmp_path / "no-such-results"
    code, err = _run(capsys, [command, "-d", str(missing), "-o", str(tmp_path / output)])
    assert code == 2 and f"no such directory: {missing}" in err
    assert not (tmp_path / output).exists()


def test_a_file_given_as_the_directory_is_named(tmp_path, capsys):
    afile = tmp_path / "x.json"
    afile.write_text("{}")
    code, err = _run(capsys, ["table", "-d", str(afile), "-o", str(tmp_path / "t.csv")])
    assert code == 2 and f"not a directory: {afile}" in err


def test_a_directory_given_twice_is_refused(tmp_path, capsys, own_results):
    code, err = _run(capsys, ["table", "-d", str(own_results), "-d", f"{own_results}/.", "-o", str(tmp_path / "t.csv")])
    assert code == 2 and "given twice" in err and str(own_results) in err


@pytest.mark.parametrize("name,words", [("rated.xlsx", "must end in .csv or .parquet"),
                                        ("nowhere/rated.csv", "no such directory"),
                                        ("adir", "must end in")])
def test_a_bad_table_output_is_a_usage_error_naming_it(name, words, tmp_path, capsys, own_results):
    (tmp_path / "adir").mkdir()
    output = tmp_path / name
    code, err = _run(capsys, ["table", "-d", str(own_results), "-o", str(output)])
    assert code == 2 and words in err and str(output) in err


def test_a_table_output_that_is_a_directory_is_named(tmp_path, capsys, own_results):
    output = tmp_path / "t.csv"
    output.mkdir()
    code, err = _run(capsys, ["table", "-d", str(own_results), "-o", str(output)])
    assert code == 2 and f"output {output} is a directory" in err


def test_a_boamps_output_that_is_a_file_is_named(tmp_path, capsys, own_results):
    output = tmp_path / "reports"
    output.write_text("")
    code, err = _run(capsys, ["boamps", "-d", str(own_results), "-o", str(output)])
    assert code == 2 and f"output {output} exists and is not a directory" in err


def test_a_boamps_output_that_cannot_be_made_is_a_failure_naming_it(tmp_path, capsys, own_results):
    blocker = tmp_path / "file"
    blocker.write_text("")
    output = blocker / "reports"
    code, err = _run(capsys, ["boamps", "-d", str(own_results), "-o", str(output)])
    assert code == 1 and f"cannot make the output directory {output}" in err


def test_nothing_to_rate_fails_and_names_the_directories(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "junk.json").write_text("[1, 2]")
    code, err = _run(capsys, ["table", "-d", str(empty), "-o", str(tmp_path / "t.csv")])
    assert code == 1 and f"nothing could be rated in {empty}" in err
    assert f"skipped {empty / 'junk.json'}" in err
    assert not (tmp_path / "t.csv").exists()


def test_an_unknown_scheme_is_a_usage_error(tmp_path, capsys, own_results):
    code, err = _run(capsys, ["table", "-d", str(own_results), "--scheme", "nope", "-o", str(tmp_path / "t.csv")])
    assert code == 2 and "nope" in err


def test_help_teaches_both_commands(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "boamps" in out and "table" in out and "Exit codes" in out


def test_python_dash_m_runs_the_command(tmp_path, own_results):
    import subprocess
    import sys

    output = tmp_path / "rated.csv"
    done = subprocess.run([sys.executable, "-m", "mlel.export", "table", "-d", str(own_results), "-o", str(output)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"wrote {output}: 40 entries" in done.stderr and output.stat().st_size > 0


def test_an_interrupt_stops_with_one_line_and_exit_130(tmp_path, capsys, own_results, monkeypatch):
    import mlel.export.cli as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "write_atomic", interrupted)
    output = tmp_path / "t.csv"
    code, err = _run(capsys, ["table", "-d", str(own_results), "-o", str(output)])
    assert code == 130 and err.strip().endswith(f"interrupted (SIGINT): stopped; every file in {output} is whole "
                                                "(written atomically)")


def test_an_unknown_reference_is_a_usage_error_naming_the_models(tmp_path, capsys, own_results):
    out = tmp_path / "t.csv"
    code, err = _run(capsys, ["table", "-d", str(own_results), "--reference", "NoSuchNet", "-o", str(out)])
    assert code == 2 and err.startswith(f"error: reference model 'NoSuchNet' has no results in {own_results}")
    assert "models there: " in err and not out.exists()
