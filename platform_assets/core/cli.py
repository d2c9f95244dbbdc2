"""The `platform-assets` click group and the core commands (`db`, `doctor`).

Systems' groups are named in `platform_assets/cli.py` and imported only when used (core imports
no system), so `--help` and every command start without importing the others.
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
    """A click group that prints PlatformErrors as one line on stderr and exits 2, and loads the
    commands named in `lazy_commands` ("name" -> "module:attribute") only when they are used."""

    lazy_commands: dict[str, tuple[str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            import importlib

            module_name, attribute = self.lazy_commands[cmd_name]
            command = getattr(importlib.import_module(module_name), attribute)
            self.add_command(command if isinstance(command, click.Command) else command(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Help lists lazy commands by the help text given with them, without importing them."""
        rows = [(name, (command.get_short_help_str(70))) for name, command in self.commands.items()]
        rows += [(name, self.lazy_help.get(name, "")) for name in self.lazy_commands if name not in self.commands]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))

    lazy_help: dict[str, str] = {}

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
@click.version_option(package_name="platform-assets", prog_name="platform-assets", message="%(prog)s %(version)s")
def platform_cli() -> None:
    """Run and inspect the platform's data systems."""


@platform_cli.group()
def db() -> None:
    """The platform database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every system's Alembic migrations to PLATFORM_DATABASE_URL."""
    from platform_assets.core.database import PlatformDatabase, upgrade_database
    from platform_assets.core.settings import configure, redact_url

    url = configure(PlatformDatabase, resolve=True).url
    upgrade_database(url)
    click.echo(f"database {redact_url(url)} is up to date")


@platform_cli.command("doctor")
def doctor() -> None:
    """Check that the database, object store and mail server can be reached."""
    from platform_assets.core.resources import core_resources

    resources = core_resources(resolve=True)
    resources["database"].ping()
    click.echo("database: ok")
    resources["object_store"].ping()
    click.echo("object store: ok")
    resources["mailer"].ping()
    click.echo("mail: ok")
