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
