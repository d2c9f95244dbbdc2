"""The `platform-assets` click group and the core commands (`db`, `settings`, `doctor`).

Systems add their own groups in `platform_assets/cli.py` (core imports no system).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from platform_assets.core.errors import PlatformError

F = TypeVar("F", bound=Callable[..., Any])


class PlatformGroup(click.Group):
    """A click group that prints PlatformErrors as one line on stderr and exits 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PlatformError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


def one_line_errors(function: F) -> F:
    """For commands used outside the group: the same one-line error contract."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except PlatformError as error:
            raise click.ClickException(str(error)) from error

    return wrapper  # type: ignore[return-value]


@click.group(cls=PlatformGroup)
def platform_cli() -> None:
    """Run and inspect the platform's data systems."""


@platform_cli.group()
def db() -> None:
    """The platform database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every system's Alembic migrations to PLATFORM_DATABASE_URL."""
    from platform_assets.core.database import upgrade_database
    from platform_assets.core.settings import load_settings, redact_url

    settings = load_settings()
    upgrade_database(settings.database_url)
    click.echo(f"database {redact_url(settings.database_url)} is up to date")


@platform_cli.command("settings")
@click.option("--markdown", is_flag=True, help="Print the table of settings and defaults (for the README).")
def show_settings(markdown: bool) -> None:
    """Print every setting with its current value."""
    from platform_assets.core.settings import SETTINGS, load_settings, redact_url, settings_markdown

    if markdown:
        click.echo(settings_markdown(), nl=False)
        return
    settings = load_settings()
    for spec in SETTINGS:
        value = settings.raw[spec.name]
        if "PASSWORD" in spec.name:
            value = "***" if value else ""
        click.echo(f"{spec.name}={redact_url(value)}")


@platform_cli.command("doctor")
def doctor() -> None:
    """Check that the database, object store and mail server can be reached."""
    from platform_assets.core.resources import build_resources

    resources = build_resources()
    resources["database"].ping()
    click.echo("database: ok")
    resources["object_store"].ping()
    click.echo("object store: ok")
    resources["mailer"].ping()
    click.echo("mail: ok")
