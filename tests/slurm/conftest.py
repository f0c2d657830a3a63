"""A real single-node SLURM cluster (cluster.sh) for the tests in this folder, once per session.

Started only when a test asks for ``slurm_cluster``; stopped by PID at the end of the session. A
machine where it cannot run (not root, no apt to install slurm-wlm/munge) skips those tests with the
reason; any other failure to start fails them with the daemons' logs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("cluster.sh")
CANNOT_RUN_HERE = 3  # cluster.sh's exit code for "no root / no apt"


@dataclass(frozen=True)
class Cluster:
    conf: Path          # SLURM_CONF of the cluster (set in os.environ while the session runs)
    jobcomp: Path       # SLURM's own record of every finished job (jobcomp/filetxt)
    start_s: float      # wall time cluster.sh took to start it (apt install included when it ran)
    node_cpus: int      # CPUs SLURM gives a job that has the node to itself


def _logs(directory: Path) -> str:
    tails = []
    for name in ("slurmctld.log", "slurmd.log", "munge/munged.log"):
        path = directory / name
        if path.is_file():
            tails.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-10:]))
    return "\n".join(tails)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory) -> Cluster:
    if not sys.platform.startswith("linux") or shutil.which("bash") is None:
        pytest.skip("a SLURM test cluster needs Linux and bash")
    directory = tmp_path_factory.mktemp("slurm")
    started = time.perf_counter()
    result = subprocess.run(["bash", str(SCRIPT), "start", str(directory)], capture_output=True,
                            text=True, timeout=900)
    start_s = time.perf_counter() - started
    if result.returncode == CANNOT_RUN_HERE:
        pytest.skip(f"no SLURM test cluster on this machine: {result.stderr.strip()}")
    previous = os.environ.get("SLURM_CONF")
    try:
        if result.returncode != 0:
            pytest.fail(f"cluster.sh start failed ({result.returncode}): {result.stderr.strip()}\n"
                        + _logs(directory))
        os.environ["SLURM_CONF"] = str(directory / "slurm.conf")
        cpus = subprocess.run(["sinfo", "--noheader", "-o", "%c"], capture_output=True, text=True,
                              check=True).stdout.split()[0]
        print(f"\nSLURM test cluster started in {start_s:.1f} s")
        yield Cluster(directory / "slurm.conf", directory / "jobcomp.txt", start_s, int(cpus))
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=120)
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
