"""The columns of a trip export, per export type, and the transform from a `trips` row to cells.

The column set and the per-type exclusions follow the registry's export configuration
(betagouv/preuve-covoiturage `api/src/pdc/services/export/config/export.ts`: `fields` and
`filters`): every type gets every field except that operators do not get the operator's name
(their own); territories keep the pseudonymous passenger and driver ids and the operators' ids
of the journey (they audit incentive campaigns with them: per-person caps, unique beneficiaries).
Registry exports are the registry's `territory` target.

`transform_rows` applies the registry's rules of a regular export (`carpoolListQuery.ts`): times
rounded up to 10 minutes in the export's time zone, then split into datetime, date and time;
coordinates truncated to 3 or 2 decimals by the commune's density; euros; one trip status; the
incentive type from the campaign config; registry incentives with their campaign's name. Rows
are selected upstream (`ExportScope.query`: processed trips only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.privacy import (
    _decimals_by_insee,
    round_up_10_minutes,
    trip_status,
    truncate_coordinate,
)
from platform_assets.trip_exports.workbook import Column

OPERATOR_INCENTIVES = ("incentive_1", "incentive_2", "incentive_3")
REGISTRY_INCENTIVES = ("incentive_rpc_1", "incentive_rpc_2", "incentive_rpc_3")
_GEO_HELP = {
    "lon": ("number", "longitude (WGS84), truncated to 3 decimals (commune over 40 inhabitants/km2) or 2"),
    "lat": ("number", "latitude (WGS84), truncated to 3 decimals (commune over 40 inhabitants/km2) or 2"),
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
        Column("operator_trip_id", "text", "operator's id of the carpool"),
        Column("operator_journey_id", "text", "operator's id of the journey"),
        Column("operator_class", "text", "proof class A, B or C"),
        Column("status", "text", "trip status: ok, pending, fraud_error, anomaly_error (only processed trips are exported)"),
    ]
    for side in ("start", "end"):
        columns += [
            Column(f"{side}_datetime", "datetime", f"{side} of the journey, export's time zone, rounded up to 10 minutes"),
            Column(f"{side}_date", "date", f"{side} date, export's time zone (of the rounded time)"),
            Column(f"{side}_time", "time", f"{side} time, export's time zone, rounded up to 10 minutes"),
        ]
    columns += [
        Column("duration", "integer", "duration in seconds"),
        Column("distance", "integer", "distance in metres"),
    ]
    for side in ("start", "end"):
        for name, (type_, help_) in _GEO_HELP.items():
            columns.append(Column(f"{side}_{name}", type_, f"{side}: {help_}"))
    columns += [
        Column("operator", "text", "operator name"),
        Column("passenger_id", "text", "pseudonymous passenger id (stable across journeys and operators)"),
        Column("driver_id", "text", "pseudonymous driver id (stable across journeys and operators)"),
        Column("driver_revenue", "number", "what the driver received, in euros"),
        Column("passenger_contribution", "number", "what the passenger paid, in euros"),
        Column("passenger_seats", "integer", "seats booked by the passenger"),
        Column("cee_application", "boolean", "a CEE (energy savings certificate) application exists for the journey"),
        Column("incentive_type", "text", "normal | booster | inactive, from the campaign configuration"),
    ]
    for prefix in OPERATOR_INCENTIVES:
        columns += [
            Column(f"{prefix}_siret", "text", "operator incentive: SIRET of the funder"),
            Column(f"{prefix}_name", "text", "operator incentive: name of the funder"),
            Column(f"{prefix}_amount", "number", "operator incentive: amount in euros"),
        ]
    for prefix in REGISTRY_INCENTIVES:
        columns += [
            Column(f"{prefix}_campaign_id", "integer", "registry (local authority) incentive: campaign id"),
            Column(f"{prefix}_campaign_name", "text", "registry (local authority) incentive: campaign name"),
            Column(f"{prefix}_siret", "text", "registry (local authority) incentive: SIRET of the funder"),
            Column(f"{prefix}_name", "text", "registry (local authority) incentive: name of the funder"),
            Column(f"{prefix}_amount", "number", "registry (local authority) incentive: amount in euros"),
        ]
    return tuple(columns)


ALL_COLUMNS: tuple[Column, ...] = _all_columns()
_POSITION = {column.name: index for index, column in enumerate(ALL_COLUMNS)}

# config/export.ts `filters`: operators lose their own name; territories (and the registry, whose
# users get the territory target) lose nothing of the list.
_DROPPED: dict[str, frozenset[str]] = {
    "regular": frozenset(),
    "registry": frozenset(),
    "operator": frozenset({"operator"}),
    "territory": frozenset(),
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


def _source(name: str) -> int:
    from platform_assets.trip_exports.tables import TRIP_COLUMN_NAMES

    return TRIP_COLUMN_NAMES.index(name)


def transform_rows(rows: Iterable[Any], campaigns: CampaignConfig, tz: str) -> Iterator[tuple]:
    """`trips` rows (all columns, in table order) -> tuples in ALL_COLUMNS order."""
    local = _LocalTime(tz)
    ceil = round_up_10_minutes
    cut = truncate_coordinate
    decimals = _decimals_by_insee().get
    status_of = trip_status
    incentive_type = campaigns.incentive_type
    campaign_name = campaigns.name_of
    head = itemgetter(*map(_source, ("journey_id", "trip_id", "operator_trip_id", "operator_journey_id", "operator_class")))
    statuses = itemgetter(*map(_source, ("acquisition_status", "fraud_status", "anomaly_status")))
    start_at, end_at = _source("start_datetime"), _source("end_datetime")
    duration_distance = itemgetter(_source("duration"), _source("distance"))
    geo_getters = []
    for side in ("start", "end"):
        lon, lat, insee = _source(f"{side}_lon"), _source(f"{side}_lat"), _source(f"{side}_insee")
        rest = itemgetter(*map(_source, (f"{side}_{name}" for name in (
            "insee", "town", "department", "epci_name", "aom_name", "region_name", "country"))))
        geo_getters.append((lon, lat, insee, rest))
    (start_lon, start_lat, start_insee, start_rest), (end_lon, end_lat, end_insee, end_rest) = geo_getters
    people = itemgetter(*map(_source, ("operator_name", "passenger_id", "driver_id")))
    revenue, contribution, seats = _source("driver_revenue"), _source("passenger_contribution"), _source("passenger_seats")
    cee = _source("cee_application")
    start_aom, end_aom = _source("start_aom"), _source("end_aom")
    operator_incentives = [
        (_source(f"{prefix}_siret"), _source(f"{prefix}_name"), _source(f"{prefix}_amount")) for prefix in OPERATOR_INCENTIVES
    ]
    registry_incentives = [
        (_source(f"{prefix}_campaign_id"), _source(f"{prefix}_siret"), _source(f"{prefix}_name"), _source(f"{prefix}_amount"))
        for prefix in REGISTRY_INCENTIVES
    ]
    campaign_slots = [campaign for campaign, _, _, _ in registry_incentives] + [
        _source(f"{prefix}_campaign_id") for prefix in OPERATOR_INCENTIVES
    ]

    for row in rows:
        start_local = local(row[start_at])
        start = ceil(start_local)
        end = ceil(local(row[end_at]))
        start_decimals = decimals(row[start_insee], 2)
        end_decimals = decimals(row[end_insee], 2)
        driver_revenue = row[revenue]
        passenger_contribution = row[contribution]
        cells: list = [
            *head(row),
            status_of(*statuses(row)),
            start, start.date(), start.time(),
            end, end.date(), end.time(),
            *duration_distance(row),
            cut(row[start_lon], start_decimals), cut(row[start_lat], start_decimals), *start_rest(row),
            cut(row[end_lon], end_decimals), cut(row[end_lat], end_decimals), *end_rest(row),
            *people(row),
            None if driver_revenue is None else driver_revenue / 100,
            None if passenger_contribution is None else passenger_contribution / 100,
            row[seats],
            bool(row[cee]),
            # Campaign days are the trip's own (unrounded) local day.
            incentive_type(start_local.date(), [row[slot] for slot in campaign_slots], row[start_aom], row[end_aom]),
        ]
        for siret, name, amount in operator_incentives:
            value = row[amount]
            cells += (row[siret], row[name], None if value is None else value / 100)
        for campaign, siret, name, amount in registry_incentives:
            value = row[amount]
            campaign_id = row[campaign]
            cells += (campaign_id, campaign_name(campaign_id), row[siret], row[name], None if value is None else value / 100)
        yield tuple(cells)
