"""The dataset tracker's `sources_config`: where datasets live, per stage of ingestion.

A YAML or JSON file (PLATFORM_SOURCES_CONFIG) such as::

    accession_pattern: "E-[A-Z]{4}-[0-9]+"      # default for every source
    sources:
      - name: geo_listing
        stage: external
        listing: external/geo.txt                 # one accession per line (optional TAB title)
        technology: microarray
        resource: GEO
      - name: incoming_rnaseq
        stage: incoming
        folder: incoming/rnaseq                   # one entry (folder or IDF file) per accession
        technology: rna-seq
        resource: atlas
      - name: atlas_dev
        stage: [processed, published_dev]         # a range: the place does not tell which of them
        url: https://dev.example.org/json/experiments
        format: atlas_json                        # {"experiments": [{"experimentAccession": ...}]}

Relative folders and listings are resolved against the config file's own folder.
The stages, a source covering a range of stages, and the Atlas JSON listing follow the EBI
ingest-tracker (app/lib/statusCrawl.py, app/lib/trackerBuild.py's status_type_order).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from platform_assets.dataset_tracker.errors import SourcesConfigError
from platform_assets.dataset_tracker.stages import Stage
from platform_assets.lib.yamlfile import YamlError, parse_yaml


def _check_pattern(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"{value!r} is not a regular expression: {error}") from None
    return value


LISTING_FORMATS = ("text", "atlas_json")


class SourceConfig(BaseModel):
    """One place datasets are found: a folder, a listing file or an HTTP listing, at one stage or a
    range of stages (`stage: [analysing, processed]`: `stage` is then the most advanced of them and
    `stages` all of them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    stage: Stage
    stages: tuple[Stage, ...] = ()
    folder: Path | None = None
    listing: Path | None = None
    url: str | None = None
    format: str = Field(default="text", description="Listing format: text (one accession per line) or atlas_json.")
    accession_pattern: str | None = None
    technology: str = ""
    resource: str = ""

    @model_validator(mode="before")
    @classmethod
    def _stage_range(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("stage"), list | tuple):
            if "stages" in data:
                raise ValueError("give `stage` as one stage or a list, not `stages` as well")
            listed = data["stage"]
            if not listed:
                raise ValueError("stage: an empty list names no stage")
            parsed = sorted({value if isinstance(value, Stage) else Stage.parse(str(value)) for value in listed})
            return {**data, "stage": parsed[-1], "stages": tuple(parsed)}
        if isinstance(data, dict) and "stage" in data and not data.get("stages"):
            return {**data, "stages": (data["stage"],)}
        return data

    @field_validator("stages", mode="before")
    @classmethod
    def _parse_stages(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(item if isinstance(item, Stage) else Stage.parse(str(item)) for item in value)
        return value

    @model_validator(mode="after")
    def _stage_is_the_last(self) -> SourceConfig:
        if self.stages and self.stage != max(self.stages):
            raise ValueError("stage must be the most advanced of stages (give `stage` as a list instead)")
        return self

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in LISTING_FORMATS:
            raise ValueError(f"{value!r} is not one of: {', '.join(LISTING_FORMATS)}")
        return value

    @property
    def min_stage(self) -> Stage:
        return self.stages[0] if self.stages else self.stage

    @property
    def stage_label(self) -> str:
        """`processed` or, for a range, `processed..published_dev`."""
        return self.stage.name if len(self.stages) <= 1 else f"{self.stages[0].name}..{self.stages[-1].name}"

    @field_validator("stage", mode="before")
    @classmethod
    def _stage(cls, value: Any) -> Stage:
        if isinstance(value, Stage):
            return value
        return Stage.parse(str(value))

    @field_validator("accession_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return _check_pattern(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _one_location(self) -> SourceConfig:
        given = [key for key in ("folder", "listing", "url") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of folder, listing, url (got {', '.join(given) or 'none'})")
        if self.folder is not None and self.format != "text":
            raise ValueError("format applies to a listing or url, not to a folder")
        return self

    @property
    def location(self) -> str:
        return str(self.folder or self.listing or self.url)


class SourcesConfig(BaseModel):
    """Every source, with the default accession pattern."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accession_pattern: str = r"E-[A-Z]{4}-[0-9]+"
    sources: tuple[SourceConfig, ...] = Field(min_length=1)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("accession_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        checked = _check_pattern(value)
        assert checked is not None
        return checked

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesConfig:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice")
            seen.add(source.name)
        return self

    def pattern_of(self, source: SourceConfig) -> re.Pattern[str]:
        return re.compile(source.accession_pattern or self.accession_pattern)

    def folder_sources(self) -> list[SourceConfig]:
        return [source for source in self.sources if source.folder is not None]


def _describe(error: ValidationError, raw: Any) -> str:
    """The first problem, naming the entry (by index and name) and the field."""
    first = error.errors()[0]
    location = list(first["loc"])
    where = ""
    if len(location) >= 2 and location[0] == "sources" and isinstance(location[1], int):
        index = location[1]
        name = None
        if isinstance(raw, dict) and isinstance(raw.get("sources"), list) and index < len(raw["sources"]):
            entry = raw["sources"][index]
            name = entry.get("name") if isinstance(entry, dict) else None
        where = f"sources[{index}]" + (f" ({name})" if name else "")
        location = location[2:]
    field = ".".join(str(part) for part in location)
    message = str(first["msg"]).removeprefix("Value error, ")
    return ": ".join(part for part in (where, field, message) if part)


def parse_sources_config(raw: Any, base_dir: Path, origin: str = "sources_config") -> SourcesConfig:
    """Validate a decoded config; resolve relative paths against `base_dir`."""
    if not isinstance(raw, dict):
        raise SourcesConfigError(f"{origin}: expected a mapping with a `sources` list")
    try:
        config = SourcesConfig.model_validate(raw)
    except ValidationError as error:
        raise SourcesConfigError(f"{origin}: {_describe(error, raw)}") from None

    def resolve(path: Path | None) -> Path | None:
        return None if path is None else (path if path.is_absolute() else (base_dir / path)).resolve()

    sources = tuple(
        source.model_copy(update={"folder": resolve(source.folder), "listing": resolve(source.listing)})
        for source in config.sources
    )
    return config.model_copy(update={"sources": sources})


def load_sources_config(path: str | Path) -> SourcesConfig:
    """Read and validate a YAML or JSON sources config; SourcesConfigError names the file and entry."""
    path = Path(path).absolute()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SourcesConfigError(f"PLATFORM_SOURCES_CONFIG={path}: cannot read: {error}") from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else parse_yaml(text, str(path))
    except json.JSONDecodeError as error:
        first_line = str(error).strip().splitlines()[0]
        raise SourcesConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {first_line}") from None
    except YamlError as error:
        detail = str(error).removeprefix(f"{path}: ")
        raise SourcesConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {detail}") from None
    config = parse_sources_config(raw, path.parent, origin=str(path))
    return config.model_copy(update={"path": path})
