"""Quality: the value is one of a codelist's codes (vectorised with Series.isin)."""

from __future__ import annotations

from collections.abc import Iterable

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.quality.check import FieldCheck, ValueTest
from platform_assets.lib.quality.result import Level


def codelist_test(codes: Iterable[object], case_sensitive: bool = True) -> ValueTest:
    allowed = {code if case_sensitive or not isinstance(code, str) else code.lower() for code in codes}

    def normal(value: object) -> object:
        if isinstance(value, str) and not case_sensitive:
            return value.lower()
        return value if isinstance(value, str | int | float | bool) else repr(value)

    def test(values: pd.Series) -> np.ndarray:
        # Array fields (parties.roles) pass when every element is a code.
        lists = values.map(lambda v: isinstance(v, list)).to_numpy(bool)
        good = values.map(normal).isin(allowed).to_numpy(bool)
        for position in np.flatnonzero(lists):
            good[position] = all(normal(element) in allowed for element in values.iat[position])
        return good

    return test


def in_codelist(
    path: str, codes: Iterable[object], name: str | None = None, case_sensitive: bool = True, threshold: float = 1.0, codelist: str = ""
) -> FieldCheck:
    codes = tuple(codes)
    return FieldCheck(
        name=name or f"{path}.codelist",
        level=Level.FIELD,
        description=f"{path} is a code of {codelist or 'the codelist'} ({len(codes)} codes)",
        threshold=threshold,
        path=path,
        kind="quality",
        test=codelist_test(codes, case_sensitive),
    )
