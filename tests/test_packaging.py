"""Packaging: every tool runs from anywhere (``python -m``, console entry points, top-level shims),
pyproject declares what mlel imports, and nothing patches sys.path."""
from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SCRIPTS = PYPROJECT["project"]["scripts"]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
# `python -m` modules of the CLIs (mlel.runlog.merge and mlel.paper.outputs: see the report of issue 11)
MODULES = ["mlel.infer", "mlel.train", "mlel.elex", "mlel.apps.demo", "mlel.ratings", "mlel.labels.cli",
           "mlel.importers", "mlel.apps.sweep", "mlel.runlog.merge", "mlel.paper.outputs", "mlel.export",
           "mlel.publish"]
SHIMS = ["infer.py", "train.py", "merge_results.py", "elex.py"]
# imported only inside `try: ... except ImportError` probes
OPTIONAL_PROBES = {"triton"}


def _help(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("module", MODULES)
def test_python_dash_m_help_from_another_folder(module, tmp_path):
    proc = _help(["-m", module, "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:")
    assert list(tmp_path.iterdir()) == []  # --help runs nothing (the demo used to run on -h)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_entry_points_answer_help(name, tmp_path):
    module, function = SCRIPTS[name].split(":")
    code = (f"import sys; sys.argv = [{name!r}, '--help']; "
            f"from {module} import {function} as entry; sys.exit(entry())")
    proc = _help(["-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:") and "--help" in proc.stdout


@pytest.mark.parametrize("script", SHIMS)
def test_top_level_shims_run_from_another_folder(script, tmp_path):
    proc = _help([str(REPO / script), "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:")


def test_infer_and_train_help_list_the_exit_codes_and_mlflow(tmp_path):
    for module in ("mlel.infer", "mlel.train"):
        text = " ".join(_help(["-m", module, "--help"], tmp_path).stdout.split())
        assert "Exit codes: 0 done, 1 failed" in text and "130 Ctrl-C (SIGINT), 143" in text
        assert "--mlflow [URI]" in text


def _python_files() -> list[Path]:
    return sorted((REPO / "mlel").rglob("*.py")) + sorted(REPO.glob("*.py"))


def test_no_sys_path_patching():
    pattern = re.compile(r"sys\.path\.(insert|append|extend)|sys\.path\s*[+]?=")
    offenders = [str(p.relative_to(REPO)) for p in _python_files() if pattern.search(p.read_text())]
    assert offenders == []


def _imported_top_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    """Distributions pyproject declares (dependencies and extras)."""
    project = PYPROJECT["project"]
    specs = list(project["dependencies"]) + [s for extra in project["optional-dependencies"].values()
                                             for s in extra]
    return {_canonical(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in specs}


def test_pyproject_declares_every_third_party_import_of_mlel():
    imported = set().union(*(_imported_top_modules(p) for p in sorted((REPO / "mlel").rglob("*.py"))))
    third_party = imported - set(sys.stdlib_module_names) - {"mlel", "__future__"} - OPTIONAL_PROBES
    providers = importlib.metadata.packages_distributions()
    declared = _declared()
    missing = sorted(module for module in third_party
                     if not {_canonical(d) for d in providers.get(module, [module])} & declared)
    assert missing == []
