"""The demo (what `make demo` runs) works on the embedded default and says what it made."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from platform_assets.cli import platform_cli


def test_demo_command_prints_what_it_made(tmp_path: Path, platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((Path(__file__).resolve().parents[2] / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    result = CliRunner().invoke(platform_cli, ["demo"])
    assert result.exit_code == 0, result.output
    report = platform_env / "objects" / "reports" / "platform_inventory.json"
    assert f"inventory: {report.as_uri()}" in result.output
    assert report.is_file()
    # The transit exports' GTFS checks ran in the same runs: clean feeds pass, the night-bus
    # fragment (no stops of its own) fails its references once merged into demo-idf.
    assert "transit:   GTFS checks on contributor_export[caltrain]: 5 families, all pass" in result.output
    assert "transit:   GTFS checks on coverage_export[demo-idf]: 5 families, failing: schema, dataset, reference" in result.output
    assert (platform_env / "platform.db").is_file()
    assert any(home.glob("storage/**/*")) or (home / "history").exists()


def test_demo_needs_dagster_home(platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for command in (["demo"], ["transit", "export-contributor", "caltrain"]):
        result = CliRunner().invoke(platform_cli, command)
        assert result.exit_code == 2
        assert result.output.startswith("error: DAGSTER_HOME: not set")
