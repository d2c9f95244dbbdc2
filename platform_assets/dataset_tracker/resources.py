"""The dataset tracker's settings, as resources: its sources config and its sheet backend."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dagster import ConfigurableResource

from platform_assets.core.errors import SettingsError
from platform_assets.core.settings import SettingSpec, configure, setting
from platform_assets.core.sheets import Sheets
from platform_assets.dataset_tracker.config import SourcesConfig, load_sources_config


class TrackerSources(ConfigurableResource):
    """Where the sources config (dataset folders, listings, stages) is."""

    config_path: str = setting(
        "PLATFORM_SOURCES_CONFIG",
        "{package}/dataset_tracker/demo/sources_config.yaml",
        "Dataset-tracker sources configuration.",
    )

    @property
    def path(self) -> Path:
        return Path(self.config_path).absolute()

    def load(self) -> SourcesConfig:
        return load_sources_config(self.path)


SHEETS_BACKEND = SettingSpec("PLATFORM_SHEETS_BACKEND", "local", "Tracker sheet backend.", choices=("local", "gspread"))
# The sheet's fields, by backend (the Sheets resource's field -> its setting).
SHEETS_SETTINGS: dict[str, SettingSpec] = {
    "backend": SHEETS_BACKEND,
    "workbook_path": SettingSpec("PLATFORM_SHEETS_WORKBOOK", "{data_dir}/tracker.xlsx", "Local workbook path (local backend)."),
    "credentials_file": SettingSpec("PLATFORM_GSHEETS_CREDENTIALS", "", "Service-account JSON file (gspread backend)."),
    "spreadsheet_key": SettingSpec("PLATFORM_GSHEETS_SPREADSHEET", "", "Spreadsheet key (gspread backend)."),
    "api_base_url": SettingSpec(
        "PLATFORM_GSHEETS_API_URL", "", "Sheets-compatible API base URL (gspread backend); empty: Google's."
    ),
}


def sheets_resource(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> Sheets:
    """The tracker sheet of this deployment (PLATFORM_SHEETS_BACKEND)."""
    if SHEETS_BACKEND.read(env) == "gspread":
        for name in ("credentials_file", "spreadsheet_key"):
            spec = SHEETS_SETTINGS[name]
            if not spec.read(env):
                raise SettingsError(spec.name, "required when PLATFORM_SHEETS_BACKEND=gspread")
    return configure(Sheets, env, resolve=resolve, specs=SHEETS_SETTINGS)
