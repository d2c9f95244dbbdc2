from pathlib import Path

import pytest
from click.testing import CliRunner

from platform_assets.cli import platform_cli as full_cli
from platform_assets.configuration import all_settings, all_settings_markdown
from platform_assets.core.cli import platform_cli
from platform_assets.core.errors import SettingsError
from platform_assets.core.resources import core_resources
from platform_assets.core.settings import configure, parse_smtp_url
from platform_assets.dataset_tracker.resources import sheets_resource
from platform_assets.quality.resources import QualityPolicy
from platform_assets.trip_exports.resources import TripExportPolicy

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_need_no_environment(tmp_path: Path) -> None:
    from platform_assets.core.objectstore import LocalObjectStore
    from platform_assets.transit.resources import TransitSettings

    env = {"PLATFORM_DATA_DIR": str(tmp_path)}
    resources = core_resources(env)
    assert resources["database"].url == f"sqlite:///{tmp_path}/platform.db"
    assert isinstance(resources["object_store"], LocalObjectStore)
    assert resources["object_store"].local_dir == str(tmp_path / "objects")
    assert resources["mailer"].outbox_dir == str(tmp_path / "outbox")
    assert sheets_resource(env).backend == "local"
    assert Path(configure(TransitSettings, env).catalog_path).name == "catalog.yaml"


def load_settings(env: dict[str, str]) -> None:
    """Build every resource for `env` as the code location does (raises on a bad setting)."""
    core_resources(env)
    sheets_resource(env)


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"PLATFORM_OBJECT_STORE": "s4"}, "PLATFORM_OBJECT_STORE"),
        ({"PLATFORM_OBJECT_STORE": "s3"}, "PLATFORM_S3_BUCKET"),
        ({"PLATFORM_OBJECT_STORE": "s3", "PLATFORM_S3_BUCKET": "ab"}, "PLATFORM_S3_BUCKET"),
        ({"PLATFORM_SMTP_URL": "http://mail"}, "PLATFORM_SMTP_URL"),
        ({"PLATFORM_SMTP_URL": "smtp://host:notaport"}, "PLATFORM_SMTP_URL"),
        ({"PLATFORM_SHEETS_BACKEND": "excel"}, "PLATFORM_SHEETS_BACKEND"),
        ({"PLATFORM_SHEETS_BACKEND": "gspread"}, "PLATFORM_GSHEETS_CREDENTIALS"),
        ({"PLATFORM_DATABASE_URL": "platform.db"}, "PLATFORM_DATABASE_URL"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], setting: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    assert raised.value.setting == setting
    assert str(raised.value).startswith(f"{setting}: ")
    assert "\n" not in str(raised.value)


def test_smtp_url_forms() -> None:
    assert parse_smtp_url("smtp://relay.example").port == 25
    starttls = parse_smtp_url("smtp+starttls://me@mail.example")
    assert (starttls.security, starttls.port, starttls.username) == ("starttls", 587, "me")
    ssl = parse_smtp_url("smtps://me:pw@mail.example:2465")
    assert (ssl.security, ssl.port, ssl.password) == ("ssl", 2465, "pw")


def test_readme_lists_every_setting_with_its_default() -> None:
    text = README.read_text()
    assert all_settings_markdown() in text, "README settings table is stale: paste `platform-assets settings --markdown`"
    for spec in all_settings():
        assert f"`{spec.name}`" in text


def test_cli_reports_bad_setting_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_OBJECT_STORE", "s4")
    result = CliRunner().invoke(platform_cli, ["doctor"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: PLATFORM_OBJECT_STORE: 's4' is not one of: local, s3"


def test_settings_command_hides_passwords(platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_SMTP_URL", "smtp+starttls://me:hunter2@mail.example")
    monkeypatch.setenv("PLATFORM_SMTP_PASSWORD", "hunter3")
    result = CliRunner().invoke(full_cli, ["settings"])
    assert result.exit_code == 0, result.output
    assert "hunter" not in result.output
    assert "PLATFORM_SMTP_URL=smtp+starttls://me:***@mail.example" in result.output


@pytest.mark.parametrize(
    ("resource_class", "field", "name", "value", "expected"),
    [
        (TripExportPolicy, "expiry_days", "PLATFORM_TRIP_EXPORT_EXPIRY_DAYS", "14", 14),
        (TripExportPolicy, "min_end_age_days", "PLATFORM_TRIP_EXPORT_MIN_END_AGE_DAYS", "0", 0),
        (TripExportPolicy, "expiry_days", "PLATFORM_TRIP_EXPORT_EXPIRY_DAYS", "0", "'0' is not a whole number of at least 1"),
        (QualityPolicy, "chunk_rows", "PLATFORM_QUALITY_CHUNK_ROWS", "-5", "'-5' is not a whole number of at least 1"),
        (QualityPolicy, "chunk_rows", "PLATFORM_QUALITY_CHUNK_ROWS", "2.5", "'2.5' is not a whole number of at least 1"),
    ],
)
def test_whole_number_settings(resource_class: type, field: str, name: str, value: str, expected: int | str) -> None:
    if isinstance(expected, int):
        assert getattr(configure(resource_class, {name: value}), field) == expected
        return
    with pytest.raises(SettingsError) as raised:
        configure(resource_class, {name: value})
    assert str(raised.value) == f"{name}: {expected}"


def test_a_bad_trip_export_setting_is_one_line_from_the_cli(platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_TRIP_EXPORT_EXPIRY_DAYS", "a week")
    result = CliRunner().invoke(full_cli, ["export", "create", "--as", "ops@registry.example", "--role", "registry.admin",
                                           "--start", "2025-01-01", "--end", "2025-01-31"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "error: PLATFORM_TRIP_EXPORT_EXPIRY_DAYS: 'a week' is not a whole number of at least 1"


def _every_resource_class() -> list[type]:
    from platform_assets.core.resources import RESOURCE_CLASSES
    from platform_assets.dataset_tracker.defs import RESOURCE_CLASSES as TRACKER_CLASSES
    from platform_assets.quality.defs import RESOURCE_CLASSES as QUALITY_CLASSES
    from platform_assets.tracking.defs import RESOURCE_CLASSES as TRACKING_CLASSES
    from platform_assets.transit.defs import RESOURCE_CLASSES as TRANSIT_CLASSES
    from platform_assets.trip_exports.defs import RESOURCE_CLASSES as TRIP_CLASSES

    return [*RESOURCE_CLASSES, *TRANSIT_CLASSES, *TRIP_CLASSES, *TRACKING_CLASSES, *TRACKER_CLASSES, *QUALITY_CLASSES]


def test_resolved_reads_what_configure_resolves_without_building_the_resource(tmp_path: Path) -> None:
    from platform_assets.core.database import PlatformDatabase
    from platform_assets.core.settings import resolved
    from platform_assets.transit.resources import TransitSettings

    env = {"PLATFORM_DATA_DIR": str(tmp_path), "PLATFORM_DATABASE_URL": "postgresql://db.example/platform",
           "PLATFORM_TRANSIT_RETRY_DELAY": "45", "PLATFORM_QUALITY_BLOCKING_CHECKS": "reference.*"}
    classes = _every_resource_class()
    assert len(classes) >= 10
    for resource_class in classes:
        assert resolved(resource_class, env).model_dump() == configure(resource_class, env, resolve=True).model_dump()
    assert resolved(PlatformDatabase, env).url == "postgresql://db.example/platform"
    assert resolved(TransitSettings, env).retry_delay_seconds() == 45
    assert resolved(QualityPolicy, env).blocking() == frozenset({"reference.*"})
    # Checked as configure checks: a value outside the setting's choices fails with its name.
    with pytest.raises(SettingsError, match="PLATFORM_TRANSIT_UNKNOWN_PREPROCESS_PARAMS"):
        resolved(TransitSettings, {**env, "PLATFORM_TRANSIT_UNKNOWN_PREPROCESS_PARAMS": "maybe"})
