"""The local `.xlsx` workbook backend (the embedded default), written with openpyxl.

The workbook is written to a temporary file beside the target, then renamed over it (readers
never see half a workbook); tabs not written are kept. Each written tab gets a bold, frozen header,
an autofilter, widths fitted to the content, highlighted rows, dates as dates, and a landscape,
fit-to-width page setup so it prints readably.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from platform_assets.core.errors import SheetsError
from platform_assets.dataset_tracker.sheets.base import (
    SheetTab,
    Tabs,
    TrackerSheets,
    as_tab,
    column_widths,
    keep_curator_columns,
    one_line,
)

# Excel refuses cells over 32,767 characters.
XLSX_CELL_LIMIT = 32_767
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


class LocalWorkbookSheets(TrackerSheets):
    """Writes the tracker sheet to a local workbook (PLATFORM_SHEETS_BACKEND=local)."""

    workbook_path: str = Field(default="var/data/tracker.xlsx", description="Local workbook (PLATFORM_SHEETS_WORKBOOK).")

    @property
    def backend(self) -> str:
        return "local"

    def _path(self) -> Path:
        return Path(self.workbook_path).absolute()

    def _load(self) -> Any:
        from openpyxl import load_workbook

        path = self._path()
        if not path.exists():
            return None
        try:
            return load_workbook(path)
        except Exception as error:  # openpyxl raises many types for a damaged file
            raise SheetsError(
                f"PLATFORM_SHEETS_WORKBOOK={path}: cannot open the existing workbook"
                f" ({one_line(error)}); move it away to start a new one"
            ) from None

    def read_tab(self, title: str) -> tuple[list[Any], list[list[Any]]] | None:
        workbook = self._load()
        if workbook is None or title not in workbook.sheetnames:
            return None
        rows = [list(row) for row in workbook[title].iter_rows(values_only=True)]
        return (rows[0] if rows else []), rows[1:]

    def replace_tabs(self, tabs: Tabs) -> str:
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font, PatternFill
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.properties import PageSetupProperties

        path = self._path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SheetsError(f"PLATFORM_SHEETS_WORKBOOK={path}: cannot create its folder: {error}") from None
        workbook = self._load()
        if workbook is None:
            workbook = Workbook()
            if workbook.active is not None:
                workbook.remove(workbook.active)

        def clean(value: Any) -> Any:
            if value is None or isinstance(value, bool | int | float | datetime | date):
                return value.replace(tzinfo=None) if isinstance(value, datetime) else value
            return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:XLSX_CELL_LIMIT]

        bold = Font(bold=True)
        for title, given in tabs.items():
            tab: SheetTab = as_tab(given)
            position = workbook.sheetnames.index(title) if title in workbook.sheetnames else None
            if position is not None:
                old = [list(row) for row in workbook[title].iter_rows(values_only=True)]
                if old:
                    tab = keep_curator_columns(tab, old[0], old[1:])
                workbook.remove(workbook[title])
            sheet = workbook.create_sheet(title, position)
            sheet.append([clean(name) for name in tab.header])
            for cell in sheet[1]:
                cell.font = bold
            for row in tab.rows:
                sheet.append([clean(value) for value in row])
            for index, row in enumerate(tab.rows):
                for column, value in enumerate(row, start=1):
                    if isinstance(value, datetime | date):
                        cell = sheet.cell(row=index + 2, column=column)
                        cell.number_format = DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT
            for index, colour in tab.row_fills.items():
                fill = PatternFill(fill_type="solid", start_color=colour, end_color=colour)
                for column in range(1, len(tab.header) + 1):
                    sheet.cell(row=index + 2, column=column).fill = fill
            sheet.freeze_panes = "A2"
            for index, width in enumerate(column_widths(tab.header, tab.rows), start=1):
                sheet.column_dimensions[get_column_letter(index)].width = width
            if tab.header:
                sheet.auto_filter.ref = f"A1:{get_column_letter(len(tab.header))}{max(len(tab.rows) + 1, 1)}"
            # Printed: landscape, every column on one page width, as many pages tall as needed.
            sheet.page_setup.orientation = "landscape"
            sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
            sheet.page_setup.fitToWidth = 1
            sheet.page_setup.fitToHeight = 0
            sheet.print_title_rows = "1:1"

        handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent)
        os.close(handle)
        try:
            workbook.save(temporary)
            os.replace(temporary, path)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise SheetsError(f"PLATFORM_SHEETS_WORKBOOK={path}: cannot write: {error}") from None
        return path.as_uri()
