"""What every tracker-sheet backend shares: the tab to write, the interface, and the rules that do
not depend on where the sheet lives (column widths, curator columns kept across rewrites).

A write replaces whole tabs (idempotent re-runs: nothing is ever appended twice). A tab may name a
key column and curator columns (owner, priority, notes): their values are read from the tab as it
is before the write and put back on the row with the same key, so a rewrite never loses what a
curator typed. Rows may be highlighted (the ingest-tracker colours its WARNING rows red,
app/lib/trackerBuild.py); datetime values are written as real dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from dagster import ConfigurableResource

Rows = Sequence[Sequence[Any]]

# Row colours (RGB hex) by meaning.
WARNING_FILL = "F4CCCC"  # light red: a row with warnings
DUPLICATE_FILL = "FCE5CD"  # light orange: a possible duplicate


@dataclass(frozen=True)
class SheetTab:
    """One tab: header, rows, optional row colours (row index -> RGB hex), the key column and the
    curator columns kept across rewrites."""

    header: Sequence[str]
    rows: Rows
    row_fills: Mapping[int, str] = field(default_factory=dict)
    key_column: str | None = None
    kept_columns: tuple[str, ...] = ()


TabLike = SheetTab | tuple[Sequence[str], Rows]
Tabs = Mapping[str, TabLike]


def as_tab(value: TabLike) -> SheetTab:
    if isinstance(value, SheetTab):
        return value
    header, rows = value
    return SheetTab(header, rows)


def _blank(value: Any) -> bool:
    return value is None or value == ""


def keep_curator_columns(tab: SheetTab, existing_header: Sequence[Any], existing_rows: Rows) -> SheetTab:
    """`tab` with its kept columns filled from the existing tab's rows of the same key (a value the
    new rows already carry wins). Rows whose key is gone lose their notes with them."""
    if not tab.kept_columns or tab.key_column is None:
        return tab
    names = [str(name) if name is not None else "" for name in existing_header]
    if tab.key_column not in names:
        return tab
    key_at = names.index(tab.key_column)
    old_at = {column: names.index(column) for column in tab.kept_columns if column in names}
    new_at = {column: list(tab.header).index(column) for column in tab.kept_columns if column in tab.header}
    if not old_at or tab.key_column not in tab.header:
        return tab
    kept: dict[str, dict[str, Any]] = {}
    for row in existing_rows:
        if key_at < len(row) and not _blank(row[key_at]):
            values = {column: row[index] for column, index in old_at.items() if index < len(row)
                      and not _blank(row[index])}
            if values:
                kept[str(row[key_at])] = values
    new_key_at = list(tab.header).index(tab.key_column)
    rows = []
    for row in tab.rows:
        values = kept.get(str(row[new_key_at]))
        if values:
            row = list(row) + [""] * (len(tab.header) - len(row))
            for column, value in values.items():
                if column in new_at and _blank(row[new_at[column]]):
                    row[new_at[column]] = value
        rows.append(row)
    return replace(tab, rows=rows)


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def one_line(text: object, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def column_widths(header: Sequence[str], rows: Rows, sample: int = 500) -> list[int]:
    """Width of each column in characters: the longest of the header and the first `sample` rows,
    kept between 8 and 60 so a long title does not push everything off screen."""
    widths = [len(str(name)) + 2 for name in header]
    for row in rows[:sample]:
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], len(text_of(value)) + 1)
    return [min(max(width, 8), 60) for width in widths]


class TrackerSheets(ConfigurableResource):
    """The interface of a tracker-sheet backend (`sheets` resource): one class per backend."""

    @property
    def backend(self) -> str:
        raise NotImplementedError

    def replace_tabs(self, tabs: Tabs) -> str:
        """Replace each tab (keeping its curator columns); return where the sheet lives."""
        raise NotImplementedError

    def read_tab(self, title: str) -> tuple[list[Any], list[list[Any]]] | None:
        """The tab's header and rows as they are now, or None when there is no such tab."""
        raise NotImplementedError
