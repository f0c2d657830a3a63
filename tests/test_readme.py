"""The README's shell blocks run as written: the quick ones are run (in a scratch folder laid out
like the checkout), and every command's options are checked against its tool's ``--help``."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
README = REPO / "README.md"

# Commands run as written: they read the shared logs, results/ or what an earlier quick one wrote.
QUICK = (re.compile(r"-m mlel\.ratings --directory (\.\./shared|results|imported)"),
         re.compile(r"-m mlel\.importers mlenergy \.\./shared"),
         re.compile(r"-m mlel\.label_generator -m ResNet50"))


def readme_commands() -> list[str]:
    """Each command of the README's ```bash blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(re.sub(r"\s+", " ", line))
    return commands


def _tool(words: list[str]) -> list[str] | None:
    """The argv that runs ``words``' tool (None for make, gunicorn and the like)."""
    if not words or not words[0].endswith("python"):
        return None
    if words[1] == "-m":
        return [sys.executable, "-m", words[2]]
    return [sys.executable, str(REPO / words[1])] if words[1].endswith(".py") else None


@lru_cache(maxsize=None)
def _help(tool: tuple[str, ...], sub: str | None) -> str:
    argv = [*tool, *([sub] if sub else []), "--help"]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=120).stdout


def _options(words: list[str]) -> list[str]:
    return [w.split("=", 1)[0] for w in words if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", w)]


@pytest.mark.parametrize("command", readme_commands())
def test_every_option_is_one_the_tool_has(command):
    words = shlex.split(command.replace("[", "").replace("]", "").replace("...", ""))
    tool = _tool(words)
    if tool is None:
        pytest.skip("not one of our Python tools")
    sub = words[3] if tool[1:2] == ["-m"] and words[2] == "mlel.importers" and len(words) > 3 else None
    text = _help(tuple(tool), sub)
    assert text, f"{command}: --help printed nothing"
    missing = [o for o in _options(words) if not re.search(rf"(^|[\s,\[]){re.escape(o)}\b", text)]
    assert not missing, f"{command}: {missing} not in --help"


@pytest.fixture(scope="module")
def checkout_like(tmp_path_factory):
    """A scratch folder where the README's relative paths resolve: .venv, results, ../shared."""
    root = tmp_path_factory.mktemp("readme")
    work = root / "repo"
    work.mkdir()
    for name in (".venv", "results"):
        (work / name).symlink_to(REPO / name)
    (root / "shared").symlink_to(SHARED)
    return work


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared missing")
@pytest.mark.parametrize("command", [c for c in readme_commands() if any(q.search(c) for q in QUICK)])
def test_quick_commands_run_as_written(command, checkout_like):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(["bash", "-c", command], cwd=checkout_like, capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
