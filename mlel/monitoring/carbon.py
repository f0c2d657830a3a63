"""Carbon: gCO2e = energy × grid carbon intensity, from CodeCarbon's bundled data (no network)."""
from __future__ import annotations

import functools
import json

from mlel.base.units import J_PER_KWH

from .estimate import codecarbon_data

# CodeCarbon's world average (carbon_intensity_per_source.json), used if its data is missing.
WORLD_AVERAGE_G_PER_KWH = 475.0


@functools.lru_cache(maxsize=1)
def _energy_mix() -> dict:
    path = codecarbon_data("private_infra", "global_energy_mix.json")
    if path is None:
        return {}
    with open(path) as fh:
        return json.load(fh)


@functools.lru_cache(maxsize=1)
def world_average() -> float:
    path = codecarbon_data("private_infra", "carbon_intensity_per_source.json")
    try:
        with open(path) as fh:
            return float(json.load(fh)["world_average"])
    except (TypeError, OSError, KeyError, ValueError):
        return WORLD_AVERAGE_G_PER_KWH


def iso3(country: str) -> str | None:
    """ISO 3166 alpha-3 code for an alpha-2 or alpha-3 code or a country name; None if unknown."""
    code = country.strip().upper()
    mix = _energy_mix()
    if code in mix:
        return code
    try:
        import pycountry  # a dependency of codecarbon
    except ImportError:
        pycountry = None
    if pycountry is not None:
        try:
            found = pycountry.countries.lookup(country.strip())
            return found.alpha_3
        except LookupError:
            return None
    for key, row in mix.items():
        if str(row.get("country_name", "")).upper() == code:
            return key
    return None


def carbon_intensity(country: str | None) -> tuple[float, str | None, str]:
    """(g CO2e per kWh, ISO3 code or None, where the figure comes from)."""
    if country:
        code = iso3(country)
        row = _energy_mix().get(code) if code else None
        if row and row.get("carbon_intensity") is not None:
            return float(row["carbon_intensity"]), code, \
                f"codecarbon global_energy_mix ({row.get('country_name', code)}, {row.get('year', '?')})"
        return world_average(), code, f"world average (no data for country {country!r})"
    return world_average(), None, "world average (no country given)"


def gco2e(energy_j: float, g_per_kwh: float) -> float:
    return energy_j / J_PER_KWH * g_per_kwh
