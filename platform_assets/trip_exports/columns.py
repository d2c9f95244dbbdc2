"""The columns of a trip export, per export type, and the transform from a `trips` row to cells.

`transform_rows` turns Core rows into tuples of every export column (local times, euros,
incentive type from the campaign config); a column set is then a selection of those positions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.tables import INCENTIVE_PREFIXES, TRIP_COLUMN_NAMES
from platform_assets.trip_exports.workbook import Column

_GEO_HELP = {
    "lon": ("number", "longitude (WGS84)"),
    "lat": ("number", "latitude (WGS84)"),
    "insee": ("text", "INSEE code of the commune"),
    "town": ("text", "commune name"),
    "department": ("text", "department code"),
    "epci": ("text", "EPCI (intercommunality) name"),
    "aom": ("text", "mobility authority (AOM) name"),
    "region": ("text", "region name"),
    "country": ("text", "country"),
}


def _all_columns() -> tuple[Column, ...]:
    columns = [
        Column("journey_id", "integer", "registry id of the passenger journey"),
        Column("trip_id", "text", "registry id of the carpool (shared by its passengers)"),
        Column("operator_journey_id", "text", "operator's id of the journey"),
        Column("operator_trip_id", "text", "operator's id of the carpool"),
        Column("operator_class", "text", "proof class A, B or C"),
        Column("operator", "text", "operator name"),
        Column("start_datetime", "datetime", "start of the journey, local time of the export's time zone"),
        Column("end_datetime", "datetime", "end of the journey, local time of the export's time zone"),
    ]
    for side in ("start", "end"):
        for name, (type_, help_) in _GEO_HELP.items():
            columns.append(Column(f"{side}_{name}", type_, f"{side}: {help_}"))
    columns += [
        Column("distance", "integer", "distance in metres"),
        Column("duration", "integer", "duration in seconds"),
        Column("passenger_id", "text", "pseudonymous passenger id"),
        Column("driver_id", "text", "pseudonymous driver id"),
        Column("passenger_seats", "integer", "seats booked by the passenger"),
        Column("passenger_contribution", "number", "what the passenger paid, in euros"),
        Column("driver_revenue", "number", "what the driver received, in euros"),
    ]
    for prefix in INCENTIVE_PREFIXES:
        who = "registry (local authority)" if "rpc" in prefix else "operator"
        columns += [
            Column(f"{prefix}_siret", "text", f"{who} incentive: SIRET of the funder"),
            Column(f"{prefix}_name", "text", f"{who} incentive: name of the funder"),
            Column(f"{prefix}_amount", "number", f"{who} incentive: amount in euros"),
            Column(f"{prefix}_campaign", "integer", f"{who} incentive: campaign id"),
        ]
    columns += [
        Column("incentive_type", "text", "normal | booster | inactive, from the campaign configuration"),
        Column("acquisition_status", "text", "registry acquisition status"),
        Column("fraud_status", "text", "fraud check status"),
        Column("anomaly_status", "text", "anomaly check status"),
    ]
    return tuple(columns)


ALL_COLUMNS: tuple[Column, ...] = _all_columns()
_POSITION = {column.name: index for index, column in enumerate(ALL_COLUMNS)}

# Operators see their own trips only, so their name is noise; territories get no personal or
# operator-internal identifiers.
_DROPPED: dict[str, frozenset[str]] = {
    "regular": frozenset(),
    "registry": frozenset(),
    "operator": frozenset({"operator"}),
    "territory": frozenset({"passenger_id", "driver_id", "operator_journey_id", "operator_trip_id"}),
}


def columns_for(export_type: str) -> tuple[Column, ...]:
    dropped = _DROPPED[export_type]
    return tuple(column for column in ALL_COLUMNS if column.name not in dropped)


def selector_for(columns: Sequence[Column]) -> Callable[[tuple], tuple]:
    positions = [_POSITION[column.name] for column in columns]
    if len(positions) == len(ALL_COLUMNS):
        return lambda row: row
    getter = itemgetter(*positions)
    return lambda row: getter(row)


# Where each export column comes from in a `trips` row (position in TRIP_COLUMN_NAMES); derived
# columns are filled in afterwards by position.
_SOURCE: dict[str, str] = {
    "operator": "operator_name",
    **{f"{side}_{name}": f"{side}_{source}" for side in ("start", "end") for name, source in (
        ("lon", "lon"), ("lat", "lat"), ("insee", "insee"), ("town", "town"), ("department", "department"),
        ("epci", "epci_name"), ("aom", "aom_name"), ("region", "region_name"), ("country", "country"))},
    **{f"{prefix}_campaign": f"{prefix}_campaign_id" for prefix in INCENTIVE_PREFIXES},
    "incentive_type": "journey_id",  # placeholder, replaced below
}
_TRIP_POSITION = {name: index for index, name in enumerate(TRIP_COLUMN_NAMES)}
_GETTER = itemgetter(*(_TRIP_POSITION[_SOURCE.get(column.name, column.name)] for column in ALL_COLUMNS))
_DATETIME_SLOTS = (_POSITION["start_datetime"], _POSITION["end_datetime"])
_EURO_SLOTS = tuple(
    _POSITION[name]
    for name in ("passenger_contribution", "driver_revenue", *(f"{prefix}_amount" for prefix in INCENTIVE_PREFIXES))
)
_CAMPAIGN_SLOTS = tuple(_POSITION[f"{prefix}_campaign"] for prefix in INCENTIVE_PREFIXES)
_TYPE_SLOT = _POSITION["incentive_type"]
_START_AOM = _TRIP_POSITION["start_aom"]
_END_AOM = _TRIP_POSITION["end_aom"]


class _LocalTime:
    """UTC -> naive local time, with the zone's offset cached per UTC hour (zone lookups are the
    slow part; offsets only change on the hour)."""

    def __init__(self, tz: str) -> None:
        self.zone = ZoneInfo(tz)
        self.offsets: dict[int, timedelta] = {}

    def __call__(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:  # SQLite hands back naive UTC
            moment = moment.replace(tzinfo=UTC)
        hour = int(moment.timestamp()) // 3600
        offset = self.offsets.get(hour)
        if offset is None:
            offset = self.offsets[hour] = moment.astimezone(self.zone).utcoffset() or timedelta(0)
        return (moment + offset).replace(tzinfo=None)


def transform_rows(rows: Iterable[Any], campaigns: CampaignConfig, tz: str) -> Iterator[tuple]:
    """`trips` rows (all columns, in table order) -> tuples in ALL_COLUMNS order."""
    local = _LocalTime(tz)
    incentive_type = campaigns.incentive_type
    start_slot, end_slot = _DATETIME_SLOTS
    for row in rows:
        cells = list(_GETTER(row))
        start = cells[start_slot] = local(cells[start_slot])
        cells[end_slot] = local(cells[end_slot])
        for slot in _EURO_SLOTS:
            if cells[slot] is not None:
                cells[slot] = cells[slot] / 100
        cells[_TYPE_SLOT] = incentive_type(
            start.date(), [cells[slot] for slot in _CAMPAIGN_SLOTS], row[_START_AOM], row[_END_AOM]
        )
        yield tuple(cells)
