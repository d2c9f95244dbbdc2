"""The transit catalog: contributors, their data sources and preprocesses, coverages and their
publication platforms, loaded from YAML and validated with errors naming the file and bad key.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from platform_assets.lib.yamlfile import YamlError, parse_yaml
from platform_assets.transit.errors import CatalogError
from platform_assets.transit.unknown_params import UNKNOWN_PARAM_MODES

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# Data formats saved and published unchanged (Tartare's ntfs, osm_file and poly_file,
# tartare/core/constants.py): no GTFS reading, no preprocess, no merge.
PASS_THROUGH_FORMATS = ("ntfs", "osm_file", "poly_file")
FORMAT_ALIASES = {"osm": "osm_file", "poly": "poly_file"}
# A platform's input_data_source_ids entry naming the coverage's merged GTFS export.
COVERAGE_EXPORT_INPUT = "export"
ENVIRONMENT_NAMES = ("integration", "preproduction", "production")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Model):
    username: str
    password: str = ""
    password_env: str = Field(default="", description="Read the password from this environment variable.")

    def resolved_password(self) -> str:
        return os.environ.get(self.password_env, "") if self.password_env else self.password


class Frequency(_Model):
    """How often a source is checked: continuously every N minutes, daily, weekly or monthly at an hour."""

    type: Literal["continuously", "daily", "weekly", "monthly"]
    minutes: int = Field(default=60, ge=1)
    hour_of_day: int = Field(default=20, ge=0, le=23)
    day_of_week: int = Field(default=0, ge=0, le=6, description="0 = Monday")
    day_of_month: int = Field(default=1, ge=1, le=28)


class Input(_Model):
    type: Literal["url", "manual", "computed"]
    url: str = ""
    frequency: Frequency | None = None
    auth: Auth | None = None

    @model_validator(mode="after")
    def _url_needed(self) -> Input:
        if self.type == "url" and not self.url:
            raise ValueError("url is required when type is 'url'")
        return self


class License(_Model):
    name: str = ""
    url: str = ""


class DataSource(_Model):
    id: str = Field(pattern=ID_PATTERN)
    name: str = ""
    data_format: Literal[
        "gtfs", "direction_config", "ruspell_config", "ruspell_bano", "code_table", "ntfs", "osm_file", "poly_file"
    ] = "gtfs"
    input: Input
    license: License = License()

    @field_validator("data_format", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> Any:
        return FORMAT_ALIASES.get(value, value) if isinstance(value, str) else value

    @property
    def passes_through(self) -> bool:
        return self.data_format in PASS_THROUGH_FORMATS


class PreprocessSpec(_Model):
    type: str
    sequence: int = 0
    params: dict[str, Any] = Field(default_factory=dict)
    data_source_ids: list[str] = Field(default_factory=list)
    enabled: bool = True
    target_data_source_id: str = Field(
        default="",
        description="Tartare's computed data sources: the feed this preprocess produces is saved as a new data "
        "set of this `computed` gtfs source of the contributor (when it changed), and the steps after it read "
        "that data set.",
    )


class Contributor(_Model):
    id: str = Field(pattern=ID_PATTERN)
    name: str = ""
    data_prefix: str = Field(pattern=ID_PATTERN)
    data_sources: list[DataSource] = Field(min_length=1)
    preprocesses: list[PreprocessSpec] = Field(default_factory=list)
    future_versions: Literal["wait", "publish"] = Field(
        default="wait",
        description="A new GTFS version whose validity starts after today: 'wait' keeps it and exports it on "
        "its start date (the version in use stays published); 'publish' exports it at once (Tartare).",
    )

    @model_validator(mode="after")
    def _references(self) -> Contributor:
        ids = [source.id for source in self.data_sources]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate data source id in {ids}")
        for preprocess in self.preprocesses:
            for source_id in preprocess.data_source_ids:
                if source_id not in ids:
                    raise ValueError(f"preprocess {preprocess.type} names unknown data source {source_id!r}")
        self._check_computed()
        if not self.gtfs_sources:
            if not self.pass_through_sources:
                raise ValueError(
                    "needs at least one data source with data_format 'gtfs' (or passed through: "
                    f"{', '.join(PASS_THROUGH_FORMATS)})"
                )
            if self.preprocesses:
                raise ValueError("preprocesses need a 'gtfs' data source: this contributor has none")
        return self

    def _check_computed(self) -> None:
        """Each computed source is written by one preprocess, and a preprocess writes only into a
        computed gtfs source (Tartare: target_data_source_id, tartare/core/models.py)."""
        writers: dict[str, list[str]] = {}
        for preprocess in self.preprocesses:
            target = preprocess.target_data_source_id
            if not target:
                continue
            source = next((s for s in self.data_sources if s.id == target), None)
            if source is None:
                raise ValueError(f"preprocess {preprocess.type} target_data_source_id: no data source {target!r}")
            if source.input.type != "computed" or source.data_format != "gtfs":
                raise ValueError(
                    f"preprocess {preprocess.type} target_data_source_id: {target!r} must have input type 'computed' "
                    f"and data_format 'gtfs' (it has {source.input.type!r}, {source.data_format!r})"
                )
            if target in preprocess.data_source_ids:
                raise ValueError(f"preprocess {preprocess.type}: {target!r} is both its target and one of its data_source_ids")
            writers.setdefault(target, []).append(preprocess.type)
        for source in self.data_sources:
            if source.input.type == "computed" and len(writers.get(source.id, [])) != 1:
                raise ValueError(
                    f"computed data source {source.id!r} needs exactly one preprocess with target_data_source_id "
                    f"{source.id!r}, found {len(writers.get(source.id, []))}"
                )

    def source(self, source_id: str) -> DataSource:
        for source in self.data_sources:
            if source.id == source_id:
                return source
        raise CatalogError(f"contributor {self.id!r} has no data source {source_id!r}")

    @property
    def gtfs_sources(self) -> list[DataSource]:
        """The GTFS sources fetched and read as the contributor's input (computed ones are written by preprocesses)."""
        return [source for source in self.data_sources if source.data_format == "gtfs" and source.input.type != "computed"]

    @property
    def computed_sources(self) -> list[DataSource]:
        return [source for source in self.data_sources if source.input.type == "computed"]

    @property
    def pass_through_sources(self) -> list[DataSource]:
        return [source for source in self.data_sources if source.passes_through]


class PlatformAuthent(_Model):
    """Tartare's spelling of a platform's credentials (`options.authent`, tartare/core/models.py)."""

    username: str
    password: str = ""


class PlatformOptions(_Model):
    """Every option a publication platform may have; which protocol uses which is in OPTIONS_BY_PROTOCOL.

    An unknown key (`user` for `username`) is a catalog error, never a silent anonymous upload.
    """

    username: str = ""
    password: str = ""
    password_env: str = Field(default="", description="Read the password from this environment variable.")
    authent: PlatformAuthent | None = Field(default=None, description="Tartare's form of username/password.")
    directory: str = Field(default="", description="FTP: folder to upload into (Tartare), below the URL's path.")
    field: str = Field(default="", description="HTTP: multipart field name of the file (default 'file').")
    endpoint_url: str = Field(default="", description="S3: endpoint of an S3-compatible store.")
    region: str = Field(default="", description="S3: region (default us-east-1).")
    download_url: str = Field(default="", description="ODS: the portal's download link put in the metadata.")

    def credentials(self) -> tuple[str, str]:
        """(username, password): `authent` first (Tartare), then username/password(_env)."""
        if self.authent is not None:
            return self.authent.username, self.authent.password
        password = os.environ.get(self.password_env, "") if self.password_env else self.password
        return self.username, password

    def for_delivery(self) -> dict[str, str]:
        """The plain options publish.deliver reads (credentials resolved, empty ones left out)."""
        username, password = self.credentials()
        values = {"username": username, "password": password, "directory": self.directory, "field": self.field,
                  "endpoint_url": self.endpoint_url, "region": self.region}
        return {key: value for key, value in values.items() if value}


_CREDENTIALS = {"username", "password", "password_env", "authent"}
OPTIONS_BY_PROTOCOL: dict[str, set[str]] = {
    "http": _CREDENTIALS | {"field", "download_url"},
    "https": _CREDENTIALS | {"field", "download_url"},
    "ftp": _CREDENTIALS | {"directory", "download_url"},
    "s3": {"endpoint_url", "region", "download_url"},
    "file": {"download_url"},
}


class Platform(_Model):
    sequence: int = 0
    type: Literal["navitia", "ods", "stop_area"]
    protocol: Literal["http", "https", "ftp", "s3", "file"]
    url: str
    options: PlatformOptions = PlatformOptions()
    input_data_source_ids: list[str] | None = Field(
        default=None,
        description="What this platform publishes (Tartare's name): 'export' (the coverage's GTFS) and/or "
        "'<contributor>/<source>' pass-through sources. Unset: navitia gets the export plus osm_file and "
        "poly_file sources, ods the export plus ntfs sources, stop_area the export's stops.",
    )

    @model_validator(mode="after")
    def _options_fit_the_protocol(self) -> Platform:
        allowed = OPTIONS_BY_PROTOCOL[self.protocol]
        for key in sorted(self.options.model_fields_set - allowed):
            raise ValueError(
                f"options.{key}: not an option of protocol {self.protocol!r} (its options: {', '.join(sorted(allowed))})"
            )
        if self.options.download_url and self.type != "ods":
            raise ValueError(f"options.download_url: only ods platforms announce a download link, not {self.type!r}")
        return self


class Environment(_Model):
    sequence: int = 0
    publication_platforms: list[Platform] = Field(default_factory=list)


class Coverage(_Model):
    id: str = Field(pattern=ID_PATTERN)
    name: str = ""
    contributors: list[str] = Field(min_length=1)
    preprocesses: list[PreprocessSpec] = Field(default_factory=list)
    environments: dict[str, Environment] = Field(default_factory=dict)
    license: License = License()

    @field_validator("preprocesses")
    @classmethod
    def _no_coverage_target(cls, value: list[PreprocessSpec]) -> list[PreprocessSpec]:
        for preprocess in value:
            if preprocess.target_data_source_id:
                raise ValueError(f"preprocess {preprocess.type}: target_data_source_id names a contributor's computed "
                                 "data source; a coverage preprocess has none")
        return value

    @field_validator("environments")
    @classmethod
    def _environment_names(cls, value: dict[str, Environment]) -> dict[str, Environment]:
        for name in value:
            if name not in ENVIRONMENT_NAMES:
                raise ValueError(f"environment {name!r} is not one of: {', '.join(ENVIRONMENT_NAMES)}")
        return value

    def ordered_environments(self) -> list[tuple[str, Environment]]:
        return sorted(self.environments.items(), key=lambda item: item[1].sequence)


class Catalog(_Model):
    today: date | None = Field(
        default=None, description="Pin 'today' for the validity rules (replaying archived feeds, the demo)."
    )
    contributors: list[Contributor] = Field(default_factory=list)
    coverages: list[Coverage] = Field(default_factory=list)
    base_dir: str = Field(default="", exclude=True, description="Folder relative file paths start from.")
    # A deployment setting, not a catalog key: set by load_catalog from TransitSettings.
    _unknown_preprocess_params: str = PrivateAttr(default="refuse")

    @property
    def unknown_preprocess_params(self) -> str:
        """'refuse' or 'ignore' (see UNKNOWN_PARAM_MODES)."""
        return self._unknown_preprocess_params

    def with_unknown_preprocess_params(self, mode: str) -> Catalog:
        if mode not in UNKNOWN_PARAM_MODES:
            raise CatalogError(f"unknown preprocess params: {mode!r} is not one of {', '.join(UNKNOWN_PARAM_MODES)}")
        copy = self.model_copy()
        copy._unknown_preprocess_params = mode
        return copy

    @model_validator(mode="after")
    def _references(self) -> Catalog:
        contributor_ids = [c.id for c in self.contributors]
        if len(set(contributor_ids)) != len(contributor_ids):
            raise ValueError(f"duplicate contributor id in {contributor_ids}")
        prefixes = [c.data_prefix for c in self.contributors]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f"duplicate data_prefix in {prefixes}")
        coverage_ids = [c.id for c in self.coverages]
        if len(set(coverage_ids)) != len(coverage_ids):
            raise ValueError(f"duplicate coverage id in {coverage_ids}")
        for coverage in self.coverages:
            for contributor_id in coverage.contributors:
                if contributor_id not in contributor_ids:
                    raise ValueError(f"coverage {coverage.id!r} names unknown contributor {contributor_id!r}")
            self._check_pass_through(coverage)
        return self

    def _check_pass_through(self, coverage: Coverage) -> None:
        """One source per pass-through format in a coverage (Tartare: one osm and one poly per coverage,
        one data source per format in an ODS publication); platforms name only sources it has."""
        by_format: dict[str, list[str]] = {}
        for contributor_id in coverage.contributors:
            for source in self.contributor(contributor_id).pass_through_sources:
                by_format.setdefault(source.data_format, []).append(f"{contributor_id}/{source.id}")
        for data_format, names in by_format.items():
            if len(names) > 1:
                raise ValueError(f"coverage {coverage.id!r}: {len(names)} {data_format} sources ({', '.join(names)}), at most one")
        known = {COVERAGE_EXPORT_INPUT, *(name for names in by_format.values() for name in names)}
        for environment_name, environment in coverage.environments.items():
            for platform in environment.publication_platforms:
                for name in platform.input_data_source_ids or []:
                    if name not in known:
                        raise ValueError(
                            f"coverage {coverage.id!r} {environment_name} platform {platform.sequence}: "
                            f"input_data_source_ids: {name!r} is not one of {sorted(known)}"
                        )
                if platform.type == "stop_area" and (platform.input_data_source_ids or [COVERAGE_EXPORT_INPUT]) != [
                    COVERAGE_EXPORT_INPUT
                ]:
                    raise ValueError(
                        f"coverage {coverage.id!r} {environment_name} platform {platform.sequence}: "
                        "a stop_area platform publishes only the export's stops"
                    )

    def pass_through_source(self, name: str) -> tuple[Contributor, DataSource]:
        """The contributor and source named `<contributor>/<source>`."""
        contributor_id, _, source_id = name.partition("/")
        contributor = self.contributor(contributor_id)
        return contributor, contributor.source(source_id)

    def contributor(self, contributor_id: str) -> Contributor:
        for contributor in self.contributors:
            if contributor.id == contributor_id:
                return contributor
        raise CatalogError(f"no contributor {contributor_id!r} in the catalog")

    def coverage(self, coverage_id: str) -> Coverage:
        for coverage in self.coverages:
            if coverage.id == coverage_id:
                return coverage
        raise CatalogError(f"no coverage {coverage_id!r} in the catalog")

    def coverages_of(self, contributor_id: str) -> list[Coverage]:
        return [coverage for coverage in self.coverages if contributor_id in coverage.contributors]

    def resolve_path(self, location: str) -> str:
        """A file path relative to the catalog's folder (URLs unchanged)."""
        if "://" in location:
            return location
        path = Path(location)
        return str(path if path.is_absolute() or not self.base_dir else Path(self.base_dir) / path)


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def parse_catalog(data: Any, source: str, base_dir: str = "") -> Catalog:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CatalogError(f"{source}: expected a mapping with 'contributors' and 'coverages'")
    try:
        return Catalog.model_validate({**data, "base_dir": base_dir})
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise CatalogError(f"{source}: {_location(first['loc'])}: {message}") from None


def load_catalog(path: str | Path, unknown_preprocess_params: str = "refuse") -> Catalog:
    """Read and validate the catalog; CatalogError names the file and the bad key.
    `unknown_preprocess_params`: 'refuse' or 'ignore' (Tartare's behaviour)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(f"{path}: catalog file not found (PLATFORM_CATALOG)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path}: cannot read the catalog: {error}") from None
    try:
        data = parse_yaml(text, str(path))
    except YamlError as error:
        raise CatalogError(str(error)) from None
    catalog = parse_catalog(data, str(path), str(path.parent.absolute()))
    return catalog if unknown_preprocess_params == "refuse" else catalog.with_unknown_preprocess_params(unknown_preprocess_params)
