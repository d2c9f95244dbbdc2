"""The dataset tracker's settings, as resources: its sources config and its sheet backend."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource

from platform_assets.core.errors import SettingsError
from platform_assets.core.settings import SettingSpec, configure, setting
from platform_assets.dataset_tracker.sheets import GoogleSheets, LocalWorkbookSheets, TrackerSheets

if TYPE_CHECKING:
    from platform_assets.dataset_tracker.config import SourcesConfig


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
        from platform_assets.dataset_tracker.config import load_sources_config

        return load_sources_config(self.path)


SHEETS_BACKEND = SettingSpec("PLATFORM_SHEETS_BACKEND", "local", "Tracker sheet backend.", choices=("local", "gspread"))
# The settings of each backend class's fields (the classes live in dataset_tracker/sheets/).
LOCAL_SETTINGS: dict[str, SettingSpec] = {
    "workbook_path": SettingSpec("PLATFORM_SHEETS_WORKBOOK", "{data_dir}/tracker.xlsx", "Local workbook path (local backend)."),
}
GOOGLE_SETTINGS: dict[str, SettingSpec] = {
    "credentials_file": SettingSpec("PLATFORM_GSHEETS_CREDENTIALS", "", "Service-account JSON file (gspread backend)."),
    "spreadsheet_key": SettingSpec("PLATFORM_GSHEETS_SPREADSHEET", "", "Spreadsheet key (gspread backend)."),
    "api_base_url": SettingSpec(
        "PLATFORM_GSHEETS_API_URL", "", "Sheets-compatible API base URL (gspread backend); empty: Google's."
    ),
}
SHEETS_SETTINGS: tuple[SettingSpec, ...] = (SHEETS_BACKEND, *LOCAL_SETTINGS.values(), *GOOGLE_SETTINGS.values())


def sheets_resource(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> TrackerSheets:
    """The tracker sheet of this deployment: one class per backend (PLATFORM_SHEETS_BACKEND)."""
    if SHEETS_BACKEND.read(env) == "gspread":
        for spec in (GOOGLE_SETTINGS["credentials_file"], GOOGLE_SETTINGS["spreadsheet_key"]):
            if not spec.read(env):
                raise SettingsError(spec.name, "required when PLATFORM_SHEETS_BACKEND=gspread")
        return configure(GoogleSheets, env, resolve=resolve, specs=GOOGLE_SETTINGS)
    return configure(LocalWorkbookSheets, env, resolve=resolve, specs=LOCAL_SETTINGS)
