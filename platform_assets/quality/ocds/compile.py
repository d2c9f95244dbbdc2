"""Compiling releases into one compiled release per ocid with `ocdsmerge`, the reference library
the OCDS tools (Kingfisher Process, ocdskit) use, and the merge rules of the shipped OCDS 1.1
release schema: nulls remove fields, arrays of objects with `id` merge by id, other arrays
(tenderers, suppliers) follow the schema's rules, `tag` becomes ["compiled"].
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from platform_assets.quality.ocds.errors import OcdsSourceError
from platform_assets.quality.ocds.registers import RELEASE_SCHEMA, RELEASE_SCHEMA_1_0
from platform_assets.quality.ocds.values import date_of


@cache
def merge_rules(version: str = "1.1") -> dict[tuple[str, ...], str]:
    """The merge rules of the shipped release schema of `version` (read from the file, never from
    the web). OCDS 1.0 (a package without `version`) replaces tenderers and suppliers wholesale."""
    from ocdsmerge.rules import get_merge_rules  # here: the code location loads this module on every run

    return get_merge_rules(str(RELEASE_SCHEMA_1_0 if version == "1.0" else RELEASE_SCHEMA))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _date_key(release: dict[str, Any]) -> tuple[int, datetime]:
    parsed = date_of(release.get("date"))
    # Undated or badly dated releases first (ocdsmerge would refuse to sort them): any dated release
    # overrides them. Ties keep file order (sorted is stable), as ocdsmerge's own sort does.
    return (0, _EPOCH) if parsed is None else (1, parsed)


def compile_releases(releases: Iterable[dict[str, Any]], version: str = "1.1") -> dict[str, Any]:
    """One compiled release from the releases of one ocid, merged in date order by ocdsmerge with
    the merge rules of OCDS `version` (the version of the packages the releases came in)."""
    from ocdsmerge.exceptions import OCDSMergeError
    from ocdsmerge.merge import CompiledRelease

    ordered = sorted(releases, key=_date_key)
    compiled = CompiledRelease(merge_rules=merge_rules(version))
    try:
        for release in ordered:
            compiled.append(release)
        return compiled.asdict()
    except OCDSMergeError as error:
        ocid = next((str(r.get("ocid")) for r in ordered if r.get("ocid")), "?")
        raise OcdsSourceError(f"ocid {ocid}: releases cannot be merged: {error}") from error
