"""RAPL through a simulated powercap tree: package + dram counted, core/uncore/psys never, wraps."""
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mlel.monitoring import measure, rapl, recorder
from monitoring_fakes import FakePowercap

WATTS = {"package-0": 42.0, "package-0.dram": 6.0, "package-0.core": 30.0, "package-0.uncore": 3.0,
         "package-1": 35.0, "package-1.dram": 5.0, "package-1.core": 25.0}


def test_counter_delta_wraps():
    assert rapl.counter_delta(100, 250, 1000) == 150
    assert rapl.counter_delta(900, 50, 1000) == 150


def test_meter_reads_package_and_dram_only(tmp_path):
    tree = FakePowercap(tmp_path, WATTS, sockets=2, max_range_uj=7_000_000, start_uj=6_500_000)
    meter = rapl.RaplMeter(tmp_path)
    assert [z.key for z in meter.zones] == ["package-0", "package-0.dram", "package-1", "package-1.dram"]
    assert meter.sample(100.0) is None  # priming
    total = 0.0
    for step in range(1, 6):  # 0.1 s steps; the 7 J counters wrap every few steps
        tree.advance(0.1)
        rec = meter.sample(100.0 + 0.1 * step)["0"]
        assert rec["duration"] == pytest.approx(0.1)
        for key in ("package-0", "package-0.dram", "package-1", "package-1.dram"):
            assert rec[key] == pytest.approx(WATTS[key], rel=1e-6)
        assert "package-0.core" not in rec and "psys" not in rec
        total += sum(rec[k] * rec["duration"] for k in rec if k not in ("duration", "energy"))
        assert rec["energy"] == pytest.approx(0.1 * (42 + 6 + 35 + 5), rel=1e-6)  # J, from the counters
    assert total == pytest.approx(0.5 * (42 + 6 + 35 + 5), rel=1e-6)


def test_measure_with_rapl_matches_truth(tmp_path, monkeypatch):
    root = tmp_path / "powercap"
    root.mkdir()
    # a 30 J range started 10 J short of it: the 42 W package counter wraps once, ~0.24 s into the
    # block. The range exceeds what the block draws between two readings even when a loaded machine
    # delays the sampler (a counter cannot tell two wraps from one: RAPL's own limit, not ours).
    tree = FakePowercap(root, {k: v for k, v in WATTS.items() if k.startswith("package-0")},
                        max_range_uj=30_000_000, start_uj=20_000_000)
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(root))
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setattr(recorder, "_clock", tree.clock)  # counters advance with the monitor's clock
    with measure(tmp_path / "run", interval=0.04) as m:
        time.sleep(0.5)
    truth = (42.0 + 6.0) * (m.end - m.start)
    assert m.sources == {"pyrapl": "measured"}  # measured: no estimate on top of the sensor
    assert m.energy_ws == pytest.approx(truth, rel=0.01)
    assert tree.joules["package-0"] > 10.0  # the counter passed the end of its range: it wrapped
    assert tree.joules["package-0.core"] > 0  # simulated, yet not counted
    summary = m.summaries["pyrapl"]
    assert set(summary) == {"0", "total"}
    # per-interval powers jitter (other threads advance the counters between a timestamp and its
    # reading); their energies telescope, so only the means are approximate
    assert summary["0"]["package-0"]["mean"] == pytest.approx(42.0, rel=0.05)
    assert summary["0"]["package-0.dram"]["mean"] == pytest.approx(6.0, rel=0.05)
    assert summary["total"]["estimated"] is False
    assert not (tmp_path / "run" / "monitoring_estimate.json").exists()
    raw = json.loads((tmp_path / "run" / "monitoring_pyrapl.json").read_text())
    # the 2022 form, plus our energy per interval (J straight from the counters)
    assert set(raw["0"]) == {"timestamp", "duration", "package-0", "package-0.dram", "energy"}
    assert summary["0"]["energy_method"] == "interval" and "energy" not in summary["0"]
    assert summary["total"]["total_power_draw"] == pytest.approx(math.fsum(raw["0"]["energy"]), rel=1e-12)
    by_power = math.fsum(d * (p + q) for d, p, q in zip(raw["0"]["duration"], raw["0"]["package-0"],
                                                       raw["0"]["package-0.dram"]))
    assert summary["total"]["total_power_draw"] == pytest.approx(by_power, rel=1e-9)  # the same energy


def test_missing_root_is_unavailable(tmp_path):
    with pytest.raises(rapl.RaplUnavailable, match="no powercap"):
        rapl.find_zones(tmp_path / "absent")


# --- permission denied (root-only counters since CVE-2020-8694) -----------------------------------
# Root reads any file, so as root the check runs in a child process that drops to 'nobody'.

def _probe_in_child() -> dict:
    try:
        zones, notes = rapl.find_zones()
        out = {"zones": [z.key for z in zones], "notes": notes}
    except rapl.RaplUnavailable as exc:
        out = {"unavailable": str(exc)}
    with measure(None, interval=0.05, cpu_tdp=10) as m:
        pass
    out["sources"] = m.sources
    out["measure_notes"] = m.notes
    return out


def _probe(root: Path, deny: list, monkeypatch) -> dict:
    """Run discovery in a forked child that cannot read the denied files. Root reads any file, so
    as root the child first drops to 'nobody' (the interpreter lives under /root: fork, not exec)."""
    for path in deny:
        os.chmod(path, 0o000)
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(root))
    monkeypatch.setitem(sys.modules, "pynvml", None)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            os.close(r)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            payload = json.dumps(_probe_in_child()).encode()
            code = 0
        except BaseException as exc:  # report anything to the parent
            payload = json.dumps({"child_error": repr(exc)}).encode()
        os.write(w, payload)
        os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    out = json.loads(b"".join(chunks))
    assert "child_error" not in out, out
    return out


@pytest.fixture
def world_readable_tree():
    # tmp_path lies under a 0700 directory that 'nobody' cannot enter
    d = Path(tempfile.mkdtemp(prefix="mlel-powercap-"))
    os.chmod(d, 0o755)
    tree = FakePowercap(d / "powercap", {k: v for k, v in WATTS.items() if k.startswith("package-0")})
    for p in d.rglob("*"):
        if not p.is_symlink():
            os.chmod(p, 0o755 if p.is_dir() else 0o444)
    yield tree
    for p in d.rglob("*"):
        if not p.is_symlink():
            os.chmod(p, 0o755)
    import shutil
    shutil.rmtree(d)


def test_package_permission_denied_falls_back_to_estimate(world_readable_tree, monkeypatch):
    tree = world_readable_tree
    out = _probe(tree.root, [tree.paths["package-0"]], monkeypatch)
    assert "permission denied" in out["unavailable"] and "chmod" in out["unavailable"] \
        and "udev" in out["unavailable"]
    assert out["sources"] == {"estimate": "estimated"}
    assert any("ESTIMATED" in n and "CVE-2020-8694" in n for n in out["measure_notes"])


def test_dram_permission_denied_keeps_package(world_readable_tree, monkeypatch):
    tree = world_readable_tree
    out = _probe(tree.root, [tree.paths["package-0.dram"]], monkeypatch)
    assert out["zones"] == ["package-0"]
    assert any("DRAM not measured" in n for n in out["notes"])
    assert out["sources"] == {"pyrapl": "measured"}
