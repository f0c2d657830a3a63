"""First-hour frictions (issue 26): errors name the command the user ran (``mlee-infer``, ``python -m
mlel.infer``, ``infer.py``), and ``mlee-demo`` without PyTorch says what to install instead of a
bare "No module named 'torch'". Subprocesses, as a user starts them; torch stays installed: the
child blocks its import (``sys.modules['torch'] = None``, what an absent package looks like)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlel.apps import demo
from mlel.apps.command import install_hint, invoked_as, missing_modules
from mlel.base.errors import EXIT_USAGE

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}


def _python(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120)


def _console(entry: str, argv0: str) -> list[str]:
    """What an installed console script does: argv[0] is the script's path, then the entry runs."""
    return ["-c", f"import sys; sys.argv = [{argv0!r}, '--backend', 'bogus']; "
                  f"from mlel.apps.experiment_cli import {entry}; {entry}()"]


@pytest.mark.parametrize("args,prog", [
    (["-m", "mlel.infer", "--backend", "bogus"], "python -m mlel.infer"),
    (["-m", "mlel.train", "--backend", "bogus"], "python -m mlel.train"),
    ([str(REPO / "infer.py"), "--backend", "bogus"], "infer.py"),
    (_console("infer_console", "/opt/venv/bin/mlee-infer"), "mlee-infer"),
    (_console("train_console", "/opt/venv/bin/mlee-train"), "mlee-train"),
])
def test_errors_name_the_command_that_was_run(args, prog, tmp_path):
    proc = _python(args, tmp_path)
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.startswith(f"usage: {prog} [-h]"), proc.stderr[:200]
    assert f"\n{prog}: error: argument --backend: invalid choice: 'bogus'" in proc.stderr


def test_invoked_as_reads_main_and_argv(monkeypatch):
    main = type(sys)("__main__")
    main.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/mlee-demo"])
    assert invoked_as("x") == "mlee-demo"
    monkeypatch.setattr(sys, "argv", ["-c"])
    assert invoked_as("mlee-demo") == "mlee-demo"
    main.__spec__ = type("Spec", (), {"name": "mlel.elex.__main__"})()
    assert invoked_as("x") == "python -m mlel.elex"


def test_demo_without_torch_prints_one_install_hint_and_writes_nothing(tmp_path):
    out = tmp_path / "demo_output"
    proc = _python(["-c", "import sys; sys.modules['torch'] = None; sys.argv = ['/opt/venv/bin/mlee-demo']; "
                          f"from mlel.apps.demo import main; sys.exit(main(['--output-dir', {str(out)!r}]))"],
                   tmp_path)
    assert proc.returncode == EXIT_USAGE
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "mlee-demo: the demo measures PyTorch models, but torch is not installed "
        "(No module named 'torch'): pip install 'mlee[torch]'"]
    assert not out.exists()


def test_a_framework_missing_later_in_the_demo_gets_its_hint_too(tmp_path, monkeypatch, capsys):
    def run_demo(out):
        raise ModuleNotFoundError("No module named 'onnxruntime'", name="onnxruntime")
    monkeypatch.setattr(demo, "run_demo", run_demo)
    assert demo.main(["--output-dir", str(tmp_path)]) == EXIT_USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith("No module named 'onnxruntime': pip install 'mlee[onnx]'")


def test_missing_modules_finds_without_importing(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    assert missing_modules("json", "torchvision", "no_such_module_mlee") == ["torchvision", "no_such_module_mlee"]
    assert install_hint("torchvision.models") == "pip install 'mlee[torch]'"
