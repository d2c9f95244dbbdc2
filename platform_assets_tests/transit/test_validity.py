"""Validity periods exactly per the issue's rules, on Tartare's fixtures."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from platform_assets.cli import platform_cli
from platform_assets.lib.gtfs.validity import ValidityPeriod, effective_period, union, validity_period_of_file
from platform_assets.transit.errors import FeedError, ValidityPeriodError

PERIODS = {
    "add_dates.zip": ("2017-01-01", "2017-02-15"),
    "remove_dates.zip": ("2017-01-04", "2017-01-30"),
    "calendar_dates_with_empty_line.zip": ("2017-01-02", "2017-01-20"),
    "calendar_dates_with_headers_only.zip": ("2017-01-02", "2017-01-20"),
    "calendar_many_periods.zip": ("2017-01-02", "2017-07-20"),
    "calendar_with_empty_line_add_dates_only.zip": ("2017-01-02", "2017-01-31"),
    "gtfs_with_feed_info.zip": ("2016-04-11", "2016-12-31"),
    "gtfs_with_feed_info_invalid.zip": ("2016-10-04", "2016-12-24"),
    "gtfs_with_feed_info_missing_dates.zip": ("2016-10-04", "2016-12-24"),
    "gtfs_with_feed_info_more_than_one_year.zip": ("2016-04-11", "2018-12-31"),
    "gtfs_without_calendar.zip": ("2016-10-04", "2016-12-24"),
    "gtfs_valid.zip": ("2015-09-01", "2017-03-31"),
    "minimal_gtfs.zip": ("2017-09-01", "2018-08-01"),
    "minimal_gtfs_modified.zip": ("2017-09-02", "2018-08-01"),
}
ERRORS = {
    "calendar_dates_without_dates.zip": "calendar_dates.txt: missing column 'date'",
    "calendar_dates_without_exception_type.zip": "missing column 'exception_type'",
    "calendar_invalid_end_date.zip": "unparsable date 'AAAA'",
    "calendar_with_empty_line_remove_dates_only.zip": "yield no date",
    "calendar_with_headers_only.zip": "yield no date",
    "calendar_without_end_date.zip": "missing column 'end_date'",
    "calendar_without_start_date.zip": "missing column 'start_date'",
    "empty_archive.zip": "neither calendar.txt nor calendar_dates.txt",
    "gtfs_feed_info_with_2_rows.zip": "feed_info.txt: 2 rows",
    "not_a_zip_file.zip": "not a zip archive",
}


@pytest.mark.parametrize("name", sorted(PERIODS))
def test_feed_period(shared_data: Path, name: str) -> None:
    period = validity_period_of_file(shared_data / "gtfs/validity" / name)
    assert (period.start_date.isoformat(), period.end_date.isoformat()) == PERIODS[name]


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_feed_period_errors(shared_data: Path, name: str) -> None:
    with pytest.raises(FeedError) as raised:
        validity_period_of_file(shared_data / "gtfs/validity" / name)
    assert name in str(raised.value) and ERRORS[name] in str(raised.value)


def test_union_and_one_year_cut() -> None:
    a = ValidityPeriod(date(2017, 1, 1), date(2017, 6, 30))
    b = ValidityPeriod(date(2017, 3, 1), date(2018, 8, 1))
    whole = union([a, b])
    assert whole == ValidityPeriod(date(2017, 1, 1), date(2018, 8, 1))
    # Over 365 days: 364 days from max(start, today - 7 days).
    assert effective_period(whole, date(2017, 3, 10), "x") == ValidityPeriod(date(2017, 3, 3), date(2018, 3, 2))
    assert effective_period(whole, date(2016, 12, 1), "x") == ValidityPeriod(date(2017, 1, 1), date(2017, 12, 31))
    assert effective_period(a, date(2017, 2, 1), "x") == a
    with pytest.raises(ValidityPeriodError, match="entirely in the past"):
        effective_period(a, date(2017, 7, 1), "coverage c")


def test_a_long_period_is_cut_but_never_announced_past_its_own_end(shared_data: Path) -> None:
    """Tartare's ValidityPeriod.to_valid: end = min(start + 364 days, end)."""
    long = validity_period_of_file(shared_data / "gtfs/validity/gtfs_with_feed_info_more_than_one_year.zip")
    assert long == ValidityPeriod(date(2016, 4, 11), date(2018, 12, 31))
    # today 2018-06-01: start = max(2016-04-11, 2018-05-25) = 2018-05-25; 2018-05-25 + 364 days is
    # 2019-05-24, after the data's end, so the end stays 2018-12-31.
    assert effective_period(long, date(2018, 6, 1), "c") == ValidityPeriod(date(2018, 5, 25), date(2018, 12, 31))
    # today 2017-01-01: start 2016-12-25, + 364 days = 2017-12-24, before the data's end: cut there.
    assert effective_period(long, date(2017, 1, 1), "c") == ValidityPeriod(date(2016, 12, 25), date(2017, 12, 24))


def test_cli_prints_the_feeds_own_period(shared_data: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        platform_cli, ["transit", "validity-period", str(shared_data / "gtfs/validity/gtfs_with_feed_info_more_than_one_year.zip")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"start_date": "2016-04-11", "end_date": "2018-12-31"}


def test_cli_invalid_feed_exits_with_one_line(shared_data: Path) -> None:
    result = CliRunner().invoke(
        platform_cli, ["transit", "validity-period", str(shared_data / "gtfs/validity/calendar_invalid_end_date.zip")]
    )
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unparsable date 'AAAA'" in lines[0]
