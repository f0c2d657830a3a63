"""Unit constants and conversions — the one place that knows how many joules are in a kWh.

Field names elsewhere carry their unit as a suffix (``energy_j``, ``duration_s``, ``power_w``,
``energy_uj``), so a conversion is only ever written here.
"""
from __future__ import annotations

J_PER_WH = 3600.0
J_PER_KWH = 3.6e6
S_PER_H = 3600.0
MS_PER_S = 1000.0
UJ_PER_J = 1e6
MJ_PER_J = 1e3  # millijoules per joule (NVML's energy counter is in mJ)
MW_PER_W = 1e3  # milliwatts per watt (NVML's power reading is in mW)
PER_MILLION = 1e-6  # parameters -> M
PER_GIGA = 1e-9  # FLOPs -> GFLOPs


def j_to_kwh(energy_j: float) -> float:
    return energy_j / J_PER_KWH


def j_to_wh(energy_j: float) -> float:
    return energy_j / J_PER_WH


def kwh_to_j(energy_kwh: float) -> float:
    return energy_kwh * J_PER_KWH


def s_to_h(duration_s: float) -> float:
    return duration_s / S_PER_H


def s_to_ms(duration_s: float) -> float:
    return duration_s * MS_PER_S


def uj_to_j(energy_uj: float) -> float:
    return energy_uj / UJ_PER_J


def mj_to_j(energy_mj: float) -> float:
    return energy_mj / MJ_PER_J


def mw_to_w(power_mw: float) -> float:
    return power_mw / MW_PER_W
