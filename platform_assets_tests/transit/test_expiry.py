"""Expiry warnings per contributor: its own feed ending within 30 days warns, within 7 errors, even
when the coverage's merged period goes on."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetCheckSeverity

from platform_assets.core.objectstore import LocalObjectStore
from platform_assets.transit.catalog import parse_catalog
from platform_assets.transit.expiry import ContributorExpiry, coverage_expiries
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB, COVERAGE_EXPORT_JOB
from platform_assets.transit.service import export_contributor, export_coverage
from platform_assets_tests.transit.conftest import TransitWorld
from platform_assets_tests.transit.probe import write_gtfs

CALENDAR = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nSV,1,1,1,1,1,0,0,{start},{end}\n"


def test_one_contributor_expiring_is_named_though_the_coverage_goes_on(tmp_path: Path) -> None:
    soon = write_gtfs(tmp_path / "soon.zip", {"calendar.txt": CALENDAR.format(start="20250601", end="20260110")})
    later = write_gtfs(tmp_path / "later.zip", {"calendar.txt": CALENDAR.format(start="20250601", end="20260531")})
    long = write_gtfs(tmp_path / "long.zip", {"calendar.txt": CALENDAR.format(start="20250101", end="20261231")})
    catalog = parse_catalog({
        "contributors": [
            {"id": "soon", "data_prefix": "S", "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(soon)}}]},
            {"id": "later", "data_prefix": "L", "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(later)}}]},
            {"id": "long", "data_prefix": "G", "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(long)}}]},
        ],
        "coverages": [{"id": "both", "contributors": ["soon", "later"]}, {"id": "solo", "contributors": ["long"]}],
    }, "test")
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    today = date(2025, 12, 20)
    for contributor in ("soon", "later", "long"):
        export_contributor(store, catalog, contributor, tmp_path / contributor, today)
    coverage = export_coverage(store, catalog, "both", tmp_path / "c", today)
    assert coverage.validity is not None and coverage.validity.end_date == date(2026, 5, 31)  # hides "soon"
    # 2025-12-20 -> 2026-01-10 is 21 days: warn; -> 2026-05-31 is 11 + 31 + 28 + 31 + 30 + 31 = 162: ok.
    assert coverage_expiries(store, catalog, "both", today) == [
        ContributorExpiry("soon", date(2026, 1, 10), 21, "warn"),
        ContributorExpiry("later", date(2026, 5, 31), 162, "ok"),
    ]
    # 2026-01-05: 5 days left: error; 2026-01-12: ended 2 days ago: error.
    assert coverage_expiries(store, catalog, "both", date(2026, 1, 5))[0] == ContributorExpiry("soon", date(2026, 1, 10), 5, "error")
    assert coverage_expiries(store, catalog, "both", date(2026, 1, 12))[0].describe() == "soon ended on 2026-01-10 (2 days ago)"
    # The alert's key holds contributor, feed end and level: the same error seen the next day is not mailed again.
    key, subject, _body = coverage_expiries(store, catalog, "both", date(2026, 1, 5))[0].alert("prod", "both", date(2026, 1, 5))
    assert key == coverage_expiries(store, catalog, "both", date(2026, 1, 6))[0].alert("prod", "both", date(2026, 1, 6))[0]
    assert key == "transit-expiry:both:soon:2026-01-10:error"
    assert subject == "[prod] transit contributor soon (coverage both): soon ends on 2026-01-10 (5 days left) [ERROR]"
    # The feed's own end counts, not the announced end after the 365-day cut: long was exported on
    # 2025-12-20 announcing 2025-12-13..2026-12-12 (4 days left on 2026-12-08), its data ends 2026-12-31.
    assert coverage_expiries(store, catalog, "solo", date(2026, 12, 8)) == [
        ContributorExpiry("long", date(2026, 12, 31), 23, "warn")
    ]


def test_the_asset_check_warns_then_errors_naming_the_contributor(
    transit_world: TransitWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = transit_world
    world.sync_partitions()
    for contributor in ("alpha", "beta"):  # alpha's own feed ends 2018-08-01, beta's 2018-09-01
        assert world.run(CONTRIBUTOR_EXPORT_JOB, contributor).success
    expected = [
        ("2018-01-01", True, AssetCheckSeverity.WARN, "no contributor ends within 30 days"),
        ("2018-07-20", False, AssetCheckSeverity.WARN, "alpha ends on 2018-08-01 (12 days left)"),
        ("2018-07-28", False, AssetCheckSeverity.ERROR, "alpha ends on 2018-08-01 (4 days left)"),
    ]
    for today, passed, severity, description in expected:
        monkeypatch.setenv("PLATFORM_TRANSIT_TODAY", today)
        result = world.run(COVERAGE_EXPORT_JOB, "north", {"ops": {"coverage_export": {"config": {"force": True}}}})
        evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "contributor_expiry")
        assert (evaluation.passed, evaluation.description) == (passed, description)
        if not passed:
            assert evaluation.severity == severity
    # Each level reached was emailed, naming the contributor (the first run warned of nothing).
    mails = sorted((world.data_dir / "outbox").glob("*.eml"))
    messages = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in mails]
    assert [m["Subject"] for m in messages] == [
        "[local] transit contributor alpha (coverage north): alpha ends on 2018-08-01 (12 days left) [WARNING]",
        "[local] transit contributor alpha (coverage north): alpha ends on 2018-08-01 (4 days left) [ERROR]",
    ]
    body = messages[1].get_content()
    assert "Contributor: alpha\n" in body and "Coverage: north\n" in body and "Its own feed ends on: 2018-08-01\n" in body
    assert messages[1]["To"] == "operators@localhost"
