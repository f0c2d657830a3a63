"""cluster.sh says why it cannot run (exit 3, which the fixture turns into a skip with the reason)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("cluster.sh")
BASH = shutil.which("bash") or "bash"


def _start(directory: Path, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(SCRIPT), "start", str(directory)], capture_output=True, text=True,
                          timeout=60, **popen)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_without_root_it_exits_3_with_the_reason(tmp_path):
    result = _start(tmp_path / "cluster", user=65534, group=65534, extra_groups=[])
    assert result.returncode == 3, result.stderr
    assert "needs root" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the apt check comes after the root check")
def test_without_slurm_and_without_apt_it_exits_3_with_the_reason(tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH with the basic tools only: no slurm, no apt-get
    bin_dir.mkdir()
    for tool in ("id", "mkdir", "cat", "tail", "hostname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = _start(tmp_path / "cluster", env={**os.environ, "PATH": str(bin_dir)})
    assert result.returncode == 3, result.stderr
    assert "no apt-get" in result.stderr


def test_usage(tmp_path):
    result = subprocess.run([BASH, str(SCRIPT), "restart", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "usage" in result.stderr
