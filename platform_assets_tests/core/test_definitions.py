"""The real code location loads, and every job in it resolves."""

from dagster import Definitions

from platform_assets.definitions import build_definitions

defs = build_definitions()


def test_definitions_load() -> None:
    Definitions.validate_loadable(defs)


def test_every_job_resolves() -> None:
    jobs = defs.resolve_all_job_defs()
    names = {job.name for job in jobs}
    assert "platform_inventory_job" in names
    for job in jobs:
        assert job.execution_plan_snapshot_id if hasattr(job, "execution_plan_snapshot_id") else job.graph


def test_shared_resources_are_bound() -> None:
    resources = defs.resources or {}
    assert {"object_store", "database", "mailer", "sheets", "platform", "transit", "trip_exports",
            "opendata_portal", "tracking", "tracker_sources", "quality", "ocds_source"} <= set(resources)
    assert defs.resolve_sensor_def("run_failure_email") is not None


def test_code_location_loads_as_dagster_loads_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`dagster definitions validate` imports the module like the webserver and daemon do."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PLATFORM_DATA_DIR": str(tmp_path / "data")}
    (tmp_path / "dagster.yaml").write_text((repo / "dagster.yaml").read_text())
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dg_check_defs_passes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`dg check defs` (pyproject's [tool.dg]) loads the code location as `make dev` does."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    venv = Path(sys.executable).parent.parent
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PLATFORM_DATA_DIR": str(tmp_path / "data"),
           "VIRTUAL_ENV": str(venv)}
    (tmp_path / "dagster.yaml").write_text((repo / "dagster.yaml").read_text())
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dg"), "check", "defs"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_table_outputs_declare_their_columns_and_external_ends() -> None:
    """Column schemas from the systems' column specs; the real sources and destinations are
    external assets wired to the assets that read or write them."""
    from dagster import AssetKey

    from platform_assets.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()

    def columns(asset: str) -> list[str]:
        return [column.name for column in graph.get(AssetKey(asset)).metadata["dagster/column_schema"].columns]

    assert len(columns("opendata_trip_export")) == 27  # the open-data CSV's columns
    assert len(columns("tracker_sheet")) == 23 and columns("tracker_sheet")[:2] == ["Accession", "State"]
    assert columns("trip_export")[0] == "journey_id"
    parents = {asset: {key.to_user_string() for key in graph.get(AssetKey(asset)).parent_keys}
               for asset in ("contributor_export", "trip_export", "opendata_trip_export", "dataset_inventory",
                             "ocds_dataset", "publication_platforms", "tracker_google_sheet", "opendata_portal")}
    assert parents == {
        "contributor_export": {"contributor_sources"}, "trip_export": {"carpool_trips"},
        "opendata_trip_export": {"carpool_trips"}, "dataset_inventory": {"dataset_folders"},
        "ocds_dataset": {"ocds_folders"}, "publication_platforms": {"coverage_publication"},
        "tracker_google_sheet": {"tracker_sheet"}, "opendata_portal": {"opendata_trip_export"},
    }
    for key in ("contributor_sources", "carpool_trips", "publication_platforms", "tracker_google_sheet"):
        assert not graph.get(AssetKey(key)).is_executable  # observed, never built here


# Libraries a code-location load (every queued run pays it) must not import: the bodies that use
# them import them (issue 17): pandas, numpy and pyarrow through `lib/deferred.py`, SQLAlchemy's
# tables and the GTFS rule modules from the asset and check bodies, and antlr4 (Dagster's
# selection grammar) because no job selects its assets by a string; and the domain modules the
# Dagster layers call only inside runs (catalog and sources-config models, GTFS reader, crawler,
# OCDS service, and the OCDS check registry: the specs come from the stored grouping).
DEFERRED_MODULES = ("dagster_aws", "boto3", "botocore", "alembic", "pandera", "ocdsmerge", "phonenumbers", "jinja2",
                    "openpyxl", "shapely", "jsonschema", "pandas", "numpy", "pyarrow", "sqlalchemy", "requests",
                    "urllib3", "ijson", "antlr4", "platform_assets.quality.gtfs.registry",
                    "platform_assets.transit.catalog", "platform_assets.lib.gtfs.reader",
                    "platform_assets.dataset_tracker.config", "platform_assets.dataset_tracker.crawler",
                    "platform_assets.quality.ocds.service", "platform_assets.quality.ocds.registry",
                    "platform_assets.quality.ocds.field_checks")


def test_building_the_code_location_leaves_heavy_libraries_unimported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "PLATFORM_OBJECT_STORE": "local",
           "PLATFORM_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path)}
    code = ("import json, sys\nfrom platform_assets.definitions import build_definitions\nbuild_definitions()\n"
            f"print(json.dumps(sorted(m for m in {DEFERRED_MODULES!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
