"""Preprocesses: small classes with validated parameters, applied in sequence to a feed.

Each class declares its parameters as pydantic fields (unknown or bad ones raise a
PreprocessError naming the preprocess and the key) and may read configuration data sources
(a direction_config JSON, ruspell rules...) handed over as local files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from platform_assets.lib.gtfs.reader import Feed, Table
from platform_assets.lib.yamlfile import YamlError, load_yaml_file
from platform_assets.transit.errors import PreprocessError


@dataclass
class PreprocessContext:
    """What a preprocess may use besides the feed: configuration files by data source id, a log."""

    config_files: dict[str, Path] = field(default_factory=dict)
    log: Callable[[str], None] = lambda _message: None

    def config_file(self, preprocess: str, source_ids: list[str]) -> Path:
        for source_id in source_ids:
            if source_id in self.config_files:
                return self.config_files[source_id]
        raise PreprocessError(f"{preprocess}: needs a configuration data source (data_source_ids), got {source_ids}")


class Preprocess(BaseModel):
    """Base class: subclasses declare params as fields and implement `apply`."""

    model_config = ConfigDict(extra="forbid")
    name: ClassVar[str] = ""
    data_source_ids: list[str] = Field(default_factory=list, exclude=True)

    def apply(self, feed: Feed, context: PreprocessContext) -> Feed:
        raise NotImplementedError


class ComputeDirections(Preprocess):
    """Set trips' direction_id from a direction_config JSON: route_id -> ordered reference stop ids.

    Tartare's rule (tartare/processes/contributor/compute_directions.py): keep the reference stops the
    trip visits (in reference order); over each consecutive pair (a, b), count it forward when the
    trip (ordered by stop_sequence) first visits b after it first visits a. Fewer than half forward
    gives 1 (return), otherwise 0, so a loop or a detour does not flip a trip. Trips of routes not
    configured, or visiting fewer than two reference stops, keep their direction_id.
    """

    name: ClassVar[str] = "ComputeDirections"

    def apply(self, feed: Feed, context: PreprocessContext) -> Feed:
        config_path = context.config_file(self.name, self.data_source_ids)
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise PreprocessError(f"{self.name}: {config_path.name}: invalid direction config: {error}") from None
        if not isinstance(config, dict):
            raise PreprocessError(f"{self.name}: {config_path.name}: expected an object route_id -> [stop ids]")
        for route_id, stops in config.items():
            if not isinstance(stops, list) or not all(isinstance(stop, str) for stop in stops):
                raise PreprocessError(f"{self.name}: {config_path.name}: route {route_id!r}: expected a list of stop ids")
        trips = feed.require("trips.txt")
        stop_times = feed.require("stop_times.txt")
        trip_col, stop_col, seq_col = (
            stop_times.column("trip_id"),
            stop_times.column("stop_id"),
            stop_times.column("stop_sequence"),
        )
        route_col, id_col = trips.column("route_id"), trips.column("trip_id")
        # Only the reference stops of configured routes' trips are kept (the direction depends on
        # nothing else): memory follows the configuration, not the size of stop_times.
        references = {route_id: set(stops) for route_id, stops in config.items()}
        reference_of_trip = {row[id_col]: references[row[route_col]] for row in trips.rows if row[route_col] in references}
        stops_of_trip: dict[str, list[tuple[int, str]]] = {}
        for row in stop_times.rows:
            try:
                sequence = int(row[seq_col])
            except ValueError:
                raise PreprocessError(f"{self.name}: stop_times.txt: stop_sequence {row[seq_col]!r} is not a number") from None
            reference_stops = reference_of_trip.get(row[trip_col])
            if reference_stops is not None and row[stop_col] in reference_stops:
                stops_of_trip.setdefault(row[trip_col], []).append((sequence, row[stop_col]))
        direction_col = trips.ensure_column("direction_id")
        for row in trips.edited_rows():
            reference = config.get(row[route_col])
            if reference is None:
                continue
            visited = [stop for _sequence, stop in sorted(stops_of_trip.get(row[id_col], []))]
            direction = self.direction(reference, visited)
            if direction is None:
                context.log(f"{self.name}: trip {row[id_col]!r} of route {row[route_col]!r} visits fewer than two "
                            "reference stops, direction_id left unchanged")
            else:
                row[direction_col] = direction
        return feed

    @staticmethod
    def direction(reference: list[str], visited: list[str]) -> str | None:
        """'0' or '1' by majority of consecutive reference pairs kept in order; None under two known stops."""
        first_visit: dict[str, int] = {}
        for position, stop in enumerate(visited):
            first_visit.setdefault(stop, position)
        known = [stop for stop in reference if stop in first_visit]
        if len(known) < 2:
            return None
        pairs = len(known) - 1
        forward = sum(1 for a, b in zip(known, known[1:], strict=False) if first_visit[b] > first_visit[a])
        return "1" if forward < pairs / 2 else "0"


class GtfsAgencyFile(Preprocess):
    """agency.txt from the catalog's params, per Tartare (tartare/processes/contributor/gtfs_agency_file.py
    and GtfsAgencyFileProcessParameters.apply_to_file_dict in tartare/core/models.py).

    Each agency field is the param when given, else the file's value, else (agency_url, agency_timezone
    only) navitia's default. More than one agency, or no agency_id in the params nor in the file, is an
    error. Beyond Tartare: columns of the file that are not agency params are kept, and routes with an
    empty agency_id get the agency's (merged coverages need them).
    """

    name: ClassVar[str] = "GtfsAgencyFile"
    agency_id: str = ""
    agency_name: str = ""
    agency_url: str = ""
    agency_timezone: str = ""
    agency_lang: str = ""
    agency_phone: str = ""
    agency_email: str = ""
    agency_fare_url: str = ""

    DEFAULTS: ClassVar[dict[str, str]] = {"agency_url": "https://www.navitia.io/", "agency_timezone": "Europe/Paris"}

    def apply(self, feed: Feed, context: PreprocessContext) -> Feed:
        params = self.model_dump(exclude={"data_source_ids"})
        agency = feed.table("agency.txt")
        file_values: dict[str, str] = {}
        extra_columns: list[str] = []
        if agency is not None and agency.rows:
            if len(agency.rows) > 1:
                raise PreprocessError(f"{self.name}: {feed.name}: agency.txt has {len(agency.rows)} agencies, expected one")
            file_values = dict(zip(agency.header, agency.rows[0], strict=True))
            extra_columns = [column for column in agency.header if column not in params]
        if not params["agency_id"] and not file_values.get("agency_id", "").strip():
            raise PreprocessError(
                f"{self.name}: {feed.name}: no agency_id in agency.txt nor in the params: give params.agency_id"
            )
        values = {
            key: param or file_values.get(key, "") or self.DEFAULTS.get(key, "") for key, param in params.items()
        }
        header = [*params, *extra_columns]
        feed.tables["agency.txt"] = Table("agency.txt", header, [[values.get(k, file_values.get(k, "")) for k in header]])
        agency_id = values["agency_id"]
        context.log(f"{self.name}: agency.txt written for agency {agency_id!r}")
        routes = feed.table("routes.txt")
        if routes is not None:
            index = routes.ensure_column("agency_id")
            for route in routes.edited_rows():
                if not route[index]:
                    route[index] = agency_id
        return feed


class HeadsignShortName(Preprocess):
    """Navitia shows trip_short_name as the train number. Tartare's rule, per trip, from its route's
    route_type (tartare/processes/contributor/headsign_short_name.py): metro (1) gets an empty
    trip_short_name; rail (2) whose route_id starts with `800:TER` gets its trip_headsign as short
    name; every other trip keeps its own; then trip_headsign is emptied for every trip.
    routes.txt, trips.txt or one of the columns missing is an error naming the file."""

    name: ClassVar[str] = "HeadsignShortName"
    METRO: ClassVar[str] = "1"
    RAIL: ClassVar[str] = "2"
    TER_PREFIX: ClassVar[str] = "800:TER"

    def apply(self, feed: Feed, context: PreprocessContext) -> Feed:
        for required in ("routes.txt", "trips.txt"):
            if feed.table(required) is None:
                raise PreprocessError(f"{self.name}: {feed.name}: {required} is missing")
        routes, trips = feed.require("routes.txt"), feed.require("trips.txt")
        for table, columns in ((routes, ("route_id", "route_type")), (trips, ("route_id", "trip_short_name", "trip_headsign"))):
            for column in columns:
                if not table.has(column):
                    raise PreprocessError(f'{self.name}: error in file "{table.name}": column "{column}" missing')
        route_types: dict[str, str] = {}
        for route_id, route_type in zip(routes.values("route_id"), routes.values("route_type"), strict=True):
            route_types.setdefault(route_id, route_type.strip())  # the first row of a route_id decides
        route_col, headsign_col, short_col = (
            trips.column("route_id"), trips.column("trip_headsign"), trips.column("trip_short_name")
        )
        for row in trips.edited_rows():
            route_type = route_types.get(row[route_col])
            if route_type == self.METRO:
                row[short_col] = ""
            elif route_type == self.RAIL and row[route_col].startswith(self.TER_PREFIX):
                row[short_col] = row[headsign_col]
            row[headsign_col] = ""
        return feed


def _regex_replacement(template: str) -> str:
    """Rust-style `${1}` group references to Python's `\\g<1>`."""
    return re.sub(r"\$\{(\w+)\}|\$(\d+)", lambda m: f"\\g<{m.group(1) or m.group(2)}>", template)


class Ruspell(Preprocess):
    """Rewrite stop names with ruspell rules (a YAML rules data source).

    Supported rules: RegexReplace, SnakeCase, UppercaseWord, LowercaseWord, FirstLetterUppercase,
    Decode (repairs names double-encoded in the given encoding), LogSuspicious. IspellCheck
    needs dictionaries the platform does not ship: it is skipped with a log line.
    """

    name: ClassVar[str] = "Ruspell"

    def _rules(self, context: PreprocessContext) -> list[Callable[[str], str]]:
        path = context.config_file(self.name, self.data_source_ids)
        try:
            config = load_yaml_file(path) or {}
        except YamlError as error:
            raise PreprocessError(f"{self.name}: invalid rules file: {error}") from None
        processes = config.get("processes") if isinstance(config, dict) else None
        if not isinstance(processes, list):
            raise PreprocessError(f"{self.name}: {path.name}: 'processes' must be a list of rules")
        rules: list[Callable[[str], str]] = []
        for index, entry in enumerate(processes):
            kind, params = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
            params = params or {}
            where = f"{self.name}: {path.name}: processes[{index}] {kind}"
            try:
                rules.append(self._rule(kind, params, context))
            except (re.error, KeyError, TypeError) as error:
                raise PreprocessError(f"{where}: {error}") from None
        return [rule for rule in rules if rule is not None]

    def _rule(self, kind: str, params: dict[str, Any], context: PreprocessContext) -> Callable[[str], str]:
        if kind == "RegexReplace":
            pattern, replacement = re.compile(params["from"]), _regex_replacement(params["to"])
            return lambda text: pattern.sub(replacement, text)
        if kind == "SnakeCase":
            return lambda text: re.sub(r"\w+", lambda m: m.group(0)[0].upper() + m.group(0)[1:].lower(), text)
        if kind in ("UppercaseWord", "LowercaseWord"):
            words = re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{w})" for w in params["words"]) + r")(?!\w)", re.IGNORECASE)
            change = str.upper if kind == "UppercaseWord" else str.lower
            return lambda text: words.sub(lambda m: change(m.group(0)), text)
        if kind == "FirstLetterUppercase":
            return lambda text: text[:1].upper() + text[1:]
        if kind == "Decode":
            encoding = params["from_encoding"]

            def decode(text: str) -> str:
                try:
                    return text.encode(encoding).decode("utf-8")
                except (UnicodeEncodeError, UnicodeDecodeError, LookupError):
                    return text

            return decode
        if kind == "LogSuspicious":
            pattern = re.compile(params["regex"])

            def log_suspicious(text: str) -> str:
                if pattern.search(text):
                    context.log(f"{self.name}: suspicious stop name {text!r}")
                return text

            return log_suspicious
        if kind == "IspellCheck":
            context.log(f"{self.name}: IspellCheck skipped (no spelling dictionary installed)")
            return lambda text: text
        raise KeyError(f"unknown rule {kind!r}")

    def apply(self, feed: Feed, context: PreprocessContext) -> Feed:
        rules = self._rules(context)
        stops = feed.require("stops.txt")
        name_col = stops.column("stop_name")
        for row in stops.edited_rows():
            text = row[name_col]
            for rule in rules:
                text = rule(text)
            row[name_col] = text
        return feed


class RemoveUnusedStops(Preprocess):
    """Drop stop points no stop_time uses, then stations left without any child."""

    name: ClassVar[str] = "RemoveUnusedStops"

    def apply(self, feed: Feed, context: PreprocessContext) -> Feed:
        stops = feed.require("stops.txt")
        stop_times = feed.require("stop_times.txt")
        stop_col = stop_times.column("stop_id")
        used = {row[stop_col] for row in stop_times.rows}  # one id at a time: stop_times may be spilled
        for table_name in ("transfers.txt", "pathways.txt"):
            table = feed.table(table_name)
            for column in ("from_stop_id", "to_stop_id"):
                if table is not None and table.has(column):
                    used.update(table.values(column))
        id_col = stops.column("stop_id")
        type_col = stops.column("location_type") if stops.has("location_type") else None
        parent_col = stops.column("parent_station") if stops.has("parent_station") else None

        def is_stop_point(row: list[str]) -> bool:
            return type_col is None or row[type_col].strip() in ("", "0")

        before = len(stops.rows)
        stops.keep(lambda row: not is_stop_point(row) or row[id_col] in used)
        parents = {row[parent_col] for row in stops.rows if parent_col is not None and is_stop_point(row)}
        # Stations (location_type 1) stay only while a kept stop point names them as parent.
        stops.keep(
            lambda row: is_stop_point(row) or row[type_col].strip() != "1" or row[id_col] in parents  # type: ignore[index]
        )
        removed = before - len(stops.rows)
        context.log(f"{self.name}: {removed} unused stop(s) removed")
        return feed


class ComputeODS(Preprocess):
    """Coverage preprocess: the open-data (ODS) archive's metadata; see publish.build_ods_archive."""

    name: ClassVar[str] = "ComputeODS"
    description: str = ""
    licence_name: str = ""
    licence_url: str = ""

    def apply(self, feed: Feed, context: PreprocessContext) -> Feed:
        return feed  # the archive is built from the saved export (service.export_coverage)


PREPROCESSES: dict[str, type[Preprocess]] = {
    cls.name: cls for cls in (ComputeDirections, GtfsAgencyFile, HeadsignShortName, Ruspell, RemoveUnusedStops, ComputeODS)
}


def build_preprocess(
    kind: str,
    params: dict[str, Any],
    data_source_ids: list[str],
    where: str = "",
    unknown_params: str = "refuse",
    log: Callable[[str], None] | None = None,
) -> Preprocess:
    """An instance of the preprocess named `kind`, its params validated (PreprocessError on bad ones).

    `unknown_params`: 'refuse' makes a param the class does not declare an error naming it;
    'ignore' drops it (logged), as Tartare does (its processes read params with dict.get)."""
    cls = PREPROCESSES.get(kind)
    prefix = f"{where}: " if where else ""
    if cls is None:
        raise PreprocessError(f"{prefix}unknown preprocess {kind!r} (one of: {', '.join(sorted(PREPROCESSES))})")
    if unknown_params == "ignore":
        known = set(cls.model_fields) - {"data_source_ids"}
        ignored = sorted(set(params) - known)
        if ignored and log is not None:
            log(f"{prefix}{kind}: unknown params ignored (as Tartare): {', '.join(ignored)}")
        params = {key: value for key, value in params.items() if key in known}
    try:
        return cls(**params, data_source_ids=list(data_source_ids))
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise PreprocessError(f"{prefix}{kind}: params.{key}: {first['msg']}") from None
    except TypeError as error:
        raise PreprocessError(f"{prefix}{kind}: bad params: {error}") from None
