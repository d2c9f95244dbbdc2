"""Merging feeds: contributor exports into one coverage feed, ids prefixed with each
contributor's `data_prefix` so that nothing collides (`<prefix>:<id>`)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from platform_assets.lib.gtfs.reader import SPILL_ROWS, Feed, SpilledRows, Table

# Columns holding identifiers, per GTFS file (references included, so prefixed ids still match).
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_id",),
    "stops.txt": ("stop_id", "parent_station", "zone_id", "level_id"),
    "routes.txt": ("route_id", "agency_id"),
    "trips.txt": ("route_id", "service_id", "trip_id", "shape_id", "block_id"),
    "stop_times.txt": ("trip_id", "stop_id"),
    "calendar.txt": ("service_id",),
    "calendar_dates.txt": ("service_id",),
    "fare_attributes.txt": ("fare_id", "agency_id"),
    "fare_rules.txt": ("fare_id", "route_id", "origin_id", "destination_id", "contains_id"),
    "shapes.txt": ("shape_id",),
    "frequencies.txt": ("trip_id",),
    "transfers.txt": ("from_stop_id", "to_stop_id", "from_route_id", "to_route_id", "from_trip_id", "to_trip_id"),
    "pathways.txt": ("pathway_id", "from_stop_id", "to_stop_id"),
    "levels.txt": ("level_id",),
    "attributions.txt": ("attribution_id", "agency_id", "route_id", "trip_id"),
}
# Files that describe one feed and make no sense merged.
DROPPED_ON_MERGE = ("feed_info.txt",)


def prefix_feed(feed: Feed, prefix: str) -> Feed:
    """Prefix every identifier of `feed` in place; a lone agency without agency_id gets one."""
    agency = feed.table("agency.txt")
    if agency is not None and len(agency.rows) == 1:
        # One agency: routes may leave agency_id empty, which breaks once merged with other feeds.
        index = agency.ensure_column("agency_id")
        agency.rows[0][index] = agency.rows[0][index] or "agency"
        lone_agency = agency.rows[0][index]
        for table_name in ("routes.txt", "fare_attributes.txt"):
            table = feed.table(table_name)
            if table is not None:
                column = table.ensure_column("agency_id")
                for row in table.edited_rows():
                    row[column] = row[column] or lone_agency
    for table_name, columns in ID_COLUMNS.items():
        table = feed.table(table_name)
        if table is None:
            continue
        indexes = [table.column(column) for column in columns if table.has(column)]
        if not indexes:
            continue
        # One pass per table, all its id columns at once (a spilled table is rewritten once).
        for row in table.edited_rows():
            for index in indexes:
                if row[index]:
                    row[index] = f"{prefix}:{row[index]}"
    return feed


def merge_feeds(feeds: list[tuple[str, Feed]], name: str) -> Feed:
    """Merge (prefix, feed) pairs into one feed; an empty prefix leaves ids as they are."""
    merged = Feed(name)
    for prefix, feed in feeds:
        if prefix:
            prefix_feed(feed, prefix)
        merged.warnings.extend(feed.warnings)
        for table_name, table in feed.tables.items():
            if table_name in DROPPED_ON_MERGE:
                continue
            target = merged.tables.get(table_name)
            if target is None:
                merged.tables[table_name] = Table(table_name, list(table.header), table.rows)
                continue
            if isinstance(target.rows, list) and len(target.rows) + len(table.rows) > SPILL_ROWS:
                target.rows = SpilledRows(target.rows)  # merged large tables stay out of memory too
            for column in table.header:
                target.ensure_column(column)
            positions = [table.header.index(column) if column in table.header else -1 for column in target.header]
            target.rows.extend([row[p] if p >= 0 else "" for p in positions] for row in table.rows)
    return merged


COUNTED = {"agency.txt": "agency", "routes.txt": "routes", "stops.txt": "stops", "trips.txt": "trips"}


def _member_header(archive: zipfile.ZipFile, name: str) -> list[str]:
    with archive.open(name) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        return next(csv.reader(text), [])


def stream_merge(inputs: list[tuple[str, Path]], destination: Path) -> dict[str, int]:
    """Merge exports written by this platform (clean UTF-8 zips) row by row into `destination`.

    Same result as `merge_feeds` on those exports, in bounded memory: one row is held at a time.
    Returns the counts of agencies, routes, stops and trips.
    """
    archives = [(prefix, zipfile.ZipFile(path)) for prefix, path in inputs]
    counts = dict.fromkeys(COUNTED.values(), 0)
    tmp = destination.with_name(f".{destination.name}.part")
    try:
        names = sorted({n for _, a in archives for n in a.namelist() if n.endswith(".txt")} - set(DROPPED_ON_MERGE))
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as out:
            for name in names:
                headers = [(prefix, archive, _member_header(archive, name)) for prefix, archive in archives
                           if name in archive.namelist()]
                # A lone agency gets an agency_id if it has none, and the routes (or fares) that leave
                # agency_id empty point to it (as prefix_feed does), so merged routes still resolve.
                lone_agency = {id(archive): _lone_agency_id(archive) for _, archive, _ in headers}
                fills_agency = name in ("agency.txt", "routes.txt", "fare_attributes.txt")
                header: list[str] = []
                for _, archive, own in headers:
                    extra = ["agency_id"] if fills_agency and lone_agency[id(archive)] else []
                    for column in [*own, *extra]:
                        if column not in header:
                            header.append(column)
                id_columns = set(ID_COLUMNS.get(name, ()))
                with out.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
                    writer = csv.writer(text, lineterminator="\r\n")
                    writer.writerow(header)
                    for prefix, archive, own in headers:
                        positions = [own.index(column) if column in own else -1 for column in header]
                        default_agency = lone_agency[id(archive)] if fills_agency else None
                        prefixed = [column in id_columns and bool(prefix) for column in header]
                        with archive.open(name) as member, io.TextIOWrapper(member, encoding="utf-8-sig", newline="") as rows:
                            reader = csv.reader(rows)
                            next(reader, None)
                            for row in reader:
                                if not row:
                                    continue
                                merged = []
                                for index, position in enumerate(positions):
                                    value = row[position] if 0 <= position < len(row) else ""
                                    if not value and default_agency and header[index] == "agency_id":
                                        value = default_agency
                                    merged.append(f"{prefix}:{value}" if value and prefixed[index] else value)
                                writer.writerow(merged)
                                if name in COUNTED:
                                    counts[COUNTED[name]] += 1
        tmp.replace(destination)
    finally:
        tmp.unlink(missing_ok=True)
        for _, archive in archives:
            archive.close()
    return counts


def _lone_agency_id(archive: zipfile.ZipFile) -> str | None:
    """The agency_id of a feed's only agency ("agency" when it has none), or None."""
    if "agency.txt" not in archive.namelist():
        return None
    with archive.open("agency.txt") as member, io.TextIOWrapper(member, encoding="utf-8-sig", newline="") as text:
        rows = [row for row in csv.reader(text) if row]
    if len(rows) != 2:
        return None
    header, values = rows
    position = header.index("agency_id") if "agency_id" in header else -1
    return (values[position] if 0 <= position < len(values) else "") or "agency"
