"""Unknown preprocess params: refused by default (an error naming the key), or dropped as Tartare
does with PLATFORM_TRANSIT_UNKNOWN_PREPROCESS_PARAMS=ignore (its processes read params with dict.get)."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
import yaml

from platform_assets.core.errors import SettingsError
from platform_assets.core.objectstore import LocalObjectStore
from platform_assets.core.settings import configure
from platform_assets.transit.errors import PreprocessError
from platform_assets.transit.resources import TransitSettings
from platform_assets.transit.service import export_contributor
from platform_assets_tests.transit.probe import write_gtfs


def settings_for(tmp_path: Path, mode: str | None) -> TransitSettings:
    feed = write_gtfs(tmp_path / "probe.zip")
    catalog = {"contributors": [{
        "id": "probe", "data_prefix": "P",
        "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(feed)}}],
        # `agency_colour` is no GtfsAgencyFile param: a typo, or a key of a catalog written for Tartare.
        "preprocesses": [{"type": "GtfsAgencyFile", "params": {"agency_id": "NEW", "agency_colour": "red"}}],
    }]}
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(catalog), encoding="utf-8")
    env = {"PLATFORM_CATALOG": str(tmp_path / "catalog.yaml"), "PLATFORM_DATA_DIR": str(tmp_path / "data")}
    if mode is not None:
        env["PLATFORM_TRANSIT_UNKNOWN_PREPROCESS_PARAMS"] = mode
    return configure(TransitSettings, env)


def test_unknown_params_are_refused_by_default(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, None)
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    with pytest.raises(PreprocessError, match=r"contributor probe: GtfsAgencyFile: params.agency_colour: Extra inputs"):
        export_contributor(store, settings.load_catalog(), "probe", tmp_path / "w", date(2026, 1, 10))


def test_ignore_drops_them_as_tartare_and_says_so(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "ignore")
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    lines: list[str] = []
    outcome = export_contributor(store, settings.load_catalog(), "probe", tmp_path / "w", date(2026, 1, 10), log=lines.append)
    with zipfile.ZipFile(tmp_path / "w/export/probe.zip") as export:
        agency = export.read("agency.txt").decode()
    assert outcome.exported
    # The known param still applies (params override the file); the unknown one is gone.
    assert agency.splitlines() == [
        "agency_id,agency_name,agency_url,agency_timezone,agency_lang,agency_phone,agency_email,agency_fare_url",
        "NEW,Probe Transit,https://probe.example.org,Europe/Paris,,,,",
    ]
    assert "contributor probe: GtfsAgencyFile: unknown params ignored (as Tartare): agency_colour" in lines


def test_a_mistyped_known_param_stays_an_error_and_the_setting_is_checked(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "ignore")
    catalog = yaml.safe_load((tmp_path / "catalog.yaml").read_text(encoding="utf-8"))
    catalog["contributors"][0]["preprocesses"][0]["params"]["agency_name"] = ["not", "a", "name"]
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(catalog), encoding="utf-8")
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    with pytest.raises(PreprocessError, match=r"GtfsAgencyFile: params.agency_name: Input should be a valid string"):
        export_contributor(store, settings.load_catalog(), "probe", tmp_path / "w", date(2026, 1, 10))
    with pytest.raises(SettingsError, match="PLATFORM_TRANSIT_UNKNOWN_PREPROCESS_PARAMS.*'drop' is not one of: refuse, ignore"):
        settings_for(tmp_path / "other", "drop")
