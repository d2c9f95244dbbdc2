"""Quality: numbers, dates and text lengths within bounds (vectorised with pandas conversions)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from platform_assets.lib.quality.check import FieldCheck, ValueTest
from platform_assets.lib.quality.result import Level


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(is a real number, as float); booleans and numeric-looking text are not numbers."""
    is_number = np.fromiter(
        (isinstance(v, int | float) and not isinstance(v, bool) for v in values), dtype=bool, count=len(values)
    )
    numbers = pd.to_numeric(values.where(is_number, np.nan), errors="coerce").to_numpy(float)
    return is_number & ~np.isnan(numbers), numbers


def number_test(minimum: float | None = None, maximum: float | None = None) -> ValueTest:
    def test(values: pd.Series) -> np.ndarray:
        good, numbers = _numbers(values)
        with np.errstate(invalid="ignore"):
            if minimum is not None:
                good &= numbers >= minimum
            if maximum is not None:
                good &= numbers <= maximum
        return good

    return test


def number_range(
    path: str, minimum: float | None = None, maximum: float | None = None, name: str | None = None, threshold: float = 1.0
) -> FieldCheck:
    bounds = f"[{'' if minimum is None else minimum}, {'' if maximum is None else maximum}]"
    return FieldCheck(
        name=name or f"{path}.range",
        level=Level.FIELD,
        description=f"{path} is a number in {bounds}",
        threshold=threshold,
        path=path,
        kind="quality",
        test=number_test(minimum, maximum),
    )


def parse_dates(values: pd.Series) -> pd.Series:
    """ISO 8601 text to UTC timestamps (NaT where it is not a date)."""
    text = values.where(values.map(lambda v: isinstance(v, str)), None)
    return pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")


def date_test(earliest: datetime, latest: datetime, not_in_future: bool = False, now: datetime | None = None) -> ValueTest:
    def test(values: pd.Series) -> np.ndarray:
        dates = parse_dates(values)
        upper = min(latest, now or datetime.now(UTC)) if not_in_future else latest
        good = dates.notna() & (dates >= pd.Timestamp(earliest)) & (dates <= pd.Timestamp(upper))
        return good.to_numpy(bool)

    return test


def date_range(
    path: str,
    earliest: datetime = datetime(1990, 1, 1, tzinfo=UTC),
    latest: datetime = datetime(2050, 12, 31, 23, 59, 59, tzinfo=UTC),
    not_in_future: bool = False,
    name: str | None = None,
    threshold: float = 1.0,
    now: datetime | None = None,
) -> FieldCheck:
    future = " and not in the future" if not_in_future else ""
    return FieldCheck(
        name=name or f"{path}.date_range",
        level=Level.FIELD,
        description=f"{path} is a date between {earliest.year} and {latest.year}{future}",
        threshold=threshold,
        path=path,
        kind="quality",
        test=date_test(earliest, latest, not_in_future, now),
    )


def length_test(minimum: int = 0, maximum: int | None = None) -> ValueTest:
    def test(values: pd.Series) -> np.ndarray:
        text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
        lengths = values.where(text, "").astype(str).str.len().to_numpy()
        good = text & (lengths >= minimum)
        if maximum is not None:
            good &= lengths <= maximum
        return good

    return test


def text_length(path: str, minimum: int = 0, maximum: int | None = None, name: str | None = None, threshold: float = 1.0) -> FieldCheck:
    return FieldCheck(
        name=name or f"{path}.length",
        level=Level.FIELD,
        description=f"{path} is text of {minimum}..{'' if maximum is None else maximum} characters",
        threshold=threshold,
        path=path,
        kind="quality",
        test=length_test(minimum, maximum),
    )
