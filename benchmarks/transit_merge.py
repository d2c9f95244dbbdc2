"""Transit benchmark: coverage merge time and peak memory for 2, 5 and 10 contributors built from
the larger real feeds (cairns, nyc_subway, region-nord), and one frequency-sensor tick over 100
unchanged sources. Prints the figures (recorded in the README under "Transit feeds").

    PYTHONPATH=. python benchmarks/transit_merge.py [--shared platform_assets_tests/data]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
import tracemalloc
import zipfile
from datetime import date
from pathlib import Path

FEEDS = ("cairns_gtfs.zip", "nyc_subway_gtfs.zip", "partridge-region-nord-v2.zip")


def _merge_in_child(gtfs_dir: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """One coverage export of `count` contributors, in a fresh process so peak RSS is its own."""
    from platform_assets.core.objectstore import LocalObjectStore
    from platform_assets.transit.catalog import parse_catalog
    from platform_assets.transit.service import export_contributor, export_coverage

    with tempfile.TemporaryDirectory() as root:
        store = LocalObjectStore(local_dir=f"{root}/objects")
        contributors = [
            {"id": f"c{i}", "data_prefix": f"P{i}",
             "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": f"{gtfs_dir}/{FEEDS[i % len(FEEDS)]}"}}]}
            for i in range(count)
        ]
        catalog = parse_catalog(
            {"contributors": contributors, "coverages": [{"id": "cov", "contributors": [c["id"] for c in contributors]}]},
            "benchmark",
        )
        today = date(2014, 6, 1)  # before every feed's end, so no period counts as past
        for contributor in contributors:
            export_contributor(store, catalog, contributor["id"], Path(root) / contributor["id"], today)
        started = time.perf_counter()
        outcome = export_coverage(store, catalog, "cov", Path(root) / "cov", today)
        elapsed = time.perf_counter() - started
        # Peak memory of the merge itself: Python allocations during a second, forced merge.
        tracemalloc.start()
        export_coverage(store, catalog, "cov", Path(root) / "cov-again", today, force=True)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        with zipfile.ZipFile(Path(root) / "objects" / outcome.main.key) as merged:
            stop_times = sum(1 for _ in merged.open("stop_times.txt")) - 1
        queue.put(
            {"contributors": count, "seconds": round(elapsed, 2), "peak_mib": round(peak / 2**20, 1),
             "process_max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
             "trips": outcome.counts["trips"], "stop_times": stop_times, "size_mib": round(outcome.main.size / 2**20, 1)}
        )


def bench_merge(gtfs_dir: Path, count: int) -> dict[str, object]:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_merge_in_child, args=(str(gtfs_dir), count, queue))
    child.start()
    result = queue.get(timeout=1800)
    child.join()
    return result


def bench_sensor_tick(sources: int) -> dict[str, object]:
    import yaml
    from dagster import build_sensor_context, instance_for_test

    from platform_assets.core.database import PlatformDatabase, upgrade_database

    with tempfile.TemporaryDirectory() as root:
        catalog_path = Path(root) / "catalog.yaml"
        catalog = {
            "contributors": [
                {"id": f"c{i}", "data_prefix": f"P{i}", "data_sources": [
                    {"id": "gtfs", "input": {"type": "url", "url": f"https://feeds.example.org/{i}.zip",
                                              "frequency": {"type": "daily", "hour_of_day": 6}}}]}
                for i in range(sources)
            ]
        }
        catalog_path.write_text(yaml.safe_dump(catalog), encoding="utf-8")
        os.environ["PLATFORM_CATALOG"] = str(catalog_path)
        os.environ["PLATFORM_DATA_DIR"] = f"{root}/data"
        from platform_assets.transit.sensors import transit_source_frequency

        database = PlatformDatabase(url=f"sqlite:///{root}/platform.db")
        upgrade_database(database.url)
        with instance_for_test() as instance:
            instance.add_dynamic_partitions("contributors", [f"c{i}" for i in range(sources)])
            first = transit_source_frequency(build_sensor_context(instance=instance, resources={"database": database}))
            started = time.perf_counter()
            second = transit_source_frequency(
                build_sensor_context(instance=instance, cursor=first.cursor, resources={"database": database})
            )
            elapsed = time.perf_counter() - started
        return {"sources": sources, "first_tick_requests": len(first.run_requests or []),
                "unchanged_tick_ms": round(elapsed * 1000, 1), "unchanged_tick_requests": len(second.run_requests or []),
                "cursor_bytes": len(second.cursor or "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1] / "platform_assets_tests" / "data")
    parser.add_argument("--sizes", default="2,5,10")
    args = parser.parse_args()
    gtfs_dir = args.shared / "gtfs"
    for count in (int(size) for size in args.sizes.split(",")):
        print(json.dumps({"merge": bench_merge(gtfs_dir, count)}))
    print(json.dumps({"sensor": bench_sensor_tick(100)}))


if __name__ == "__main__":
    main()
