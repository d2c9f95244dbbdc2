"""Tick time of every sensor of the platform's code location, with realistic state.

State (all generated in throwaway PostgreSQL databases and a temporary folder):
  - a transit catalog of 50 contributors x 2 url data sources (100 sources) and 10 coverages,
    their dynamic partitions, and 300 contributor_export materializations in the event log;
  - 1,000 pending trip exports in the platform database (PostgreSQL);
  - a dataset tree of 3,000 accession folders over 5 stage folders plus a 500-line listing;
  - 50 OCDS dataset folders of 20 files each;
  - a few hundred finished runs (successes, failures, cancellations) on a PostgreSQL Dagster
    instance built from deploy/dagster.yaml, for the run status sensors.

Sensors are listed from the loaded definitions (a sensor added later is measured too) and
evaluated the way the daemon does: `sensor.evaluate_tick(build_sensor_context(...))` on the real
instance with the platform's resources. Every tick of a sensor starts from the same state (the
same cursor; trip exports claimed by a tick are put back to pending), so ticks are comparable.

    PYTHONPATH=. python benchmarks/sensor_ticks.py [--ticks 10] [--runs 300]

Needs the local PostgreSQL server (127.0.0.1:5432, user postgres); creates and drops its databases.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from platform_assets_tests.servers import postgres_database  # noqa: E402

CONTRIBUTORS = 50
SOURCES_PER_CONTRIBUTOR = 2
COVERAGES = 10
CONTRIBUTOR_EXPORT_EVENTS = 300
PENDING_TRIP_EXPORTS = 1_000
STAGE_FOLDERS = ("incoming", "loading", "analysing", "processed", "published")
ACCESSIONS = 3_000
LISTING_LINES = 500
OCDS_DATASETS = 50
OCDS_FILES_PER_DATASET = 20
SLOW_TICK_SECONDS = 3.0


def write_catalog(folder: Path) -> Path:
    frequencies = [
        {"type": "continuously", "minutes": 30},
        {"type": "daily", "hour_of_day": 6},
        {"type": "weekly", "day_of_week": 2, "hour_of_day": 5},
        {"type": "monthly", "day_of_month": 1, "hour_of_day": 4},
    ]
    contributors = [
        {
            "id": f"c{index:03d}",
            "name": f"Contributor {index}",
            "data_prefix": f"C{index:03d}",
            "data_sources": [
                {
                    "id": f"s{source}",
                    "data_format": "gtfs",
                    "input": {"type": "url", "url": f"https://feeds.example.org/c{index:03d}/s{source}.zip",
                              "frequency": frequencies[(index + source) % len(frequencies)]},
                }
                for source in range(SOURCES_PER_CONTRIBUTOR)
            ],
        }
        for index in range(CONTRIBUTORS)
    ]
    per_coverage = CONTRIBUTORS // COVERAGES
    coverages = [
        {
            "id": f"cov{index:02d}",
            "name": f"Coverage {index}",
            "contributors": [c["id"] for c in contributors[index * per_coverage:(index + 1) * per_coverage]],
            "environments": {
                "production": {
                    "sequence": 0,
                    "publication_platforms": [
                        {"sequence": 0, "type": "navitia", "protocol": "file",
                         "url": f"{{data_dir}}/published/cov{index:02d}"},
                    ],
                }
            },
        }
        for index in range(COVERAGES)
    ]
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump({"contributors": contributors, "coverages": coverages}, sort_keys=False))
    return path


def write_dataset_tree(folder: Path) -> Path:
    root = folder / "datasets"
    (root / "external").mkdir(parents=True)
    for index in range(ACCESSIONS):
        accession = f"E-MTAB-{10_000 + index}"
        stage = STAGE_FOLDERS[index % len(STAGE_FOLDERS)]
        (root / stage / accession).mkdir(parents=True)
        (root / stage / accession / f"{accession}.idf.txt").write_text(f"Investigation Title\tDataset {index}\n")
    (root / "external" / "candidates.txt").write_text(
        "".join(f"E-GEOD-{20_000 + index}\tCandidate {index}\n" for index in range(LISTING_LINES))
    )
    sources = [{"name": "external_listing", "stage": "external", "listing": "datasets/external/candidates.txt",
                "technology": "microarray", "resource": "GEO"}]
    sources += [{"name": stage, "stage": stage, "folder": f"datasets/{stage}", "technology": "rna-seq",
                 "resource": "atlas"} for stage in STAGE_FOLDERS]
    path = folder / "sources_config.yaml"
    path.write_text(yaml.safe_dump({"accession_pattern": "E-[A-Z]{4}-[0-9]+", "sources": sources}))
    return path


def write_ocds_tree(folder: Path) -> Path:
    root = folder / "ocds"
    for dataset in range(OCDS_DATASETS):
        for part in range(OCDS_FILES_PER_DATASET):
            path = root / f"dataset_{dataset:02d}" / f"releases_{part:03d}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f'{{"ocid": "ocds-x-{dataset}-{part}"}}\n')
    return root


def create_pending_exports(database_url: str) -> None:
    from platform_assets.core.database import get_engine
    from platform_assets.trip_exports.scope import Actor
    from platform_assets.trip_exports.service import ExportRequest, ExportRules, create_export

    engine = get_engine(database_url)
    actor = Actor.parse("Bench User <bench@registry.example>", "registry.user")
    rules = ExportRules()
    for _ in range(PENDING_TRIP_EXPORTS):
        create_export(engine, actor, ExportRequest("2025-03-01", "2025-03-31"), rules, today=date(2025, 6, 15))


def reset_claimed_exports(database_url: str) -> None:
    """Put exports a tick claimed back to pending, so every tick sees 1,000 pending exports."""
    from sqlalchemy import text

    from platform_assets.core.database import get_engine

    with get_engine(database_url).begin() as connection:
        connection.execute(text("UPDATE exports SET status = 'pending', claimed_at = NULL WHERE status = 'processing'"))


def create_finished_runs(instance: Any, runs: int) -> dict[str, int]:
    """Real runs of small assets on the instance: mostly successes, some failures and cancellations."""
    from dagster import Definitions, Failure, asset, define_asset_job, materialize

    @asset(group_name="benchmark")
    def bench_ok() -> None:
        """Succeeds."""

    @asset(group_name="benchmark")
    def bench_fails() -> None:
        raise Failure(description="benchmark failure: the upstream file was missing")

    queued_job = Definitions(assets=[bench_ok], jobs=[define_asset_job("bench_job", [bench_ok])]).resolve_job_def("bench_job")
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    counts = {"success": 0, "failure": 0, "canceled": 0}
    for index in range(runs):
        if index % 10 == 9:
            # Canceled before it started, as an operator does from the queue.
            instance.report_run_canceled(instance.create_run_for_job(job_def=queued_job))
            counts["canceled"] += 1
        elif index % 10 == 4:
            assert not materialize([bench_fails], instance=instance, raise_on_error=False, run_config=quiet).success
            counts["failure"] += 1
        else:
            assert materialize([bench_ok], instance=instance, run_config=quiet).success
            counts["success"] += 1
    return counts


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def outcome_of(result: Any) -> str:
    if result.cursor and result.cursor.startswith("{") and "record_id" in result.cursor:
        # Run status sensors request nothing: they act on a few finished runs per tick.
        from dagster._core.definitions.run_status_sensor_definition import RunStatusSensorCursor

        return f"backlog from the start: cursor moved to event {RunStatusSensorCursor.from_json(result.cursor).record_id}"
    if result.skip_message:
        return f"skip: {result.skip_message[:70]}"
    parts = [f"{len(result.run_requests or [])} run request(s)"]
    if result.dynamic_partitions_requests:
        parts.append(f"{len(result.dynamic_partitions_requests)} partition request(s)")
    return ", ".join(parts)


def measure(name: str, ticks: int, evaluate: Callable[[], Any], after: Callable[[], None] | None) -> dict[str, Any]:
    timings, outcome = [], ""
    for _ in range(ticks):
        start = time.perf_counter()
        result = evaluate()
        timings.append(time.perf_counter() - start)
        outcome = outcome_of(result)
        if after is not None:
            after()
    return {"name": name, "median": statistics.median(timings), "p95": percentile(timings, 0.95), "outcome": outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ticks", type=int, default=10, help="ticks measured per sensor")
    parser.add_argument("--runs", type=int, default=300, help="finished runs created for the run status sensors")
    args = parser.parse_args()

    with (
        postgres_database("pa_bench_dagster") as dagster_url,
        postgres_database("pa_bench_platform") as platform_url,
        tempfile.TemporaryDirectory(prefix="sensor-ticks-") as tmp_name,
    ):
        tmp = Path(tmp_name)
        home = tmp / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        for name in [name for name in os.environ if name.startswith("PLATFORM_")]:
            del os.environ[name]
        os.environ.update(
            DAGSTER_HOME=str(home), DAGSTER_PG_HOST="127.0.0.1", DAGSTER_PG_PORT="5432", DAGSTER_PG_USER="postgres",
            DAGSTER_PG_PASSWORD="", DAGSTER_PG_DB=dagster_url.rsplit("/", 1)[1],
            PLATFORM_DATA_DIR=str(tmp / "data"), PLATFORM_DATABASE_URL=platform_url,
            PLATFORM_CATALOG=str(write_catalog(tmp)), PLATFORM_SOURCES_CONFIG=str(write_dataset_tree(tmp)),
            PLATFORM_OCDS_SOURCE=str(write_ocds_tree(tmp)), PLATFORM_ALERT_EMAILS="ops@example.org",
        )
        # Imported only now: the code location reads its settings when it loads.
        from dagster import AssetMaterialization, DagsterInstance, build_sensor_context
        from dagster._core.definitions.run_status_sensor_definition import (
            RunStatusSensorCursor,
            RunStatusSensorDefinition,
        )

        from platform_assets.core.database import upgrade_database
        from platform_assets.core.settings import configure
        from platform_assets.definitions import all_resources, build_definitions
        from platform_assets.transit.resources import TransitSettings

        defs = build_definitions()

        setup_started = time.perf_counter()
        upgrade_database(platform_url)
        instance = DagsterInstance.get()
        try:
            catalog = configure(TransitSettings, resolve=True).load_catalog()
            instance.add_dynamic_partitions("contributors", [c.id for c in catalog.contributors])
            instance.add_dynamic_partitions("coverages", [c.id for c in catalog.coverages])
            for index in range(CONTRIBUTOR_EXPORT_EVENTS):
                instance.report_runless_asset_event(
                    AssetMaterialization("contributor_export", partition=catalog.contributors[index % CONTRIBUTORS].id)
                )
            create_pending_exports(platform_url)
            run_counts = create_finished_runs(instance, args.runs)
            print(f"state ready in {time.perf_counter() - setup_started:.0f} s: "
                  f"{CONTRIBUTORS * SOURCES_PER_CONTRIBUTOR} transit sources, {COVERAGES} coverages, "
                  f"{CONTRIBUTOR_EXPORT_EVENTS} contributor exports, {PENDING_TRIP_EXPORTS} pending trip exports, "
                  f"{ACCESSIONS} accession folders + {LISTING_LINES} listed, "
                  f"{OCDS_DATASETS * OCDS_FILES_PER_DATASET} OCDS files, runs {run_counts}")

            resources = all_resources(resolve=True)
            repository = defs.get_repository_def()
            an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
            # Cursors a tick starts from: the state a running daemon would have, with work to do.
            cursors: dict[str, str | None] = {
                "transit_source_frequency": an_hour_ago,  # every source due in the last hour
                "dataset_folders_sensor": "0" * 16,  # the folders changed since the last tick
                "transit_coverages_after_contributors": None,  # every contributor export is new
                "ocds_dataset_sensor": None,  # every dataset is new
                "trip_export_sensor": None,
                "transit_catalog_partitions": None,
            }
            results = []
            for sensor_def in sorted(repository.sensor_defs, key=lambda s: s.name):
                if isinstance(sensor_def, RunStatusSensorDefinition):
                    # From the start of the event log: a backlog of runs, handled a few per tick.
                    cursor = RunStatusSensorCursor(record_id=0).to_json()
                else:
                    cursor = cursors.get(sensor_def.name)
                after = (lambda: reset_claimed_exports(platform_url)) if sensor_def.name == "trip_export_sensor" else None

                def evaluate(sensor_def: Any = sensor_def, cursor: str | None = cursor) -> Any:
                    # From an instance ref, as in the code server the daemon asks: partitions a tick adds
                    # are then visible to the run requests of the same tick.
                    with build_sensor_context(
                        instance_ref=instance.get_ref(), cursor=cursor, sensor_name=sensor_def.name,
                        resources=resources, repository_def=repository,
                    ) as context:
                        return sensor_def.evaluate_tick(context)

                results.append(measure(sensor_def.name, args.ticks, evaluate, after))
        finally:
            instance.dispose()

    print()
    print(f"{'sensor':<40} {'median':>8} {'p95':>8}  last tick")
    for row in results:
        # The median decides: on a shared machine a single tick can stall behind other work.
        if row["median"] > SLOW_TICK_SECONDS:
            flag = "  <-- SLOW"
        elif row["p95"] > SLOW_TICK_SECONDS:
            flag = "  (p95 over 3 s)"
        else:
            flag = ""
        print(f"{row['name']:<40} {row['median']:7.3f}s {row['p95']:7.3f}s  {row['outcome']}{flag}")


if __name__ == "__main__":
    main()
