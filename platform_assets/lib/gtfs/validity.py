"""Validity period of GTFS feeds (Tartare's rules).

One feed: feed_info.txt with exactly one row and both dates valid wins (more than one row is an
error; missing or invalid dates fall back to the calendars). Otherwise calendar.txt from min
start_date to max end_date, widened by calendar_dates type 1 dates and trimmed day by day by
type 2 dates on its edges. A feed yielding no date at all, neither calendar file, missing date
columns or unparsable dates are errors.

Several feeds: the union (min start, max end); a period over 365 days starts at
max(start, today - 7 days) and ends at min(that start + 364 days, end); a period entirely in the
past is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from platform_assets.lib.gtfs.errors import ValidityPeriodError
from platform_assets.lib.gtfs.reader import Feed, Table, read_feed


@dataclass(frozen=True)
class ValidityPeriod:
    start_date: date
    end_date: date

    def as_json(self) -> dict[str, str]:
        return {"start_date": self.start_date.isoformat(), "end_date": self.end_date.isoformat()}

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1


def parse_gtfs_date(value: str, where: str) -> date:
    try:
        return datetime.strptime(value.strip(), "%Y%m%d").date()
    except ValueError:
        raise ValidityPeriodError(f"{where}: unparsable date {value!r} (expected YYYYMMDD)") from None


def _feed_info_period(feed: Feed) -> ValidityPeriod | None:
    table = feed.table("feed_info.txt")
    if table is None or not table.rows:
        return None
    if len(table.rows) > 1:
        raise ValidityPeriodError(f"{feed.name}/feed_info.txt: {len(table.rows)} rows, expected exactly one")
    record = dict(zip(table.header, table.rows[0], strict=True))
    try:
        start = datetime.strptime(record.get("feed_start_date", "").strip(), "%Y%m%d").date()
        end = datetime.strptime(record.get("feed_end_date", "").strip(), "%Y%m%d").date()
    except ValueError:
        return None  # missing or invalid feed dates: the calendars decide
    if end < start:
        return None
    return ValidityPeriod(start, end)


def _dates_column(table: Table, column: str, where: str) -> int:
    if not table.has(column):
        raise ValidityPeriodError(f"{where}: missing column {column!r}")
    return table.column(column)


def feed_validity_period(feed: Feed) -> ValidityPeriod:
    """The feed's own period (no union, no today rule)."""
    period = _feed_info_period(feed)
    if period is not None:
        return period
    calendar = feed.table("calendar.txt")
    calendar_dates = feed.table("calendar_dates.txt")
    if calendar is None and calendar_dates is None:
        raise ValidityPeriodError(f"{feed.name}: neither calendar.txt nor calendar_dates.txt, no validity period")
    start: date | None = None
    end: date | None = None
    if calendar is not None and calendar.rows:
        where = f"{feed.name}/calendar.txt"
        start_index = _dates_column(calendar, "start_date", where)
        end_index = _dates_column(calendar, "end_date", where)
        for row in calendar.rows:
            row_start = parse_gtfs_date(row[start_index], where)
            row_end = parse_gtfs_date(row[end_index], where)
            start = row_start if start is None else min(start, row_start)
            end = row_end if end is None else max(end, row_end)
    if calendar_dates is not None and calendar_dates.rows:
        where = f"{feed.name}/calendar_dates.txt"
        date_index = _dates_column(calendar_dates, "date", where)
        type_index = _dates_column(calendar_dates, "exception_type", where)
        added: list[date] = []
        removed: set[date] = set()
        for row in calendar_dates.rows:
            day = parse_gtfs_date(row[date_index], where)
            kind = row[type_index].strip()
            if kind == "1":
                added.append(day)
            elif kind == "2":
                removed.add(day)
            else:
                raise ValidityPeriodError(f"{where}: exception_type {kind!r} is not 1 or 2")
        if added:
            start = min(added) if start is None else min(start, min(added))
            end = max(added) if end is None else max(end, max(added))
        if start is not None and end is not None:
            # Removed dates only matter on the edges: trim them day by day.
            while start <= end and start in removed and start not in added:
                start += timedelta(days=1)
            while end >= start and end in removed and end not in added:
                end -= timedelta(days=1)
            if start > end:
                start = end = None
    if start is None or end is None:
        raise ValidityPeriodError(f"{feed.name}: calendar.txt and calendar_dates.txt yield no date")
    return ValidityPeriod(start, end)


def validity_period_of_file(path: str | Path) -> ValidityPeriod:
    return feed_validity_period(read_feed(path))


def union(periods: list[ValidityPeriod]) -> ValidityPeriod:
    if not periods:
        raise ValidityPeriodError("no validity period to unite: no feed")
    return ValidityPeriod(min(p.start_date for p in periods), max(p.end_date for p in periods))


def effective_period(period: ValidityPeriod, today: date, what: str) -> ValidityPeriod:
    """The period an export announces: an error when over; over 365 days, Tartare's
    ValidityPeriod.to_valid (tartare/core/models.py): start = max(start, today - 7 days),
    end = min(start + 364 days, end), so the announced end never passes the data's own end."""
    if period.end_date < today:
        raise ValidityPeriodError(
            f"{what}: validity period {period.start_date}..{period.end_date} is entirely in the past"
        )
    if (period.end_date - period.start_date).days > 365:
        start = max(period.start_date, today - timedelta(days=7))
        return ValidityPeriod(start, min(start + timedelta(days=364), period.end_date))
    return period
