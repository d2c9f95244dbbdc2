"""The Dagster layer on a test instance: ocds_dataset -> asset checks -> quality report."""


import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetCheckSeverity, AssetKey, DagsterInstance, instance_for_test, materialize

from platform_assets.quality.assets import ocds_dataset, ocds_filtered_dataset
from platform_assets.quality.checks import build_ocds_checks
from platform_assets.quality.dagster_checks import CheckPolicy
from platform_assets.quality.ocds.prefixes import DATASET_PREFIX
from platform_assets.quality.partitions import ocds_datasets
from platform_assets.quality.reports import ocds_dataset_report
from platform_assets.quality.resources import OcdsSource

ocds_dataset_checks = build_ocds_checks("ocds_dataset", DATASET_PREFIX, CheckPolicy())


@pytest.fixture
def ocds_source(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch, platform_env: Path) -> Path:
    root = tmp_path / "ocds"
    for dataset, name in {
        "worked": "pelican-backend_compiled-release.json",
        "bad": "lib-cove-ocds_badfile.json",
    }.items():
        (root / dataset).mkdir(parents=True)
        shutil.copy(shared_data / "ocds" / name, root / dataset / name)
    monkeypatch.setenv("PLATFORM_OCDS_SOURCE", str(root))
    return root


@pytest.fixture
def instance(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # The instance's SQLite event log takes a write per event: in memory-backed /dev/shm when the
    # machine has it, since several test suites share the disk.
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as folder:
        with instance_for_test(temp_dir=folder) as instance:
            yield instance


def test_dataset_checks_and_report(ocds_source: Path, resources: dict[str, Any], instance: DagsterInstance) -> None:
    instance.add_dynamic_partitions(ocds_datasets.name, ["worked", "bad"])
    result = materialize(
        [ocds_dataset, ocds_dataset_checks, ocds_dataset_report],
        instance=instance,
        resources=resources,
        partition_key="bad",
    )
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert len(evaluations) == len(ocds_dataset_checks.check_specs)
    assert set(evaluations) == {"field_coverage", "field_quality", "coherent", "consistent", "reference", "dataset", "time_based"}
    quality = evaluations["field_quality"]
    assert not quality.passed and quality.severity == AssetCheckSeverity.WARN
    assert "| date.date_time | ❌ | 0 | 1 | 0 | 0.0% |" in quality.metadata["members"].value
    assert quality.metadata["examples"].value.startswith("| outcome |")
    report = next(e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("ocds_dataset_quality_report"))
    metadata = report.materialization.metadata
    assert metadata["failing_checks"].value == sum(e.metadata["failing_checks"].value for e in evaluations.values())
    assert metadata["uri"].value.endswith("quality_report.xlsx")


def evaluations_of(result: Any) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_time_based_checks_compare_with_the_previous_materialization(
    ocds_source: Path, shared_data: Path, resources: dict[str, Any], instance: DagsterInstance
) -> None:
    instance.add_dynamic_partitions(ocds_datasets.name, ["worked"])
    first = materialize([ocds_dataset, ocds_dataset_checks], instance=instance, resources=resources, partition_key="worked")
    time_based = evaluations_of(first)["time_based"]
    # First version: nothing to compare with, every time-based check is not applicable.
    assert time_based.passed and time_based.metadata["passed"].value == 0
    assert first.asset_materializations_for_node("ocds_dataset")[0].metadata["compared_with"].value.startswith("nothing")
    # The same files again: the same bytes, so no new version (and no previous one) is made.
    same = materialize([ocds_dataset], instance=instance, resources=resources, partition_key="worked")
    assert same.asset_materializations_for_node("ocds_dataset")[0].metadata["changed"].value is False
    assert not resources["object_store"].exists("quality/ocds/worked/previous.jsonl.gz")

    # Second version: the worked example plus the Canadian releases; the worked example's ocid persists.
    shutil.copy(shared_data / "ocds" / "lib-cove-ocds_tenders_releases_7_CA.json", ocds_source / "worked")
    second = materialize([ocds_dataset, ocds_dataset_checks], instance=instance, resources=resources, partition_key="worked")
    materialization = second.asset_materializations_for_node("ocds_dataset")[0]
    assert materialization.metadata["compiled_releases"].value == 5
    assert materialization.metadata["compared_with"].value == "quality/ocds/worked/previous.jsonl.gz"
    time_based = evaluations_of(second)["time_based"]
    assert time_based.passed
    assert "| time.ocid_persistence | ✅ | 1 | 0 | 0 | 100.0% |" in time_based.metadata["members"].value

    # Back to the Canadian releases only: the worked example's ocid is gone (0 of 5 previous -> 80%).
    (ocds_source / "worked" / "pelican-backend_compiled-release.json").unlink()
    third = materialize([ocds_dataset, ocds_dataset_checks], instance=instance, resources=resources, partition_key="worked")
    time_based = evaluations_of(third)["time_based"]
    assert not time_based.passed
    assert "| time.ocid_persistence | ❌ | 4 | 1 | 0 | 80.0% |" in time_based.metadata["members"].value
    assert "ocds-213czf-000-00001" in time_based.metadata["examples"].value


def test_blocking_checks_fail_with_error_and_stop_the_report(
    ocds_source: Path, resources: dict[str, Any], instance: DagsterInstance
) -> None:
    from platform_assets.quality.checks import build_ocds_checks
    from platform_assets.quality.dagster_checks import CheckPolicy
    from platform_assets.quality.ocds.prefixes import DATASET_PREFIX

    blocking = build_ocds_checks("ocds_dataset", DATASET_PREFIX, CheckPolicy(blocking={"date.date_time"}))
    specs = {spec.name: spec for spec in blocking.check_specs}
    assert specs["field_quality"].blocking and not specs["coherent"].blocking
    instance.add_dynamic_partitions(ocds_datasets.name, ["bad"])
    result = materialize(
        [ocds_dataset, blocking, ocds_dataset_report], instance=instance, resources=resources, partition_key="bad",
        raise_on_error=False,
    )
    evaluation = evaluations_of(result)["field_quality"]
    assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR
    assert evaluations_of(result)["coherent"].severity == AssetCheckSeverity.WARN
    assert not result.success
    assert not any(e.asset_key.path[-1].endswith("_quality_report") for e in result.get_asset_materialization_events())


def test_filtered_dataset_asset(ocds_source: Path, shared_data: Path, resources: dict[str, Any], instance: DagsterInstance) -> None:
    shutil.copy(shared_data / "ocds" / "lib-cove-ocds_tenders_releases_7_CA.json", ocds_source / "worked")
    instance.add_dynamic_partitions(ocds_datasets.name, ["worked"])
    materialize([ocds_dataset], instance=instance, resources=resources, partition_key="worked")
    result = materialize(
        [ocds_filtered_dataset],
        instance=instance,
        resources=resources,
        partition_key="worked",
        run_config={"ops": {"ocds_filtered_dataset": {"config": {"date_from": "2014-01-01", "date_to": "2014-03-31", "max_items": 3}}}},
    )
    metadata = result.asset_materializations_for_node("ocds_filtered_dataset")[0].metadata
    # 5 compiled releases: the worked example (2011) is out of range, three of the four Canadian
    # releases are dated 2014-03-25 and the last one 2014-04-04 -> 3 kept.
    assert (metadata["compiled_releases"].value, metadata["of"].value) == (3, 5)
    assert metadata["uri"].value.endswith("quality/ocds_filtered/worked/compiled_releases.jsonl.gz")

    bad = materialize(
        [ocds_filtered_dataset], instance=instance, resources=resources, partition_key="worked",
        run_config={"ops": {"ocds_filtered_dataset": {"config": {"regex": "("}}}}, raise_on_error=False,
    )
    assert not bad.success
    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    assert "filter regex '(' is not a regular expression" in failure.event_specific_data.error.to_string()


def test_sensor_adds_partitions_and_requests_changed_datasets(ocds_source: Path, resources: dict[str, Any], instance: DagsterInstance) -> None:
    from dagster import build_sensor_context

    from platform_assets.core.database import upgrade_database
    from platform_assets.core.holds import put_on_hold, release_hold
    from platform_assets.quality.sensors import ocds_dataset_sensor

    database = resources["database"]
    upgrade_database(database.url)
    first = ocds_dataset_sensor(build_sensor_context(instance=instance, resources={"database": database, "ocds_source": OcdsSource(root=str(ocds_source))}))
    assert sorted(r.partition_key for r in first.run_requests) == ["bad", "worked"]
    assert first.dynamic_partitions_requests[0].partition_keys == ["bad", "worked"]
    instance.add_dynamic_partitions(ocds_datasets.name, ["bad", "worked"])
    second = ocds_dataset_sensor(build_sensor_context(instance=instance, cursor=first.cursor, resources={"database": database, "ocds_source": OcdsSource(root=str(ocds_source))}))
    assert second.run_requests == [] and second.dynamic_partitions_requests == []
    (ocds_source / "worked" / "more.json").write_text('{"releases": []}')
    third = ocds_dataset_sensor(build_sensor_context(instance=instance, cursor=second.cursor, resources={"database": database, "ocds_source": OcdsSource(root=str(ocds_source))}))
    assert [r.partition_key for r in third.run_requests] == ["worked"]

    put_on_hold(database.engine, "ocds_quality_job", "three failures")
    held = ocds_dataset_sensor(build_sensor_context(instance=instance, cursor=third.cursor, resources={"database": database, "ocds_source": OcdsSource(root=str(ocds_source))}))
    assert "on hold" in str(held.skip_message)
    release_hold(database.engine, "ocds_quality_job", "operator")


def test_postgres_table_source_and_s3_reports(
    postgres_url: str, s3_endpoint: str, s3_bucket: str, shared_data: Path, platform_env: Path,
    monkeypatch: pytest.MonkeyPatch, instance: DagsterInstance,
) -> None:
    import json

    import boto3
    from sqlalchemy import text

    from platform_assets.core.database import get_engine
    from platform_assets.definitions import all_resources

    monkeypatch.setenv("PLATFORM_DATABASE_URL", postgres_url)
    monkeypatch.setenv("PLATFORM_OBJECT_STORE", "s3")
    monkeypatch.setenv("PLATFORM_S3_BUCKET", s3_bucket)
    monkeypatch.setenv("PLATFORM_S3_ENDPOINT_URL", s3_endpoint)
    worked = (shared_data / "ocds" / "pelican-backend_compiled-release.json").read_text()
    engine = get_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS compiled_release (id serial PRIMARY KEY, data jsonb)"))
        connection.execute(text("INSERT INTO compiled_release (data) VALUES (CAST(:data AS jsonb))"), {"data": worked})
    instance.add_dynamic_partitions(ocds_datasets.name, ["from_table"])
    result = materialize(
        [ocds_dataset, ocds_dataset_checks, ocds_dataset_report],
        instance=instance,
        resources=all_resources(),
        partition_key="from_table",
        run_config={"ops": {"ocds_dataset": {"config": {"source_table": "compiled_release"}}}},
    )
    assert result.asset_materializations_for_node("ocds_dataset")[0].metadata["compiled_releases"].value == 1
    assert not evaluations_of(result)["consistent"].passed  # the worked example's tender value (see test_ocds)
    keys = {o["Key"] for o in boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert {"quality/reports/ocds_dataset/from_table/quality_report.xlsx", "quality/reports/ocds_dataset/from_table/quality_report.html"} <= keys
    html = boto3.client("s3", endpoint_url=s3_endpoint).get_object(
        Bucket=s3_bucket, Key="quality/reports/ocds_dataset/from_table/quality_report.html"
    )["Body"].read().decode()
    assert "consistent.tender_value" in html and json.dumps("ocds-213czf-000-00001")[1:-1] in html


def test_ancestor_dataset_and_last_good_version_kept(
    ocds_source: Path, resources: dict[str, Any], instance: DagsterInstance
) -> None:
    from platform_assets.quality.ocds.dataset_store import read_manifest

    instance.add_dynamic_partitions(ocds_datasets.name, ["worked", "bad"])
    materialize([ocds_dataset], instance=instance, resources=resources, partition_key="bad")
    result = materialize(
        [ocds_dataset, ocds_dataset_checks], instance=instance, resources=resources, partition_key="worked",
        run_config={"ops": {"ocds_dataset": {"config": {"ancestor": "bad"}}}},
    )
    # Compared with the ancestor "bad" (ocid "et et tempora eos est"), which "worked" does not hold.
    assert result.asset_materializations_for_node("ocds_dataset")[0].metadata["compared_with"].value == "bad"
    members = evaluations_of(result)["time_based"].metadata["members"].value
    assert "| time.ocid_persistence | ❌ | 0 | 1 | 0 | 0.0% |" in members

    before = read_manifest(resources["object_store"], "worked")
    # A broken file is left out by name; the dataset's other file is still read (issue 18 item 5),
    # so the stored version is the same as before.
    (ocds_source / "worked" / "zz-broken.json").write_text('{"releases": [{"ocid": ')
    again = materialize([ocds_dataset], instance=instance, resources=resources, partition_key="worked")
    metadata = again.asset_materializations_for_node("ocds_dataset")[0].metadata
    assert metadata["left_out"].value == f"{ocds_source / 'worked' / 'zz-broken.json'}: not JSON: parse error: premature EOF"
    assert metadata["changed"].value is False and metadata["compiled_releases"].value == 1
    kept = read_manifest(resources["object_store"], "worked")
    assert kept is not None and kept.sha256 == before.sha256
    # Only broken files: the run fails and the last good version stays.
    (ocds_source / "worked" / "pelican-backend_compiled-release.json").unlink()
    failed = materialize([ocds_dataset], instance=instance, resources=resources, partition_key="worked", raise_on_error=False)
    assert not failed.success
    error = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error.to_string()
    assert "zz-broken.json: not JSON: parse error" in error
    assert read_manifest(resources["object_store"], "worked") == kept


def test_other_systems_declare_checks_with_the_adapter(shared_data: Path, resources: dict[str, Any], instance: DagsterInstance) -> None:
    """How transit will use it: a pandera schema on a GTFS table behind one blocking @asset_check."""
    import zipfile

    import pandas as pd
    import pandera.pandas as pa
    from dagster import AssetCheckResult, MaterializeResult, asset, asset_check

    from platform_assets.core.database import PlatformDatabase, upgrade_database
    from platform_assets.lib.quality.pandera_checks import pandera_results
    from platform_assets.lib.quality.storage import store_check_run
    from platform_assets.quality.dagster_checks import CheckPolicy, group_check_result
    from platform_assets.quality.reports import build_quality_report

    upgrade_database(resources["database"].url)

    schema = pa.DataFrameSchema(
        {"stop_id": pa.Column(str, unique=True), "stop_lat": pa.Column(float, pa.Check.in_range(-90, 90), coerce=True)},
        name="stops",
    )

    @asset
    def gtfs_feed() -> MaterializeResult:
        return MaterializeResult()

    @asset_check(asset=gtfs_feed, blocking=False)
    def stops_valid(database: PlatformDatabase) -> AssetCheckResult:
        with zipfile.ZipFile(shared_data / "gtfs" / "broken" / "transitfeed-duplicate_stop.zip") as archive:
            stops = pd.read_csv(archive.open("stops.txt"), dtype=str)
        stops.loc[0, "stop_id"] = "BULLFROG"
        results = pandera_results(schema, stops, id_column="stop_id")
        store_check_run(database.engine, "gtfs_feed", "", "feed-v1", results, items=len(stops))
        return group_check_result("stops_valid", results, "gtfs_feed", CheckPolicy())

    report = build_quality_report("gtfs_feed")
    result = materialize([gtfs_feed, stops_valid], instance=instance, resources=resources, raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity.value == "WARN"
    assert evaluation.metadata["worst_check"].value == "stops.stop_id.unique"
    assert "BULLFROG" in evaluation.metadata["examples"].value
    # The generic report reads what the check stored: 10 stops, 2 sharing the id BULLFROG.
    # A later run, as transit does: Dagster orders no asset after the checks of its upstream.
    reporting = materialize([report], instance=instance, resources=resources, selection=[report.key])
    reported = reporting.asset_materializations_for_node("gtfs_feed_quality_report")[0].metadata
    assert reported["items"].value == 10 and reported["failing_checks"].value == 1
    assert reported["uri"].value.endswith("quality/reports/gtfs_feed/all/quality_report.xlsx")


def test_demo_runs_on_two_datasets(tmp_path: Path, platform_env: Path, monkeypatch: pytest.MonkeyPatch, instance: DagsterInstance) -> None:
    from platform_assets.core.database import PlatformDatabase, upgrade_database
    from platform_assets.core.settings import PACKAGE_ROOT, configure
    from platform_assets.definitions import build_definitions

    defs = build_definitions()
    from platform_assets.quality.demo import run_demo

    root = tmp_path / "ocds"
    for name in ("cdmx_split", "portugal"):
        shutil.copytree(PACKAGE_ROOT / "quality" / "demo" / "ocds" / name, root / name)
    monkeypatch.setenv("PLATFORM_OCDS_SOURCE", str(root))
    upgrade_database(configure(PlatformDatabase, resolve=True).url)
    lines = run_demo(instance, defs)
    assert lines[0].startswith("quality: cdmx_split: 2 compiled releases, report file://")
    assert lines[1].startswith("quality: portugal: 100 compiled releases")
    assert "portugal filtered" in lines[2] and "ocds_filtered_dataset/portugal/quality_report.xlsx" in lines[2]


def test_quality_definitions_snapshot() -> None:
    """What the quality system adds to the code location (a change here shows up in review)."""
    from platform_assets.definitions import build_definitions

    defs = build_definitions()

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"ocds_dataset", "ocds_filtered_dataset", "ocds_dataset_quality_report", "ocds_filtered_dataset_quality_report"} <= keys
    checks = {f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys}
    families = ["coherent", "consistent", "dataset", "field_coverage", "field_quality", "reference", "time_based"]
    assert {f"ocds_dataset:{family}" for family in families} | {f"ocds_filtered_dataset:{family}" for family in families} <= checks
    for job in ("ocds_quality_job", "ocds_filtered_quality_job"):
        assert defs.resolve_job_def(job).name == job
    assert defs.resolve_sensor_def("ocds_dataset_sensor").job_name == "ocds_quality_job"


def test_stored_ocds_check_groups_are_the_checks_grouped() -> None:
    """The specs come from ocds/check_groups.json; a check added, renamed or regrouped must show
    there, or Dagster would refuse its results as undeclared."""
    from platform_assets.quality.checks import computed_ocds_check_groups, ocds_check_groups
    from platform_assets.quality.ocds.registry import ocds_checks

    stored, computed = ocds_check_groups(), computed_ocds_check_groups()
    assert stored == computed, "run `python -m platform_assets.quality.checks` to rewrite ocds/check_groups.json"
    assert sum(len(group.members) for group in stored.values()) == len(ocds_checks())
    assert list(stored) == ["field_coverage", "field_quality", "consistent", "reference", "coherent", "dataset", "time_based"]
    assert "ocid.exists" in stored["field_coverage"].members and "time.ocid_persistence" in stored["time_based"].members
