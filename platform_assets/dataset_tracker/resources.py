"""The dataset tracker's resources, built from settings (the `sheets` resource: one backend class each)."""

from __future__ import annotations

from platform_assets.core.settings import Settings
from platform_assets.dataset_tracker.sheets import TrackerSheets, tracker_sheets


def build_sheets(settings: Settings) -> TrackerSheets:
    """`LocalWorkbookSheets(workbook_path)` or `GoogleSheets(credentials_file, spreadsheet_key, api_base_url)`."""
    return tracker_sheets(
        settings.sheets_backend,
        workbook_path=str(settings.sheets_workbook),
        credentials_file=settings.gsheets_credentials,
        spreadsheet_key=settings.gsheets_spreadsheet,
        api_base_url=settings.value("PLATFORM_GSHEETS_API_URL"),
    )
