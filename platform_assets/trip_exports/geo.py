"""The bundled INSEE reference: communes with their EPCI, AOM, department, region, population and area.

It is the territory registry of the embedded platform: the generator draws trips from it, geo
selectors are checked against it (unknown codes, "does this code lie inside that territory") and
open data reads population densities from it. Figures are rounded public orders of magnitude,
enough for density thresholds; replace the CSV with the full INSEE table in production.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REFERENCE_CSV = Path(__file__).resolve().parent / "reference" / "communes.csv"

# Geo selector levels, in the order users write them, and the trip columns they match.
GEO_LEVELS: tuple[str, ...] = ("com", "epci", "aom", "dep", "reg", "country")
# INSEE codes of countries (COG "pays"); trips carry the country's name.
COUNTRY_CODES: dict[str, str] = {"France": "99100"}
COUNTRY_NAMES: dict[str, str] = {code: name for name, code in COUNTRY_CODES.items()}
LEVEL_COLUMNS: dict[str, str] = {
    "com": "insee",
    "epci": "epci",
    "aom": "aom",
    "dep": "department",
    "reg": "region",
    "country": "country",
}


@dataclass(frozen=True)
class Commune:
    insee: str
    town: str
    department: str
    epci: str
    epci_name: str
    aom: str
    aom_name: str
    region: str
    region_name: str
    country: str
    population: int
    area_km2: float
    lon: float
    lat: float

    @property
    def density(self) -> float:
        """Inhabitants per km2."""
        return self.population / self.area_km2 if self.area_km2 > 0 else 0.0

    def code(self, level: str) -> str:
        if level == "country":
            return COUNTRY_CODES.get(self.country, self.country)
        return str(getattr(self, LEVEL_COLUMNS[level]))


@cache
def communes(path: Path = REFERENCE_CSV) -> tuple[Commune, ...]:
    with open(path, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter=";"))
    return tuple(
        Commune(
            insee=row["insee"],
            town=row["town"],
            department=row["department"],
            epci=row["epci"],
            epci_name=row["epci_name"],
            aom=row["aom"],
            aom_name=row["aom_name"],
            region=row["region"],
            region_name=row["region_name"],
            country=row["country"],
            population=int(row["population"]),
            area_km2=float(row["area_km2"]),
            lon=float(row["lon"]),
            lat=float(row["lat"]),
        )
        for row in rows
    )


@cache
def commune_by_insee() -> dict[str, Commune]:
    return {commune.insee: commune for commune in communes()}


def communes_in(level: str, code: str) -> list[Commune]:
    """The reference communes that `level:code` covers (empty when the code is unknown)."""
    return [commune for commune in communes() if commune.code(level) == code]


def known_code(level: str, code: str) -> bool:
    return bool(communes_in(level, code))


def within(level: str, code: str, territory_level: str, territory_code: str) -> bool:
    """True when every commune of `level:code` lies inside `territory_level:territory_code`."""
    inside = communes_in(level, code)
    return bool(inside) and all(commune.code(territory_level) == territory_code for commune in inside)


def column_values(level: str, codes: list[str] | tuple[str, ...]) -> list[str]:
    """What trips hold for these selector codes (countries are stored by name)."""
    if level == "country":
        return [COUNTRY_NAMES.get(code, code) for code in codes]
    return list(codes)


def density_of(insee: str | None) -> float | None:
    commune = commune_by_insee().get(insee or "")
    return commune.density if commune else None
