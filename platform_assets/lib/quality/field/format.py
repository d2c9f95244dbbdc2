"""Quality: text values match a format (regular expression), vectorised with pandas' str methods."""

from __future__ import annotations

import re

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.quality.check import FieldCheck, ValueTest
from platform_assets.lib.quality.result import Level

EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
# Digits with the usual separators and an optional leading +; at least 6 digits in all.
TELEPHONE = r"\+?[\d\s().\-/]*\d[\d\s().\-/]*(?:\s*(?:ext\.?|x)\s*\d+)?"
LANGUAGE = r"[a-z]{2}"  # ISO 639-1, lowercase, as OCDS requires
URL = r"https?://\S+"
HEX_COLOUR = r"[0-9A-Fa-f]{6}"
GTFS_TIME = r"\d{1,3}:[0-5]\d:[0-5]\d"  # hours may pass 24 (trips after midnight)


def is_text(values: pd.Series) -> np.ndarray:
    return np.fromiter((isinstance(value, str) for value in values), dtype=bool, count=len(values))


def pattern_test(pattern: str, minimum_digits: int = 0) -> ValueTest:
    compiled = re.compile(pattern)

    def test(values: pd.Series) -> np.ndarray:
        text = is_text(values)
        matched = values.where(text, "").astype(str).str.strip().str.fullmatch(compiled).fillna(False).to_numpy(bool)
        good = text & matched
        if minimum_digits:
            digits = values.where(text, "").astype(str).str.count(r"\d").to_numpy()
            good &= digits >= minimum_digits
        return good

    return test


def matches(
    path: str, pattern: str, name: str | None = None, what: str = "", threshold: float = 1.0, minimum_digits: int = 0
) -> FieldCheck:
    return FieldCheck(
        name=name or f"{path}.format",
        level=Level.FIELD,
        description=f"{path} is {what or 'formatted as ' + pattern}",
        threshold=threshold,
        path=path,
        kind="quality",
        test=pattern_test(pattern, minimum_digits),
    )
