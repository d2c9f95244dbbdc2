"""Create: validate a whole request against the rules and the export-type registry, then write a
pending export with its recipients and a log line (nothing is written unless all of it is right)."""

from __future__ import annotations

import uuid as uuid_module
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from platform_assets.trip_exports import geo
from platform_assets.trip_exports.addresses import parse_recipients, text_problem
from platform_assets.trip_exports.errors import InvalidExportRequest, PermissionDenied
from platform_assets.trip_exports.export_types import EXPORT_TYPES, requestable_types, types_for
from platform_assets.trip_exports.records import ExportView, new_session, now_utc, view_of, write_log
from platform_assets.trip_exports.rules import MAIL_LANGUAGES, ExportRequest, ExportRules
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.tables import Export, Recipient


def _as_date(value: date | str, name: str, problems: list[str]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{name}: {str(value)[:40]!r} is not a date (YYYY-MM-DD)")
        return None


def validate_request(
    actor: Actor, request: ExportRequest, rules: ExportRules, today: date
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Check everything; return (params to store, recipients as (name, email)).

    Raises PermissionDenied when the request reaches beyond the actor's scope, else
    InvalidExportRequest listing every problem at once.
    """
    problems: list[str] = []

    start = _as_date(request.start_date, "start_date", problems)
    end = _as_date(request.end_date, "end_date", problems)
    oldest = today - timedelta(days=rules.max_past_days)
    latest_end = today - timedelta(days=rules.min_end_age_days)
    if start and start < oldest:
        problems.append(f"start_date: {start} is more than {rules.max_past_days} days ago (oldest {oldest})")
    if end and end > latest_end:
        problems.append(
            f"end_date: {end} must be at least {rules.min_end_age_days} days ago (latest {latest_end})"
        )
    if start and end and end < start:
        problems.append(f"end_date: {end} is before start_date {start}")

    operator_ids: list[int] = []
    for value in request.operator_ids:
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            operator_ids.append(int(value))
        else:
            problems.append(f"operator_ids: {str(value)[:40]!r} is not an operator id")
    operator_ids = sorted(set(operator_ids))
    if len(operator_ids) > rules.max_operators:
        problems.append(f"operator_ids: {len(operator_ids)} operators, at most {rules.max_operators}")

    selector: dict[str, list[str]] = {}
    for level, codes in (request.geo_selector or {}).items():
        if level not in geo.GEO_LEVELS:
            problems.append(f"geo_selector: unknown level {level!r} (expected {', '.join(geo.GEO_LEVELS)})")
            continue
        unknown = [code for code in codes if not geo.known_code(level, str(code))]
        if unknown:
            problems.append(f"geo_selector.{level}: unknown INSEE code(s) {', '.join(map(str, unknown))}")
        selector[level] = sorted({str(code) for code in codes})
    territory_count = sum(len(codes) for codes in selector.values())
    if territory_count > rules.max_territories:
        problems.append(f"geo_selector: {territory_count} territories, at most {rules.max_territories}")

    recipients, recipient_problems = parse_recipients(request.recipients, rules.max_recipients)
    problems += recipient_problems
    message_problem = text_problem("message", request.message)
    if message_problem:
        problems.append(message_problem)
    language = request.language or rules.mail_language
    if language not in MAIL_LANGUAGES:
        problems.append(f"language: {language!r} is not one of {', '.join(MAIL_LANGUAGES)}")

    try:
        ZoneInfo(request.tz)
    except (KeyError, ValueError, OSError):
        problems.append(f"tz: {request.tz!r} is not a time zone")

    # The type follows the role; its registered scope rule bounds what the request may reach.
    allowed = types_for(actor.family)
    export_type = request.type or allowed[0]
    registered = EXPORT_TYPES.get(export_type)
    refused: list[str] = []
    bound: dict[str, Any] = {}
    if registered is None or not registered.requestable:
        problems.append(f"type: {export_type!r} is not one of {', '.join(requestable_types())}")
    elif export_type not in allowed:
        refused.append(f"role {actor.role} may not create {export_type!r} exports")
    else:
        bound, refused = registered.scope_rule(actor, operator_ids, selector)
    if refused:
        raise PermissionDenied("; ".join(refused))
    if problems:
        raise InvalidExportRequest(problems)

    if not recipients:
        own_name = actor.name or actor.user.split("@")[0]
        own_problem = text_problem("your name", own_name)
        if own_problem:
            raise InvalidExportRequest([own_problem])
        recipients = [(own_name, actor.user)]
    params = {
        "start_date": start.isoformat() if start else None,
        "end_date": end.isoformat() if end else None,
        "operator_ids": operator_ids,
        "geo_selector": selector,
        "tz": request.tz,
        "type": export_type,
        "bound": bound,
        "language": language,
    }
    assert registered is not None
    extra = registered.validate(actor, params)
    if extra:
        raise InvalidExportRequest(extra)
    return params, recipients


def create_export(
    engine: Engine, actor: Actor, request: ExportRequest, rules: ExportRules | None = None, today: date | None = None
) -> ExportView:
    """Validate `request` and write a pending export with its recipients and a log line."""
    rules = rules or ExportRules()
    params, recipients = validate_request(actor, request, rules, today or now_utc().date())
    with new_session(engine) as session, session.begin():
        export = Export(
            uuid=str(uuid_module.uuid4()),
            created_by=actor.user,
            created_by_role=actor.role,
            created_by_org=actor.org,
            status="pending",
            progress=0,
            type=params["type"],
            params=params,
            created_at=now_utc(),
            updated_at=now_utc(),
        )
        export.recipients = [Recipient(email=email, fullname=name, message=request.message) for name, email in recipients]
        session.add(export)
        session.flush()
        write_log(
            session,
            export,
            "created",
            f"created by {actor.user} ({actor.role}{' ' + actor.org if actor.org else ''}): "
            f"{params['type']} export {params['start_date']}..{params['end_date']}, "
            f"{len(recipients)} recipient(s)",
        )
        session.flush()
        return view_of(export, details=True)
