"""Who may export what: roles, the scope an export is bounded by, and the trips query it yields.

Roles are `registry`, `territory` and `operator`, each `admin` or `user`. An operator's exports
always carry its operator; a territory's always carry its territory: whatever a request asks is
intersected with that bound, and asking for more is refused (never silently widened).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select

from platform_assets.trip_exports import geo
from platform_assets.trip_exports.errors import PermissionDenied
from platform_assets.trip_exports.tables import trips_table

ROLES: tuple[str, ...] = (
    "registry.admin",
    "registry.user",
    "territory.admin",
    "territory.user",
    "operator.admin",
    "operator.user",
)
_ADDRESS = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+)>\s*$")
DEFAULT_TZ = "Europe/Paris"
_EMAIL = re.compile(r"^[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+$")


def parse_address(text: str) -> tuple[str, str] | None:
    """'Name <email>' -> (name, email); None when it is not that shape."""
    match = _ADDRESS.match(text)
    if not match or not match.group("name"):
        return None
    return match.group("name"), match.group("email").lower()


def parse_territory(text: str) -> tuple[str, str] | None:
    """'aom:287500078' -> ('aom', '287500078'); None when the level is unknown."""
    level, _, code = text.partition(":")
    if level not in geo.GEO_LEVELS or not code:
        return None
    return level, code


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (email), a role and, for operators and territories, their organisation.

    org is the operator id for operator roles and `level:INSEE code` (e.g. `aom:287500078`) for
    territory roles; registry roles have none.
    """

    user: str
    role: str
    org: str | None = None
    name: str | None = None

    @classmethod
    def parse(cls, user: str, role: str, org: str | None = None) -> Actor:
        """Build an actor from CLI-style text; PermissionDenied names what is wrong."""
        address = parse_address(user)
        name, email = address if address else (None, user.strip().lower())
        if not _EMAIL.match(email):
            raise PermissionDenied(f"--as {user!r}: expected an email or 'Name <email>'")
        if role not in ROLES:
            raise PermissionDenied(f"--role {role!r}: expected one of {', '.join(ROLES)}")
        family = role.split(".")[0]
        if family == "registry":
            org = None
        elif not org:
            raise PermissionDenied(f"--org is required for role {role}")
        elif family == "operator" and not org.isdigit():
            raise PermissionDenied(f"--org {org!r}: an operator is named by its numeric id")
        elif family == "territory":
            territory = parse_territory(org)
            if territory is None or not geo.known_code(*territory):
                raise PermissionDenied(
                    f"--org {org!r}: a territory is 'level:code' with level in {', '.join(geo.GEO_LEVELS)}"
                    " and a code of the INSEE reference"
                )
        return cls(user=email, role=role, org=org, name=name)

    @property
    def family(self) -> str:
        return self.role.split(".")[0]

    @property
    def is_admin(self) -> bool:
        return self.role.endswith(".admin")

    @property
    def operator_id(self) -> int | None:
        return int(self.org) if self.family == "operator" and self.org else None

    @property
    def territory(self) -> tuple[str, str] | None:
        return parse_territory(self.org) if self.family == "territory" and self.org else None

    def may_see(self, created_by: str, created_by_role: str, created_by_org: str | None) -> bool:
        """Users: their own exports; admins: their organisation's; registry admins: all."""
        if self.role == "registry.admin":
            return True
        if self.is_admin:
            return created_by_role.split(".")[0] == self.family and created_by_org == self.org
        return created_by == self.user and created_by_role == self.role and created_by_org == self.org


@dataclass(frozen=True)
class ExportScope:
    """Which trips an export covers: [start, end) (aware datetimes: midnights of the export's time
    zone), operators, a geo selector, and the creator's bound (its operator or territory), always
    applied on top. Only processed trips are exported (the registry's carpoolListQuery.ts keeps
    `acquisition_status = 'processed'`)."""

    start: datetime
    end: datetime
    operator_ids: tuple[int, ...] = ()
    geo_selector: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bound_operator: int | None = None
    bound_territory: tuple[str, str] | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ExportScope:
        bound = params.get("bound") or {}
        territory = parse_territory(bound["territory"]) if bound.get("territory") else None
        tz = params.get("tz") or DEFAULT_TZ
        return cls(
            start=day_start(date.fromisoformat(params["start_date"]), tz),
            end=day_start(date.fromisoformat(params["end_date"]) + timedelta(days=1), tz),
            operator_ids=tuple(params.get("operator_ids") or ()),
            geo_selector={level: tuple(codes) for level, codes in (params.get("geo_selector") or {}).items()},
            bound_operator=bound.get("operator_id"),
            bound_territory=territory,
        )

    def query(self, columns: Sequence[Any] | None = None) -> Select:
        trips = trips_table.c
        statement = select(*(columns or trips_table.columns)).where(
            trips.start_datetime >= self.start,
            trips.start_datetime < self.end,
            trips.acquisition_status == "processed",
        )
        if self.operator_ids:
            statement = statement.where(trips.operator_id.in_(self.operator_ids))
        if self.bound_operator is not None:
            statement = statement.where(trips.operator_id == self.bound_operator)
        if self.geo_selector:
            statement = statement.where(_touches(self.geo_selector))
        if self.bound_territory is not None:
            level, code = self.bound_territory
            statement = statement.where(_touches({level: (code,)}))
        return statement


def _touches(selector: Mapping[str, Sequence[str]]) -> Any:
    """Trips starting or ending in any of the selector's areas."""
    conditions = []
    for level, codes in selector.items():
        column = geo.LEVEL_COLUMNS[level]
        values = geo.column_values(level, tuple(codes))
        conditions.append(trips_table.c[f"start_{column}"].in_(values))
        conditions.append(trips_table.c[f"end_{column}"].in_(values))
    return or_(*conditions) if conditions else and_()


def day_start(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """Midnight of `day` in `tz`, as a UTC datetime: export periods are whole days of the export's
    time zone (Europe/Paris by default, as the registry's), so an export of September holds no
    trip of 1 October local time. UTC because SQLite compares the stored naive UTC text."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def territory_label(level: str, code: str) -> str:
    """'aom:256900994 (Sytral Mobilités)': the code with its name from the INSEE reference."""
    inside = geo.communes_in(level, code)
    names = {
        "com": lambda commune: commune.town,
        "epci": lambda commune: commune.epci_name,
        "aom": lambda commune: commune.aom_name,
        "dep": lambda commune: f"department {commune.department}",
        "reg": lambda commune: commune.region_name,
        "country": lambda commune: commune.country,
    }
    return f"{level}:{code} ({names[level](inside[0])})" if inside and level in names else f"{level}:{code}"


def describe_scope(params: Mapping[str, Any]) -> tuple[str, str]:
    """(operators, territories) an export covers, for its Help sheet: the caller's own operator or
    territory when it is bound to one, never "all" for a bounded caller."""
    bound = params.get("bound") or {}
    operator_ids = list(params.get("operator_ids") or [])
    if bound.get("operator_id") is not None:
        operators = f"operator {bound['operator_id']} (your organisation)"
    elif operator_ids:
        operators = ", ".join(f"operator {operator_id}" for operator_id in operator_ids)
    else:
        operators = "all operators"
    selected = [
        territory_label(level, code) for level, codes in (params.get("geo_selector") or {}).items() for code in codes
    ]
    if bound.get("territory"):
        own = parse_territory(bound["territory"])
        own_label = territory_label(*own) if own else bound["territory"]
        territories = (
            f"{', '.join(selected)} within your territory {own_label}" if selected else f"your territory {own_label}"
        )
    else:
        territories = ", ".join(selected) or "all territories"
    return operators, territories
