"""deploy/dagster.yaml is a real, working production instance config on PostgreSQL."""

import shutil
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, materialize

from platform_assets.core.inventory import platform_inventory
from platform_assets.definitions import all_resources
from platform_assets_tests import servers

DEPLOY_YAML = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"


def test_production_instance_materializes_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform_env: Path
) -> None:
    with servers.postgres_database("pa_dagster") as url:
        db_name = url.rsplit("/", 1)[1]
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(DEPLOY_YAML, home / "dagster.yaml")
        for name, value in {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": "5432",
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": db_name,
        }.items():
            monkeypatch.setenv(name, value)
        instance = DagsterInstance.from_config(str(home))
        try:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            result = materialize([platform_inventory], instance=instance, resources=all_resources())
            assert result.success
            event = instance.get_latest_materialization_event(AssetKey("platform_inventory"))
            assert event is not None and event.run_id == result.run_id
            assert str(event.asset_materialization.metadata["uri"].value).endswith("platform_inventory.json")
        finally:
            instance.dispose()
