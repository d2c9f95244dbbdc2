"""Filtered datasets (Pelican's filtered dataset): a subset of compiled releases by release date,
buyer, procuring entity, a regular expression on the JSON text, and a maximum number of items."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from platform_assets.quality.ocds.errors import QualityError


def _name_or_id(party: Any) -> set[str]:
    if not isinstance(party, dict):
        return {str(party)} if party else set()
    return {str(party[key]) for key in ("id", "name") if party.get(key)}


@dataclass(frozen=True)
class DatasetFilter:
    """Every criterion left empty lets everything through. Dates are inclusive (UTC days)."""

    date_from: str = ""
    date_to: str = ""
    buyer: str = ""
    procuring_entity: str = ""
    regex: str = ""
    max_items: int = 0

    def validate(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError as error:
                    raise QualityError(f"filter {name}: {value!r} is not a date (YYYY-MM-DD)") from error
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise QualityError(f"filter date_from {self.date_from} is after date_to {self.date_to}")
        if self.regex:
            try:
                re.compile(self.regex)
            except re.error as error:
                raise QualityError(f"filter regex {self.regex!r} is not a regular expression: {error}") from error
        if self.max_items < 0:
            raise QualityError(f"filter max_items must be 0 (no limit) or more, not {self.max_items}")

    def matches(self, item: dict[str, Any]) -> bool:
        if self.date_from or self.date_to:
            import pandas as pd  # here, not at import: the code location loads this module on every run

            when = pd.to_datetime(item.get("date"), errors="coerce", utc=True, format="ISO8601") if isinstance(item.get("date"), str) else pd.NaT
            if pd.isna(when):
                return False
            day = when.date().isoformat()
            if (self.date_from and day < self.date_from) or (self.date_to and day > self.date_to):
                return False
        if self.buyer and self.buyer not in _name_or_id(item.get("buyer")):
            return False
        tender = item.get("tender") if isinstance(item.get("tender"), dict) else {}
        if self.procuring_entity and self.procuring_entity not in _name_or_id(tender.get("procuringEntity")):
            return False
        if self.regex and not re.search(self.regex, json.dumps(item, ensure_ascii=False)):
            return False
        return True

    def apply(self, items: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        self.validate()
        kept = 0
        for item in items:
            if self.max_items and kept >= self.max_items:
                return
            if self.matches(item):
                kept += 1
                yield item
