"""The CodeCarbon importer: a real emissions.csv written by CodeCarbon's offline tracker (no network),
plus hand-written edge cases (GPU runs, snapshots of one run, malformed rows, missing columns)."""
from __future__ import annotations

import csv
import time

import pytest

from mlel.base import units
from mlel.importers.cli import main
from mlel.importers.codecarbon import cpu_source_from_log, import_codecarbon
from mlel.results import read_result_records


@pytest.fixture(scope="module")
def real_csv(tmp_path_factory):
    """Two runs tracked by CodeCarbon itself: ~0.5 s of busy work each."""
    from codecarbon import OfflineEmissionsTracker

    folder = tmp_path_factory.mktemp("codecarbon")
    for experiment in ("exp-a", "exp-b"):
        tracker = OfflineEmissionsTracker(country_iso_code="DEU", output_dir=str(folder), project_name="proj",
                                          experiment_id=experiment, measure_power_secs=0.5, log_level="error")
        tracker.start()
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            pass
        tracker.stop()
    return folder / "emissions.csv"


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_each_real_run_is_one_record_with_energy_in_joules(real_csv):
    rows = _rows(real_csv)
    report = import_codecarbon(real_csv)
    assert report.problems == [] and len(report.records) == len(rows) == 2
    for record, row in zip(report.records, rows):
        assert record.task == "generic" and record.model == "proj"
        assert record.configuration["run_id"] == row["run_id"]
        assert record.configuration["experiment_id"] == row["experiment_id"]
        assert record.value("energy_per_run") == pytest.approx(float(row["energy_consumed"]) * units.J_PER_KWH)
        assert record.value("cpu_energy") == pytest.approx(float(row["cpu_energy"]) * units.J_PER_KWH)
        assert record.value("ram_energy") == pytest.approx(float(row["ram_energy"]) * units.J_PER_KWH)
        assert record.value("runtime") == pytest.approx(float(row["duration"]))
        assert record.provenance.tool == "CodeCarbon" and record.provenance.file == "emissions.csv"
    assert len({r.name for r in report.records}) == 2


def test_without_a_cpu_sensor_the_energy_is_labelled_estimated(real_csv):
    # this machine has no RAPL: CodeCarbon fell back on TDP x load; the CSV cannot say so, we must
    record = import_codecarbon(real_csv).records[0]
    assert record.properties["cpu_energy"].source == "estimated"
    assert record.properties["ram_energy"].source == "estimated"
    assert record.properties["energy_per_run"].source == "estimated"
    assert record.environment.name.endswith("(estimated)")
    assert "gpu_energy" not in record.properties  # no GPU: no GPU entry


def test_cli_writes_records_idempotently(real_csv, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["codecarbon", str(real_csv), "--output-dir", str(out), "--task", "generic",
                 "--samples", "100"]) == 0
    scan = read_result_records(out)
    assert len(scan.records) == 2 and scan.problems == ()
    record = scan.records[0][1]
    assert record.value("energy_per_sample") == pytest.approx(record.value("energy_per_run") / 100)
    assert record.properties["energy_per_sample"].source == "computed"
    assert main(["codecarbon", str(real_csv), "--output-dir", str(out), "--samples", "100"]) == 0
    assert "0 written, 2 unchanged" in capsys.readouterr().out


HEADER = ("timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
          "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,region,"
          "cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,"
          "gpu_model,longitude,latitude,ram_total_size,tracking_mode,on_cloud,pue")


def _line(run_id, duration="10", cpu="0.001", gpu="0.002", ram="0.0005", total="0.0035", gpu_count="1",
          gpu_model="1 x NVIDIA A100-SXM4-40GB"):
    return (f"2024-01-01T00:00:00,proj,{run_id},exp,{duration},0.001,0.0001,50,200,10,{cpu},{gpu},{ram},{total},"
            f"Germany,DEU,,,,Linux,3.11,2.8.3,16,Intel Xeon,{gpu_count},{gpu_model},,,64,machine,N,1.0")


def test_codecarbon_2x_gpu_run_gpu_measured_total_estimated_for_ram(tmp_path):
    path = tmp_path / "emissions.csv"
    path.write_text("\n".join([HEADER, _line("r1")]) + "\n")
    record = import_codecarbon(path).records[0]
    assert record.properties["gpu_energy"].source == "measured"
    assert record.value("gpu_energy") == pytest.approx(0.002 * units.J_PER_KWH)
    assert record.properties["energy_per_run"].source == "estimated"  # RAM is always modelled
    assert record.environment.hardware == "1 x NVIDIA A100-SXM4-40GB"
    measured = import_codecarbon(path, cpu_source="measured").records[0]
    assert measured.properties["cpu_energy"].source == "measured"


def test_all_parts_measured_make_a_measured_total(tmp_path):
    path = tmp_path / "emissions.csv"
    path.write_text("\n".join([HEADER, _line("r1", ram="0", total="0.003")]) + "\n")
    record = import_codecarbon(path, cpu_source="measured").records[0]
    assert record.properties["energy_per_run"].source == "measured"
    assert not record.environment.name.endswith("(estimated)")


def test_the_codecarbon_log_decides_the_cpu_source(tmp_path):
    rapl = "[codecarbon INFO] The below tracking methods have been set up:\n    CPU Tracking Method: RAPL\n"
    tdp = "    CPU Tracking Method: cpu_load\n"
    assert cpu_source_from_log(rapl) == "measured"
    assert cpu_source_from_log(tdp) == "estimated"
    assert cpu_source_from_log(rapl + tdp) == "estimated"
    assert cpu_source_from_log("nothing here") is None
    path, log = tmp_path / "emissions.csv", tmp_path / "cc.log"
    path.write_text("\n".join([HEADER, _line("r1")]) + "\n")
    log.write_text(rapl)
    assert import_codecarbon(path, log_file=log).records[0].properties["cpu_energy"].source == "measured"


def test_snapshots_of_one_run_keep_the_last_and_bad_rows_are_reported(tmp_path, capsys):
    path = tmp_path / "emissions.csv"
    path.write_text("\n".join([
        HEADER,
        _line("r1", duration="5", total="0.001"),     # flush() snapshot, superseded
        _line("r1", duration="10"),                    # the run's final row
        _line("r2", total="abc"),                      # malformed number
        _line("r3", duration=""),                      # empty required cell
        _line("r4") + ",extra",                        # one field too many
        _line("r5"),
    ]) + "\n")
    report = import_codecarbon(path)
    assert [(r.configuration["run_id"], r.provenance.row) for r in report.records] == [("r1", 1), ("r5", 5)]
    assert report.records[0].value("runtime") == 10.0
    found = {(p.row, p.field) for p in report.problems}
    assert found == {(0, "run_id"), (2, "energy_consumed"), (3, "duration"), (4, None)}
    assert all(p.file == "emissions.csv" for p in report.problems)


def test_a_file_without_the_energy_columns_imports_nothing_exit_1(tmp_path, capsys):
    path = tmp_path / "emissions.csv"
    path.write_text("a,b\n1,2\n")
    report = import_codecarbon(path)
    assert report.records == [] and report.problems[0].field == "duration"
    assert main(["codecarbon", str(path), "--output-dir", str(tmp_path / "out")]) == 1
    assert "duration: column not in the file" in capsys.readouterr().err
    assert main(["codecarbon", str(tmp_path / "missing.csv"), "--output-dir", str(tmp_path / "out")]) == 2


def test_inference_task_with_samples_fills_the_2022_per_sample_properties(tmp_path):
    path = tmp_path / "emissions.csv"
    path.write_text("\n".join([HEADER, _line("r1", duration="10", total="0.0035")]) + "\n")
    record = import_codecarbon(path, task="inference", samples=1000).records[0]
    assert record.value("inference_power_draw") == pytest.approx(0.0035 * units.J_PER_KWH / 1000)
    assert record.value("inference_time") == pytest.approx(10.0)  # 10 s / 1000 samples = 10 ms each
    assert "energy_per_sample" not in record.properties
    assert record.properties["inference_time"].unit == "ms / sample"  # the 2022 set's own unit
