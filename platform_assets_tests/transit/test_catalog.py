"""The catalog: valid YAML loads; every error names the file and the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from platform_assets.transit.catalog import load_catalog
from platform_assets.transit.errors import CatalogError

GOOD = {
    "contributors": [
        {
            "id": "tisseo",
            "name": "Tisséo",
            "data_prefix": "TIS",
            "data_sources": [
                {"id": "gtfs", "data_format": "gtfs",
                 "input": {"type": "url", "url": "feeds/a.zip", "frequency": {"type": "daily", "hour_of_day": 6}}},
                {"id": "dirs", "data_format": "direction_config", "input": {"type": "manual"}},
            ],
            "preprocesses": [{"type": "ComputeDirections", "sequence": 1, "data_source_ids": ["dirs"]}],
        }
    ],
    "coverages": [
        {
            "id": "fr-se",
            "contributors": ["tisseo"],
            "environments": {
                "production": {"sequence": 1, "publication_platforms": [
                    {"sequence": 0, "type": "navitia", "protocol": "http", "url": "http://tyr/v0/jobs/fr-se"}]},
                "integration": {"sequence": 0},
            },
        }
    ],
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_good_catalog_loads_with_paths_relative_to_it(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, GOOD))
    contributor = catalog.contributor("tisseo")
    assert contributor.data_sources[0].input.frequency.hour_of_day == 6  # type: ignore[union-attr]
    assert catalog.resolve_path("feeds/a.zip") == str(tmp_path / "feeds/a.zip")
    assert catalog.resolve_path("https://x/a.zip") == "https://x/a.zip"
    assert [name for name, _ in catalog.coverage("fr-se").ordered_environments()] == ["integration", "production"]
    assert [c.id for c in catalog.coverages_of("tisseo")] == ["fr-se"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["contributors"][0].pop("data_prefix"), "contributors[0].data_prefix: Field required"),
        (lambda d: d["contributors"][0]["data_sources"][0]["input"].update(url=""), "contributors[0].data_sources[0].input"),
        (lambda d: d["contributors"][0]["data_sources"][0]["input"].update(type="carrier-pigeon"), "contributors[0].data_sources[0].input.type"),
        (lambda d: d["contributors"][0].update(colour="red"), "contributors[0].colour: Extra inputs are not permitted"),
        (lambda d: d["coverages"][0]["contributors"].append("ghost"), "unknown contributor 'ghost'"),
        (lambda d: d["coverages"][0]["environments"].update(staging={}), "environment 'staging'"),
        (lambda d: d["coverages"][0]["environments"]["production"]["publication_platforms"][0].update(protocol="gopher"),
         "coverages[0].environments.production.publication_platforms[0].protocol"),
        (lambda d: d["contributors"][0]["preprocesses"][0].update(data_source_ids=["nope"]), "unknown data source 'nope'"),
        # Platform options are validated: a misspelt key is an error, not a silent anonymous upload.
        (lambda d: d["coverages"][0]["environments"]["production"]["publication_platforms"][0].update(
            options={"user": "tyr"}),
         "coverages[0].environments.production.publication_platforms[0].options.user: Extra inputs are not permitted"),
        (lambda d: d["coverages"][0]["environments"]["production"]["publication_platforms"][0].update(
            options={"authent": {"user": "tyr"}}),
         "publication_platforms[0].options.authent.username: Field required"),
        (lambda d: d["coverages"][0]["environments"]["production"]["publication_platforms"][0].update(
            options={"directory": "incoming"}),
         "publication_platforms[0]: options.directory: not an option of protocol 'http'"),
        (lambda d: d["coverages"][0]["environments"]["production"]["publication_platforms"][0].update(
            options={"download_url": "https://x/y.zip"}),
         "publication_platforms[0]: options.download_url: only ods platforms"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, change, expected: str) -> None:  # type: ignore[no-untyped-def]
    import copy

    data = copy.deepcopy(GOOD)
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(CatalogError) as raised:
        load_catalog(path)
    message = str(raised.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="catalog file not found"):
        load_catalog(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("contributors: [\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"bad.yaml: line \d+ invalid YAML"):
        load_catalog(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="expected a mapping"):
        load_catalog(bad)


def test_demo_catalog_is_valid() -> None:
    from platform_assets.core.settings import configure
    from platform_assets.transit.resources import TransitSettings

    catalog = load_catalog(configure(TransitSettings, {}).catalog_path)
    assert len(catalog.coverages) == 2
    for contributor in catalog.contributors:
        for source in contributor.data_sources:
            if source.input.type == "url":
                assert Path(catalog.resolve_path(source.input.url)).is_file()
