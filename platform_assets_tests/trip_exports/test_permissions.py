"""Each role tries to read others' exports and to widen its scope, and is refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, func, select

from platform_assets.trip_exports.errors import ExportNotFound, PermissionDenied
from platform_assets.trip_exports.scope import Actor, ExportScope
from platform_assets.trip_exports.service import (
    ExportRequest,
    cancel_export,
    create_export,
    get_export,
    list_exports,
)
from platform_assets.trip_exports.tables import Export
from platform_assets_tests.trip_exports.conftest import (
    IDF_ADMIN,
    LYON_ADMIN,
    LYON_USER,
    OPERATOR_1_ADMIN,
    OPERATOR_1_USER,
    OPERATOR_2_ADMIN,
    REGISTRY_ADMIN,
    REGISTRY_USER,
    RULES,
    TODAY,
)

REQUEST = ExportRequest("2025-03-01", "2025-03-31")
ACTORS = [REGISTRY_ADMIN, REGISTRY_USER, OPERATOR_1_ADMIN, OPERATOR_1_USER, OPERATOR_2_ADMIN, LYON_ADMIN, LYON_USER, IDF_ADMIN]
# Who sees whose export (creator -> viewers), from the rules: users their own, admins their
# organisation's, registry admins all.
EXPECTED_VIEWERS = {
    REGISTRY_ADMIN: {REGISTRY_ADMIN},
    REGISTRY_USER: {REGISTRY_ADMIN, REGISTRY_USER},
    OPERATOR_1_ADMIN: {REGISTRY_ADMIN, OPERATOR_1_ADMIN},
    OPERATOR_1_USER: {REGISTRY_ADMIN, OPERATOR_1_ADMIN, OPERATOR_1_USER},
    OPERATOR_2_ADMIN: {REGISTRY_ADMIN, OPERATOR_2_ADMIN},
    LYON_ADMIN: {REGISTRY_ADMIN, LYON_ADMIN},
    LYON_USER: {REGISTRY_ADMIN, LYON_ADMIN, LYON_USER},
    IDF_ADMIN: {REGISTRY_ADMIN, IDF_ADMIN},
}


def test_every_role_sees_only_what_it_may(sqlite_engine: Engine) -> None:
    created = {actor: create_export(sqlite_engine, actor, REQUEST, RULES, today=TODAY).uuid for actor in ACTORS}
    for creator, export_uuid in created.items():
        for viewer in ACTORS:
            if viewer in EXPECTED_VIEWERS[creator]:
                assert get_export(sqlite_engine, viewer, export_uuid).uuid == export_uuid
            else:
                with pytest.raises(ExportNotFound):
                    get_export(sqlite_engine, viewer, export_uuid)
                with pytest.raises(ExportNotFound):
                    cancel_export(sqlite_engine, viewer, export_uuid)
    for viewer in ACTORS:
        listed = {view.uuid for view in list_exports(sqlite_engine, viewer)}
        assert listed == {uuid for creator, uuid in created.items() if viewer in EXPECTED_VIEWERS[creator]}


def exports_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Export.__table__)).scalar_one()


@pytest.mark.parametrize(
    ("actor", "request_", "refusal"),
    [
        (OPERATOR_1_ADMIN, ExportRequest("2025-03-01", "2025-03-31", operator_ids=[1, 2]),
         "operator 1 may only export its own trips, not operator(s) 2"),
        (OPERATOR_1_USER, ExportRequest("2025-03-01", "2025-03-31", type="registry"),
         "role operator.user may not create 'registry' exports"),
        (LYON_ADMIN, ExportRequest("2025-03-01", "2025-03-31", geo_selector={"reg": ["84"]}),
         "territory aom:256900994 may not widen its scope to reg:84"),
        (LYON_USER, ExportRequest("2025-03-01", "2025-03-31", geo_selector={"com": ["69123", "75056"]}),
         "territory aom:256900994 may not widen its scope to com:75056"),
        (IDF_ADMIN, ExportRequest("2025-03-01", "2025-03-31", geo_selector={"dep": ["69"]}),
         "territory aom:287500078 may not widen its scope to dep:69"),
        (LYON_ADMIN, ExportRequest("2025-03-01", "2025-03-31", type="regular"),
         "role territory.admin may not create 'regular' exports"),
    ],
)
def test_widening_the_scope_is_refused_and_writes_nothing(
    sqlite_engine: Engine, actor: Actor, request_: ExportRequest, refusal: str
) -> None:
    with pytest.raises(PermissionDenied, match=re.escape(refusal)):
        create_export(sqlite_engine, actor, request_, RULES, today=TODAY)
    assert exports_count(sqlite_engine) == 0


def test_narrowing_inside_the_territory_is_allowed_and_bounded(sqlite_engine: Engine) -> None:
    view = create_export(
        sqlite_engine, LYON_USER,
        ExportRequest("2025-03-01", "2025-03-31", geo_selector={"com": ["69123"], "epci": ["200046977"]}),
        RULES, today=TODAY,
    )
    scope = ExportScope.from_params(view.params)
    assert scope.bound_territory == ("aom", "256900994")
    sql = str(scope.query().compile(compile_kwargs={"literal_binds": True}))
    assert "start_aom IN ('256900994')" in sql and "start_insee IN ('69123')" in sql


def test_operator_scope_is_applied_even_without_operator_filter(sqlite_engine: Engine) -> None:
    view = create_export(sqlite_engine, OPERATOR_2_ADMIN, REQUEST, RULES, today=TODAY)
    sql = str(ExportScope.from_params(view.params).query().compile(compile_kwargs={"literal_binds": True}))
    assert "trips.operator_id = 2" in sql


@pytest.mark.parametrize(
    ("user", "role", "org", "message"),
    [
        ("not-an-email", "registry.admin", None, "expected an email"),
        ("a@b.example", "operator.admin", None, "--org is required"),
        ("a@b.example", "operator.admin", "klaxit", "numeric id"),
        ("a@b.example", "territory.user", "aom:000", "a territory is 'level:code'"),
        ("a@b.example", "superuser", None, "--role 'superuser'"),
    ],
)
def test_bad_actors_are_refused(user: str, role: str, org: str | None, message: str) -> None:
    with pytest.raises(PermissionDenied, match=message):
        Actor.parse(user, role, org)


def test_country_selector_uses_the_insee_country_code(sqlite_engine: Engine) -> None:
    view = create_export(sqlite_engine, REGISTRY_ADMIN,
                         ExportRequest("2025-03-01", "2025-03-31", geo_selector={"country": ["99100"]}), RULES, today=TODAY)
    sql = str(ExportScope.from_params(view.params).query().compile(compile_kwargs={"literal_binds": True}))
    assert "start_country IN ('France')" in sql
    with pytest.raises(PermissionDenied, match=re.escape("may not widen its scope to country:99100")):
        create_export(sqlite_engine, LYON_USER,
                      ExportRequest("2025-03-01", "2025-03-31", geo_selector={"country": ["99100"]}), RULES, today=TODAY)
