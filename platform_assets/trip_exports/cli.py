"""`platform-assets export ...` and `platform-assets opendata ...`: the same service functions the
sensor and assets call, acting as `--as USER --role ROLE [--org ORG]`."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from platform_assets.trip_exports import service
from platform_assets.trip_exports.delivery import resend_link
from platform_assets.trip_exports.errors import ExportStateError, ExportTaken, PermissionDenied
from platform_assets.trip_exports.opendata import (
    build_opendata,
    load_opendata_files,
    publish_opendata,
    upload_opendata,
)
from platform_assets.trip_exports.resources import trip_exports_runtime
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.scope import ROLES, Actor, parse_territory
from platform_assets.trip_exports.service import ExportRequest, ExportView
from platform_assets.trip_exports.tokens import create_token, list_tokens, revoke_token


def _actor_options(function):  # type: ignore[no-untyped-def]
    function = click.option("--org", default=None, help="Operator id, or territory as level:code (e.g. aom:287500078).")(function)
    function = click.option("--role", required=True, type=click.Choice(ROLES), help="Role of the caller.")(function)
    function = click.option("--as", "user", required=True, help="Caller: email or 'Name <email>'.")(function)
    return function


def _engine():  # type: ignore[no-untyped-def]
    return trip_exports_runtime().engine


def _print_view(view: ExportView, details: bool = False) -> None:
    period = view.params.get("month") or f"{view.params.get('start_date')}..{view.params.get('end_date')}"
    click.echo(f"{view.uuid}  {view.status:<10} {view.progress:>3}%  {view.type:<9} {period}  by {view.created_by}")
    if not details:
        return
    if view.error:
        click.echo(f"  error: {view.error}")
    if view.stats:
        click.echo(f"  stats: {json.dumps(view.stats)}")
    if view.download_url:
        click.echo(f"  link: {view.download_url}")
    if view.expires_at:
        click.echo(f"  expires: {view.expires_at:%Y-%m-%d %H:%M} UTC")
    click.echo(f"  recipients: {', '.join(view.recipients)}")
    for created_at, type_, message in view.logs:
        click.echo(f"  {created_at:%Y-%m-%d %H:%M:%S} {type_}: {message}")


@click.group("export")
def export_cli() -> None:
    """Trip exports: create, follow, cancel, download, send, process."""


@export_cli.command("create")
@_actor_options
@click.option("--start", "start_date", required=True, help="First day (YYYY-MM-DD).")
@click.option("--end", "end_date", required=True, help="Last day (YYYY-MM-DD), inclusive.")
@click.option("--operator", "operators", multiple=True, help="Operator id (repeat).")
@click.option("--geo", "geo", multiple=True, help="Geo selector level:code (com, epci, aom, dep, reg, country; repeat).")
@click.option("--recipient", "recipients", multiple=True, help="'Name <email>' (repeat; default: you).")
@click.option("--type", "export_type", default=None, help="registry | regular (registry roles only).")
@click.option("--tz", default="Europe/Paris", show_default=True, help="Time zone of the exported times.")
@click.option("--message", default=None, help="A note for the recipients.")
def create(user: str, role: str, org: str | None, start_date: str, end_date: str, operators: tuple[str, ...],
           geo: tuple[str, ...], recipients: tuple[str, ...], export_type: str | None, tz: str, message: str | None) -> None:
    """Validate and queue an export (the sensor picks it up within a minute)."""
    actor = Actor.parse(user, role, org)
    selector: dict[str, list[str]] = {}
    bad = []
    for item in geo:
        parsed = parse_territory(item)
        if parsed is None:
            bad.append(item)
        else:
            selector.setdefault(parsed[0], []).append(parsed[1])
    if bad:
        from platform_assets.trip_exports.errors import InvalidExportRequest

        raise InvalidExportRequest([f"--geo {item!r}: expected level:code" for item in bad])
    request = ExportRequest(start_date, end_date, list(operators), selector, list(recipients), export_type, tz, message)
    runtime = trip_exports_runtime()
    view = service.create_export(runtime.engine, actor, request, runtime.rules)
    _print_view(view)


@export_cli.command("status")
@_actor_options
@click.argument("export_uuid")
def status(user: str, role: str, org: str | None, export_uuid: str) -> None:
    """Status, progress, stats, link and log of one export."""
    _print_view(service.get_export(_engine(), Actor.parse(user, role, org), export_uuid), details=True)


@export_cli.command("list")
@_actor_options
@click.option("--status", "status_filter", default=None, help="Only exports with this status.")
def list_command(user: str, role: str, org: str | None, status_filter: str | None) -> None:
    """The exports you may see, newest first."""
    views = service.list_exports(_engine(), Actor.parse(user, role, org), status_filter)
    for view in views:
        _print_view(view)
    click.echo(f"{len(views)} export(s)")


@export_cli.command("cancel")
@_actor_options
@click.argument("export_uuid")
def cancel(user: str, role: str, org: str | None, export_uuid: str) -> None:
    """Cancel a pending export."""
    _print_view(service.cancel_export(_engine(), Actor.parse(user, role, org), export_uuid))


@export_cli.command("download")
@_actor_options
@click.argument("export_uuid")
@click.option("--output", type=click.Path(path_type=Path), default=None, help="File to write (default: the zip's name).")
def download(user: str, role: str, org: str | None, export_uuid: str, output: Path | None) -> None:
    """Download the zip of a successful export."""
    engine = _engine()
    view = service.get_export(engine, Actor.parse(user, role, org), export_uuid)
    export = service.get_internal(engine, export_uuid)
    if view.status != "success" or not export.file_key:
        raise ExportStateError(f"export {export_uuid}: nothing to download (it is {view.status})")
    target = output or Path(export.file_key.rsplit("/", 1)[-1])
    trip_exports_runtime().object_store.download(export.file_key, target)
    click.echo(f"{target} ({target.stat().st_size} bytes)")


@export_cli.command("send")
@_actor_options
@click.argument("export_uuid")
def send(user: str, role: str, org: str | None, export_uuid: str) -> None:
    """Mail the download link of a successful export to its recipients again (a fresh link)."""
    runtime = trip_exports_runtime()
    report = resend_link(runtime.engine, Actor.parse(user, role, org), export_uuid, runtime.object_store,
                         runtime.mailer, runtime.rules, platform=runtime.platform.deployment)
    failed = f", not delivered to {', '.join(o.email for o in report.failed)}" if report.failed else ""
    click.echo(f"sent to {len(report.sent)} recipient(s){failed}")


@export_cli.command("process")
@_actor_options
@click.argument("export_uuids", nargs=-1)
@click.option("--limit", default=10, show_default=True, help="Pending exports to claim when no uuid is given.")
def process(user: str, role: str, org: str | None, export_uuids: tuple[str, ...], limit: int) -> None:
    """Process exports now, in this process (registry admins): the given ones or the pending ones.

    Each run claims its export atomically: an export another worker holds is reported as taken
    (exit 2 when a given uuid was taken)."""
    actor = Actor.parse(user, role, org)
    if actor.role != "registry.admin":
        raise PermissionDenied("only registry admins process exports by hand")
    runtime = trip_exports_runtime()
    engine = runtime.engine
    uuids = list(export_uuids) or service.pending_exports(engine, limit)
    campaigns = runtime.policy.campaigns()
    taken: list[ExportStateError] = []
    for export_uuid in uuids:
        try:
            outcome = run_export(engine, export_uuid, runtime.object_store, runtime.mailer, campaigns,
                                 runtime.rules, platform=runtime.platform.deployment)
        except ExportStateError as error:
            if export_uuids and not isinstance(error, ExportTaken):
                raise
            if not export_uuids:  # a pending export another worker took meanwhile: say so, go on
                click.echo(str(error), err=True)
            taken.append(error)
            continue
        click.echo(f"{export_uuid}: {outcome.rows} rows, {outcome.stored.size} bytes -> {outcome.stored.uri}")
    click.echo(f"{len(uuids) - len(taken)} export(s) processed")
    if taken and export_uuids:
        raise taken[0]


@click.group("opendata")
def opendata_cli() -> None:
    """Monthly open data: create the files, upload them, publish them."""


def _registry_admin(user: str, role: str, org: str | None) -> Actor:
    actor = Actor.parse(user, role, org)
    if actor.family != "registry":
        raise PermissionDenied("open data is the registry's: use a registry role")
    return actor


def _default_dir(month: str) -> Path:
    return trip_exports_runtime().platform.data_path / "opendata" / month


@opendata_cli.command("create")
@_actor_options
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Folder for the files.")
def opendata_create(user: str, role: str, org: str | None, month: str, out_dir: Path | None) -> None:
    """Build the month's anonymised CSV and XLSX locally."""
    _registry_admin(user, role, org)
    files = build_opendata(_engine(), month, out_dir or _default_dir(month))
    click.echo(f"{files.csv_path}\n{files.xlsx_path}\n{files.stats.description()}")


@opendata_cli.command("upload")
@_actor_options
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--dir", "out_dir", type=click.Path(path_type=Path), default=None, help="Folder of `opendata create`.")
def opendata_upload(user: str, role: str, org: str | None, month: str, out_dir: Path | None) -> None:
    """Upload the month's files to the object store."""
    _registry_admin(user, role, org)
    stored = upload_opendata(trip_exports_runtime().object_store, load_opendata_files(out_dir or _default_dir(month), month))
    for item in stored:
        click.echo(f"{item.uri} ({item.size} bytes)")


@opendata_cli.command("publish")
@_actor_options
@click.option("--month", required=True, help="YYYY-MM")
def opendata_publish(user: str, role: str, org: str | None, month: str) -> None:
    """Create or replace the month's resources on the open-data portal."""
    _registry_admin(user, role, org)
    runtime = trip_exports_runtime()
    portal = runtime.portal
    resources = publish_opendata(
        runtime.object_store, month, portal.url, portal.dataset, portal.api_key, portal.public_url
    )
    for resource in resources:
        click.echo(f"{resource.title}: {resource.action} ({resource.id})")



@click.group("api")
def api_cli() -> None:
    """HTTP API of the trip exports: serve it, manage its bearer tokens."""


@api_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--rate-limit", "rate_limit", default=600.0, show_default=True, type=float,
              help="Calls per minute per token (0: no limit).")
def api_serve(host: str, port: int, rate_limit: float) -> None:
    """Serve the API with uvicorn (OpenAPI schema at /openapi.json)."""
    import uvicorn

    from platform_assets.trip_exports.api import app_from_settings

    uvicorn.run(app_from_settings(rate_limit or None), host=host, port=port, log_level="info")


@api_cli.group("token")
def api_token() -> None:
    """Bearer tokens: create (printed once, stored hashed), revoke, list."""


def _token_admin(by: str) -> Actor:
    # Whoever runs the CLI on the platform's host administers it; --by names them in the table.
    return Actor.parse(by, "registry.admin")


@api_token.command("create")
@click.option("--user", required=True, help="Email of the token's owner.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", default=None, help="Operator id, or territory as level:code.")
@click.option("--by", default="platform-cli@localhost.localdomain", show_default=True, help="Admin creating it.")
@click.option("--expires", "expires", default=None, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day of validity (YYYY-MM-DD, the token is refused from the next midnight UTC).")
def api_token_create(user: str, role: str, org: str | None, by: str, expires: datetime | None) -> None:
    """Create a token and print it (the only time it is shown)."""
    expires_at = (expires.replace(tzinfo=UTC) + timedelta(days=1)) if expires else None
    token, info = create_token(_engine(), _token_admin(by), user, role, org, expires_at=expires_at)
    until = f", valid until {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else ""
    click.echo(f"token {info.id} for {info.user} ({info.role}{' ' + info.org if info.org else ''}){until}:")
    click.echo(token)


@api_token.command("revoke")
@click.argument("token_id", type=int)
@click.option("--by", default="platform-cli@localhost.localdomain", show_default=True, help="Admin revoking it.")
def api_token_revoke(token_id: int, by: str) -> None:
    """Revoke a token: it is refused from now on."""
    info = revoke_token(_engine(), _token_admin(by), token_id)
    click.echo(f"token {info.id} of {info.user} revoked at {info.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


@api_token.command("list")
def api_token_list() -> None:
    """Every token: owner, role, organisation, created / revoked / last used."""
    infos = list_tokens(_engine(), _token_admin("platform-cli@localhost.localdomain"))
    for info in infos:
        def when(moment: object) -> str:
            return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"

        click.echo(f"{info.id:>4}  {info.user:<32} {info.role:<16} {info.org or '-':<16} created {when(info.created_at)}"
                   f"  last used {when(info.last_used_at)}  revoked {when(info.revoked_at)}"
                   f"  expires {when(info.expires_at)}")
    click.echo(f"{len(infos)} token(s)")
