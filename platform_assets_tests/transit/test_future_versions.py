"""Future versions wait: a new feed version whose validity starts after today is kept and goes live
on its start date; `future_versions: publish` gives Tartare's behaviour (exported at once)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from platform_assets.core.objectstore import LocalObjectStore
from platform_assets.transit.catalog import parse_catalog
from platform_assets.transit.service import export_contributor, latest_contributor_export
from platform_assets_tests.transit.probe import write_gtfs

SPRING = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nSV,1,1,1,1,1,0,0,20260101,20260630\n"
AUTUMN = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nSV,1,1,1,1,1,0,0,20260701,20261231\n"


@pytest.mark.parametrize("future_versions", ["wait", "publish"])
def test_next_season_waits_for_its_start_date(tmp_path: Path, future_versions: str) -> None:
    served = tmp_path / "served.zip"
    write_gtfs(served, {"calendar.txt": SPRING})
    catalog = parse_catalog({"contributors": [{
        "id": "probe", "data_prefix": "P", "future_versions": future_versions,
        "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(served)}}]}]}, "test")
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))

    first = export_contributor(store, catalog, "probe", tmp_path / "w1", date(2026, 3, 1))
    assert first.exported and first.validity is not None and first.validity.end_date == date(2026, 6, 30)
    write_gtfs(served, {"calendar.txt": AUTUMN})  # next season published early, starts 2026-07-01
    early = export_contributor(store, catalog, "probe", tmp_path / "w2", date(2026, 3, 2))
    assert len(store.list("transit/data_sets/probe/gtfs/")) == 2  # the new version is kept either way
    latest = latest_contributor_export(store, "probe")
    assert latest is not None
    if future_versions == "publish":
        assert early.exported and latest["validity"]["start_date"] == "2026-07-01"
        return
    assert not early.exported
    assert early.reason == "new version waiting for its start date (gtfs on 2026-07-01); the version in use stays"
    assert latest["validity"] == {"start_date": "2026-01-01", "end_date": "2026-06-30"}
    # Still waiting the day before; a forced export re-exports the version in use.
    assert not export_contributor(store, catalog, "probe", tmp_path / "w3", date(2026, 6, 30)).exported
    forced = export_contributor(store, catalog, "probe", tmp_path / "w4", date(2026, 6, 30), force=True)
    assert forced.exported and forced.validity is not None and forced.validity.start_date == date(2026, 1, 1)
    # On its start date it goes live.
    live = export_contributor(store, catalog, "probe", tmp_path / "w5", date(2026, 7, 1))
    assert live.exported and live.validity is not None
    assert (live.validity.start_date, live.validity.end_date) == (date(2026, 7, 1), date(2026, 12, 31))
    assert not export_contributor(store, catalog, "probe", tmp_path / "w6", date(2026, 7, 2)).exported
