"""The project as a user installs it: a wheel built from a copy of the sources, installed into a
fresh venv, every console command of pyproject's [project.scripts] answering --help from a folder
where the checkout is not importable, and a rating of a temp results folder.

The fresh venv reuses the installed frameworks (torch, tensorflow, ...) of the project's .venv
through a .pth line, as --system-site-packages would from a system Python: a .pth line adds the
folder only, so the .venv's editable install of mlel (its own .pth finder) is NOT activated there.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(tomllib.loads((REPO / "pyproject.toml").read_text())["project"].get("scripts", {}))
SOURCES = ("pyproject.toml", "README.md", "LICENSE.md", "mlel")
REFERENCE = REPO.parent / "shared" / "reference" / "mlee-2022" / "results"
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
ENV["TF_CPP_MIN_LOG_LEVEL"] = "3"


def _run(args: list, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv's bin folder, with the wheel of this checkout installed (no dependencies)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"  # a copy: building never writes build/ or *.egg-info into the checkout
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        copy(REPO / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                            if (REPO / name).is_dir() else {}))
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                  "-w", base / "dist", "."], cwd=source)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((base / "dist").glob("mlee-*.whl"))
    assert len(wheels) == 1, wheels

    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", venv], cwd=base)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base)
    frameworks = sysconfig.get_paths()["purelib"]  # this interpreter's: torch, numpy, mlflow, ...
    (Path(site.stdout.strip()) / "frameworks.pth").write_text(frameworks + "\n")
    install = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                    "--ignore-installed", "-q", wheels[0]], cwd=base)
    assert install.returncode == 0, install.stderr[-3000:]
    return venv / "bin"


def test_mlel_comes_from_the_wheel_with_its_resources(installed, tmp_path):
    probe = _run([installed / "python", "-c",
                  "import mlel, pathlib; p = pathlib.Path(mlel.__file__).parent; "
                  "print(p); print(sorted(str(f.relative_to(p)) for f in (p / 'tasks' / 'data').rglob('*.json')))"],
                 cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    location, resources = probe.stdout.splitlines()
    assert Path(location).is_relative_to(installed.parent), location  # not the checkout
    shipped = sorted(str(f.relative_to(REPO / "mlel")) for f in (REPO / "mlel" / "tasks" / "data").rglob("*.json"))
    assert shipped and resources == str(shipped)  # every data file of the package is in the wheel


@pytest.mark.parametrize("command", SCRIPTS)
def test_every_console_command_answers_help_outside_the_checkout(installed, command, tmp_path):
    assert (installed / command).is_file(), f"{command} was not installed"
    proc = _run([installed / command, "--help"], cwd=tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:")


def test_the_installed_package_rates_a_results_folder(installed, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    logs = sorted(REFERENCE.glob("*.json"))[:12]
    assert logs, f"no reference logs in {REFERENCE}"
    for log in logs:
        shutil.copy2(log, results / log.name)
    command = ([installed / "mlee-ratings"] if "mlee-ratings" in SCRIPTS
               else [installed / "python", "-m", "mlel.ratings"])
    proc = _run([*command, "--directory", results, "--json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rated = json.loads(proc.stdout)
    assert rated and {log.name for log in logs} == {name for s in rated for name in s["logs"]}
    assert all(s["compound"] in "ABCDE" for s in rated)


def test_installed_commands_name_themselves_and_the_demo_says_what_to_install(installed, tmp_path):
    """Issue 26: `mlee-infer` errors say `mlee-infer: error` (not `infer.py`), and `mlee-demo` where
    torch is missing (blocked here, as a wheel installed without the torch extra) names the extra."""
    proc = _run([installed / "mlee-infer", "--model", "resnet18", "--backend", "bogus"], cwd=tmp_path)
    assert proc.returncode == 2 and "\nmlee-infer: error: argument --backend" in proc.stderr, proc.stderr[-2000:]
    demo = installed / "mlee-demo"
    blocked = (f"import sys; sys.modules['torch'] = None; sys.argv = [{str(demo)!r}]; "
               f"exec(compile(open({str(demo)!r}).read(), {str(demo)!r}, 'exec'))")
    proc = _run([installed / "python", "-c", blocked], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().endswith("pip install 'mlee[torch]'") and "mlee-demo: " in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
