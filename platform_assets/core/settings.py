"""Settings: environment variables with embedded defaults, read only through resources.

Every setting is a field of a `ConfigurableResource` owned by the system that uses it, declared with
`setting(...)`. `configure(ResourceClass)` builds the resource for the current environment: a
variable that is set becomes Dagster's `EnvVar`, resolved inside the run and never written into the
repository snapshot, the launchpad or a run config; one that is not set takes its default. Nothing
is read at import time. The README's table is generated from the resource classes (see
`platform_assets/configuration.py`). Nothing here imports Dagster at module level.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import Field

from platform_assets.core.errors import SettingsError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_DEFAULT = "var/data"

@dataclass(frozen=True)
class SettingSpec:
    """One environment variable: its name, default (as text, `{data_dir}`/`{package}` filled in
    when read), meaning, allowed values, smallest whole number, and whether it is a secret."""

    name: str
    default: str
    help: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    secret: bool = False

    def read(self, env: Mapping[str, str] | None = None) -> str:
        """The value in `env` (default: the process environment), else the filled-in default,
        checked; SettingsError naming the variable when it is not allowed."""
        env = os.environ if env is None else env
        raw = env.get(self.name)
        value = raw if raw not in (None, "") else fill_default(self.default, env)
        self.check(value)
        return value

    def check(self, value: str) -> None:
        if self.choices and value not in self.choices:
            raise SettingsError(self.name, f"{value!r} is not one of: {', '.join(self.choices)}")
        if self.minimum is not None and (not value.strip().isdigit() or int(value) < self.minimum):
            raise SettingsError(self.name, f"{value!r} is not a whole number of at least {self.minimum}")


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """PLATFORM_DATA_DIR, absolute (the root every `{data_dir}` default is filled with)."""
    env = os.environ if env is None else env
    return Path(env.get("PLATFORM_DATA_DIR") or DATA_DIR_DEFAULT).absolute()


def fill_default(default: str, env: Mapping[str, str] | None = None) -> str:
    return default.replace("{data_dir}", str(data_dir(env))).replace("{package}", str(PACKAGE_ROOT))


def setting(
    name: str,
    default: str,
    help: str,
    *,
    choices: Iterable[str] = (),
    minimum: int | None = None,
    secret: bool = False,
) -> Any:
    """A resource field read from the environment variable `name` (see `configure`)."""
    spec = SettingSpec(name, default, help, tuple(choices), minimum, secret)
    # `{package}` is known now; `{data_dir}` follows the environment and is filled by `configure`.
    value = default.replace("{package}", str(PACKAGE_ROOT))
    return Field(default=value if minimum is None else int(default), description=f"{help} ({name})",
                 json_schema_extra={"platform_setting": spec.__dict__})


def field_specs(resource_class: type) -> dict[str, SettingSpec]:
    """The settings behind a resource class's fields, by field name."""
    found: dict[str, SettingSpec] = {}
    for field_name, info in resource_class.model_fields.items():  # type: ignore[attr-defined]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "platform_setting" in extra:
            values = dict(extra["platform_setting"])  # type: ignore[arg-type]
            values["choices"] = tuple(values["choices"])
            found[field_name] = SettingSpec(**values)
    return found


R = TypeVar("R")


def configure(resource_class: type[R], env: Mapping[str, str] | None = None, *, resolve: bool = False,
              specs: Mapping[str, SettingSpec] | None = None, **fixed: Any) -> R:
    """`resource_class` configured from the environment.

    Each variable that is set is checked now (a bad value fails the code location with one line
    naming it) and passed as `EnvVar`, so Dagster resolves it inside the run and shows only the
    variable's name; `resolve=True` (the CLI, which shows nothing) passes values instead, as does an
    explicit `env` mapping (tests). Unset variables take their default. `specs` maps fields of a
    class that does not declare them with `setting()`; `fixed` fields win.
    """
    values: dict[str, Any] = {}
    for field_name, spec in (specs or field_specs(resource_class)).items():
        if field_name not in fixed:
            values[field_name] = env_value(spec, env, resolve=resolve)
    return resource_class(**values, **fixed)


def resolved(resource_class: type[R], env: Mapping[str, str] | None = None) -> R:
    """`resource_class` holding this environment's values, to read settings while the definitions
    are built (choices they fix: which checks block, a job's retry delay). Each value is read and
    checked as `configure(..., resolve=True)` does, but Dagster's resource constructor is skipped:
    it derives the class's config schema again on every construction (1-20 ms a resource, on
    every code-location load). Never give the result to Dagster: bind `configure(...)` instead."""
    values = {name: env_value(spec, env, resolve=True) for name, spec in field_specs(resource_class).items()}
    return resource_class.model_construct(**values)  # type: ignore[attr-defined]


def env_value(spec: SettingSpec, env: Mapping[str, str] | None = None, *, resolve: bool = False) -> Any:
    """A checked value for a resource field: `EnvVar` when the variable is set in the process
    environment (unless `resolve`), else the value itself (int for whole-number settings)."""
    from dagster import EnvVar

    source = os.environ if env is None else env
    value = spec.read(source)
    integer = spec.minimum is not None
    if env is None and not resolve and source.get(spec.name):
        return EnvVar.int(spec.name) if integer else EnvVar(spec.name)
    return int(value) if integer else value


def read(name: str, specs: Iterable[SettingSpec], env: Mapping[str, str] | None = None) -> str:
    """One setting by name from `specs` (for choices made while building definitions, such as
    which object store class or executor to use)."""
    for spec in specs:
        if spec.name == name:
            return spec.read(env)
    raise KeyError(name)


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to reach an SMTP server, parsed from PLATFORM_SMTP_URL."""

    host: str
    port: int
    security: str  # plain | starttls | ssl
    username: str | None
    password: str | None


_SMTP_SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("ssl", 465)}


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse `smtp://`, `smtp+starttls://` or `smtps://` URLs; raise SettingsError naming the setting."""
    parts = urlsplit(url)
    if parts.scheme not in _SMTP_SCHEMES:
        raise SettingsError(
            "PLATFORM_SMTP_URL", f"scheme {parts.scheme!r} is not one of: {', '.join(_SMTP_SCHEMES)}"
        )
    if not parts.hostname:
        raise SettingsError("PLATFORM_SMTP_URL", f"{url!r} names no host")
    security, default_port = _SMTP_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError as error:
        raise SettingsError("PLATFORM_SMTP_URL", f"bad port in {url!r}") from error
    return SmtpTarget(parts.hostname, port, security, parts.username, parts.password)


def settings_markdown(specs: Iterable[SettingSpec]) -> str:
    """The README's table of settings."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for spec in specs:
        default = spec.default.replace("{data_dir}", "$PLATFORM_DATA_DIR").replace("{package}", "<package>")
        choices = f" One of: {', '.join(spec.choices)}." if spec.choices else ""
        lines.append(f"| `{spec.name}` | `{default}` | {spec.help}{choices} |" if default else
                     f"| `{spec.name}` | (empty) | {spec.help}{choices} |")
    return "\n".join(lines) + "\n"


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
