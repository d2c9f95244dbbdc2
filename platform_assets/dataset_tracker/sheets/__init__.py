"""The tracker sheet's backends, one class per backend behind one interface (`TrackerSheets`):
`LocalWorkbookSheets` (a local .xlsx workbook, the embedded default) and `GoogleSheets` (gspread)."""

from platform_assets.core.errors import SheetsError
from platform_assets.dataset_tracker.sheets.base import (
    DUPLICATE_FILL,
    WARNING_FILL,
    SheetTab,
    Tabs,
    TrackerSheets,
    as_tab,
    column_widths,
    keep_curator_columns,
)
from platform_assets.dataset_tracker.sheets.google import (
    GoogleSheets,
    batch_update_body,
    staged_batch_update_bodies,
)
from platform_assets.dataset_tracker.sheets.local import LocalWorkbookSheets

SHEETS_BACKENDS = ("local", "gspread")


def tracker_sheets(
    backend: str,
    workbook_path: str = "var/data/tracker.xlsx",
    credentials_file: str = "",
    spreadsheet_key: str = "",
    api_base_url: str = "",
) -> TrackerSheets:
    """The backend named `backend` with its fields (plain values: the caller reads the settings)."""
    if backend == "local":
        return LocalWorkbookSheets(workbook_path=workbook_path)
    if backend == "gspread":
        return GoogleSheets(credentials_file=credentials_file, spreadsheet_key=spreadsheet_key, api_base_url=api_base_url)
    raise SheetsError(f"PLATFORM_SHEETS_BACKEND: {backend!r} is not one of: {', '.join(SHEETS_BACKENDS)}")


__all__ = [
    "DUPLICATE_FILL", "WARNING_FILL", "GoogleSheets", "LocalWorkbookSheets", "SheetTab", "Tabs", "TrackerSheets",
    "as_tab", "batch_update_body", "column_widths", "keep_curator_columns", "staged_batch_update_bodies",
    "tracker_sheets",
]
