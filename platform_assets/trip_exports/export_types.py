"""The export-type registry: one place per export type for who may ask for it, the scope rule
that bounds it, its extra validation and its columns.

Like transit's preprocess registry: `create_export` and the run look a type up here and never
switch on its name. The registry's own field sets per target live in
betagouv/preuve-covoiturage `api/src/pdc/services/export/config/export.ts` (FieldService.byTarget);
the column lists themselves stay in `columns.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from platform_assets.trip_exports import geo
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.workbook import Column

# A scope rule: (actor, operator ids asked, geo selector asked) -> (bound stored with the export,
# refusals). The bound is applied on top of whatever the request asks (scope.ExportScope).
ScopeRule = Callable[[Actor, Sequence[int], Mapping[str, Sequence[str]]], tuple[dict[str, Any], list[str]]]
# Extra checks of a type on the validated params: problems (422), not refusals.
TypeValidation = Callable[[Actor, Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class ExportType:
    name: str
    description: str
    families: tuple[str, ...]  # role families (registry, operator, territory) that may ask for it
    scope_rule: ScopeRule
    validate: TypeValidation
    requestable: bool = True  # False: made by its own flow (open data), never through create
    columns_for: str | None = None  # column set in columns.py (default: the type's name)

    def columns(self) -> tuple[Column, ...]:
        from platform_assets.trip_exports.columns import columns_for  # the transform loads lazily

        return columns_for(self.columns_for or self.name)


def unbounded(_actor: Actor, _operators: Sequence[int], _selector: Mapping[str, Sequence[str]]) -> tuple[dict[str, Any], list[str]]:
    """Registry exports: the whole registry, narrowed only by what the request asks."""
    return {}, []


def own_operator(actor: Actor, operators: Sequence[int], _selector: Mapping[str, Sequence[str]]) -> tuple[dict[str, Any], list[str]]:
    """Operator exports: the operator's own trips; naming another operator is refused."""
    if actor.operator_id is None:
        return {}, [f"role {actor.role} has no operator to bound an operator export"]
    others = [op for op in operators if op != actor.operator_id]
    refused = [f"operator {actor.operator_id} may only export its own trips, not operator(s) "
               + ", ".join(map(str, others))] if others else []
    return {"operator_id": actor.operator_id}, refused


def own_territory(actor: Actor, _operators: Sequence[int], selector: Mapping[str, Sequence[str]]) -> tuple[dict[str, Any], list[str]]:
    """Territory exports: trips touching the territory; a selector reaching outside is refused."""
    territory = actor.territory
    if territory is None:
        return {}, [f"role {actor.role} has no territory to bound a territory export"]
    level, code = territory
    outside = [
        f"{sel_level}:{sel_code}"
        for sel_level, codes in selector.items()
        for sel_code in codes
        if geo.known_code(sel_level, sel_code) and not geo.within(sel_level, sel_code, level, code)
    ]
    refused = [f"territory {level}:{code} may not widen its scope to {', '.join(outside)}"] if outside else []
    return {"territory": f"{level}:{code}"}, refused


def no_extra_checks(_actor: Actor, _params: Mapping[str, Any]) -> list[str]:
    return []


EXPORT_TYPES: dict[str, ExportType] = {
    export_type.name: export_type
    for export_type in (
        ExportType("registry", "every column, for the registry's own analyses", ("registry",), unbounded, no_extra_checks),
        ExportType("regular", "the registry's regular export", ("registry",), unbounded, no_extra_checks),
        ExportType("operator", "an operator's own trips", ("operator",), own_operator, no_extra_checks),
        ExportType("territory", "trips touching a territory", ("territory",), own_territory, no_extra_checks),
        ExportType("opendata", "monthly anonymised open data (its own flow)", ("registry",), unbounded,
                   no_extra_checks, requestable=False),
    )
}


def export_type(name: str) -> ExportType:
    found = EXPORT_TYPES.get(name)
    if found is None:
        raise KeyError(f"export type {name!r} is not registered")
    return found


def requestable_types() -> tuple[str, ...]:
    return tuple(name for name, registered in EXPORT_TYPES.items() if registered.requestable)


def types_for(family: str) -> tuple[str, ...]:
    """The types a role family may ask for, its default first."""
    return tuple(name for name, registered in EXPORT_TYPES.items() if registered.requestable and family in registered.families)
