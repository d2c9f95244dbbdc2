"""Reference lists shipped as package data (`data/`), as Pelican reads them
(pelican-backend `pelican/util/codelists.py`): the OCDS 1.1 release schema, the documentType
codelist with its sections, the media type and language codelists, the org-id.guide register of
identifier schemes and the registered OCID prefixes. `refresh_register` downloads a newer copy of
a register (the `quality refresh-registers` command)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from platform_assets.quality.ocds.errors import QualityError

DATA = Path(__file__).resolve().parent / "data"
RELEASE_SCHEMA = DATA / "release-schema-1.1.json"
RELEASE_SCHEMA_1_0 = DATA / "release-schema-1.0.json"  # merge rules of 1.0 packages only
IDENTIFIER_SCHEMES = DATA / "org-id-schemes.csv"
OCID_PREFIXES = DATA / "ocid-prefixes.csv"

# Where the registers live (the same public sources Pelican reads).
ORG_ID_URL = "https://org-id.guide/download.csv"
OCID_PREFIX_URL = (
    "https://docs.google.com/spreadsheets/d/e/2PACX-1vQP8EwbUhsfxN7Fx7vX3mTA6Y8CXyGi04bHUepdcfxvM6VRVP9f5BWAYEG6MPbnJjWJp-"
    "La81DgG8wx/pub?gid=506986894&single=true&output=csv"
)
# register name -> (shipped file, column holding the code, default URL)
REGISTERS: dict[str, tuple[Path, str, str]] = {
    "org-id": (IDENTIFIER_SCHEMES, "code", ORG_ID_URL),
    "ocid-prefix": (OCID_PREFIXES, "OCID", OCID_PREFIX_URL),
}
MAX_REGISTER_BYTES = 20 * 1024 * 1024


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


@cache
def release_schema() -> dict[str, Any]:
    return json.loads(RELEASE_SCHEMA.read_text(encoding="utf-8"))


@cache
def identifier_schemes() -> frozenset[str]:
    return frozenset(row["code"] for row in _rows(IDENTIFIER_SCHEMES) if row.get("code"))


def read_ocid_prefixes(path: Path) -> tuple[str, ...]:
    """The prefixes of a copy of OCP's OCID prefix register (its `OCID` column), as Pelican reads
    the published sheet (pelican-backend `pelican/util/codelists.py` get_ocid_prefix_codelist)."""
    return tuple(row["OCID"].strip() for row in _rows(path) if (row.get("OCID") or "").strip())


@cache
def ocid_prefixes() -> tuple[str, ...]:
    return read_ocid_prefixes(OCID_PREFIXES)


@cache
def document_type_sections() -> dict[str, frozenset[str]]:
    """documentType code -> the sections where it belongs (planning, tender, award, contract, ...)."""
    return {row["Code"]: frozenset(part.strip() for part in row["Section"].split(",")) for row in _rows(DATA / "documentType.csv")}


@cache
def media_types() -> frozenset[str]:
    return frozenset(row["Code"] for row in _rows(DATA / "mediaType.csv"))


@cache
def languages() -> frozenset[str]:
    return frozenset(row["Code"] for row in _rows(DATA / "language.csv"))


def parse_register(text: str, column: str, source: str) -> list[dict[str, str]]:
    """The rows of a downloaded register; an error naming `source` when it is not the expected CSV."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or column not in reader.fieldnames:
        raise QualityError(f"{source}: not a register CSV with a {column!r} column")
    rows = [row for row in reader if (row.get(column) or "").strip()]
    if not rows:
        raise QualityError(f"{source}: the register has no {column!r} values")
    return rows


def refresh_register(name: str, url: str | None = None, target: Path | None = None, timeout: float = 30.0) -> int:
    """Download register `name` (org-id | ocid-prefix) and replace the shipped copy atomically;
    returns the number of codes. The old copy stays when anything goes wrong."""
    import requests

    if name not in REGISTERS:
        raise QualityError(f"unknown register {name!r}: use one of {', '.join(REGISTERS)}")
    shipped, column, default_url = REGISTERS[name]
    url = url or default_url
    target = target or shipped
    try:
        with requests.get(url, timeout=timeout, stream=True) as response:
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_REGISTER_BYTES:
                    raise QualityError(f"{url}: register larger than {MAX_REGISTER_BYTES} bytes")
    except requests.RequestException as error:
        raise QualityError(f"{url}: cannot download the {name} register: {type(error).__name__}") from error
    rows = parse_register(bytes(body).decode("utf-8-sig", errors="replace"), column, url)
    fields = [column, *[key for key in rows[0] if key and key != column]]
    fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".csv.tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda row: row[column]))
    os.replace(temporary, target)
    identifier_schemes.cache_clear()
    ocid_prefixes.cache_clear()
    return len(rows)
