"""Benchmark of the quality checks: checks per second on 100k generated OCDS-like compiled releases
(every OCDS check, time-based ones against a previous version) and on the largest real GTFS feed
through the pandera helper. Prints the figures; not part of the test suite.

    PYTHONPATH=. python benchmarks/quality_checks.py [--items 100000] [--feed ../shared/data/gtfs/nyc_subway_gtfs.zip]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from platform_assets.quality.framework.batch import batched
from platform_assets.quality.framework.runner import run_checks
from platform_assets.quality.ocds.registry import ocds_checks
from platform_assets.quality.pandera_checks import pandera_results

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
STATUSES = ("active", "complete", "cancelled", "unsuccessful", "planning")
METHODS = ("open", "selective", "limited", "direct")


def generated_items(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Compiled releases shaped like real ones, about 1 in 20 with a deliberate defect."""
    rng = random.Random(seed)
    for number in range(count):
        ocid = f"ocds-bench1-{number:07d}"
        buyer = f"GB-LAC-{rng.randrange(400):04d}"
        supplier = f"GB-COH-{rng.randrange(50_000):08d}"
        year = rng.randrange(2012, 2024)
        amount = round(rng.lognormvariate(11, 1.5), 2)
        broken = rng.random() < 0.05
        item: dict[str, Any] = {
            "ocid": ocid if not broken else f"bad-{number}",
            "id": f"{ocid}-{year}",
            "date": f"{year}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}T10:00:00Z",
            "tag": ["compiled"],
            "initiationType": "tender",
            "language": "en",
            "buyer": {"id": buyer, "name": f"Council {buyer}"},
            "parties": [
                {"id": buyer, "name": f"Council {buyer}", "roles": ["buyer", "procuringEntity", "payer"],
                 "identifier": {"scheme": "GB-LAC", "id": buyer[7:]},
                 "contactPoint": {"email": f"buy{number}@example.org" if not broken else "nobody", "telephone": "+44 20 7946 0000"}},
                {"id": supplier, "name": f"Supplier {supplier}", "roles": ["supplier", "tenderer", "payee"],
                 "identifier": {"scheme": "GB-COH", "id": supplier[7:]}},
            ],
            "tender": {
                "id": f"T-{number}",
                "title": f"Tender {number}",
                "status": rng.choice(STATUSES[:2]),
                "procurementMethod": rng.choice(METHODS),
                "mainProcurementCategory": rng.choice(("goods", "works", "services")),
                "value": {"amount": amount, "currency": "GBP"},
                "tenderPeriod": {"startDate": f"{year}-01-10T00:00:00Z", "endDate": f"{year}-02-10T00:00:00Z"},
                "numberOfTenderers": 1,
                "tenderers": [{"id": supplier, "name": "x"}],
                "procuringEntity": {"id": buyer, "name": "x"},
                "documents": [{"id": "1", "documentType": "tenderNotice", "format": "application/pdf", "language": "en",
                               "description": "Notice", "datePublished": f"{year}-01-10T00:00:00Z"}],
            },
            "awards": [{"id": f"A-{number}", "status": "active", "date": f"{year}-03-01T00:00:00Z",
                        "value": {"amount": amount * rng.uniform(0.8, 1.1), "currency": "GBP"},
                        "suppliers": [{"id": supplier, "name": "x"}]}],
            "contracts": [{"id": f"C-{number}", "awardID": f"A-{number}" if not broken else "A-missing", "status": "active",
                           "dateSigned": f"{year}-04-01T00:00:00Z", "value": {"amount": amount, "currency": "GBP"},
                           "period": {"startDate": f"{year}-05-01T00:00:00Z", "endDate": f"{year + 1}-05-01T00:00:00Z"},
                           "implementation": {"transactions": [{"id": "1", "date": f"{year}-06-01T00:00:00Z",
                                                                 "value": {"amount": amount / 2, "currency": "GBP"},
                                                                 "payer": {"id": buyer}, "payee": {"id": supplier}}]}}],
        }
        yield item


def bench_ocds(count: int) -> dict[str, float]:
    checks = ocds_checks()
    start = time.perf_counter()
    # The previous version lacks the last 2% of items: time-based checks have real work to do.
    results = run_checks(checks, batched(generated_items(count), 2000), batched(generated_items(int(count * 0.98)), 2000))
    elapsed = time.perf_counter() - start
    evaluations = sum(r.passed + r.failed + r.not_applicable for r in results)
    return {
        "items": count,
        "checks": len(checks),
        "seconds": elapsed,
        "items_per_s": count / elapsed,
        "item_checks_per_s": count * len(checks) / elapsed,
        "evaluations_per_s": evaluations / elapsed,
        "failing_checks": sum(1 for r in results if not r.ok),
    }


STOP_TIMES = pa.DataFrameSchema(
    {
        "trip_id": pa.Column(str),
        "arrival_time": pa.Column(str, pa.Check.str_matches(r"^\d{1,3}:[0-5]\d:[0-5]\d$"), nullable=True),
        "departure_time": pa.Column(str, pa.Check.str_matches(r"^\d{1,3}:[0-5]\d:[0-5]\d$"), nullable=True),
        "stop_id": pa.Column(str),
        "stop_sequence": pa.Column(int, pa.Check.ge(0), coerce=True),
        "pickup_type": pa.Column(float, pa.Check.isin([0, 1, 2, 3]), nullable=True, required=False, coerce=True),
    },
    name="stop_times",
)
STOPS = pa.DataFrameSchema(
    {
        "stop_id": pa.Column(str, unique=True),
        "stop_name": pa.Column(str),
        "stop_lat": pa.Column(float, pa.Check.in_range(-90, 90), coerce=True),
        "stop_lon": pa.Column(float, pa.Check.in_range(-180, 180), coerce=True),
    },
    name="stops",
)


def bench_gtfs(feed: Path) -> dict[str, float]:
    with zipfile.ZipFile(feed) as archive:
        stop_times = pd.read_csv(archive.open("stop_times.txt"), dtype=str)
        stops = pd.read_csv(archive.open("stops.txt"), dtype=str)
    start = time.perf_counter()
    results = pandera_results(STOP_TIMES, (stop_times.iloc[i : i + 50_000] for i in range(0, len(stop_times), 50_000)), table="stop_times")
    results += pandera_results(STOPS, stops, id_column="stop_id")
    elapsed = time.perf_counter() - start
    rows = len(stop_times) + len(stops)
    evaluations = sum(r.passed + r.failed + r.not_applicable for r in results)
    return {"feed": feed.name, "rows": rows, "checks": len(results), "seconds": elapsed, "rows_per_s": rows / elapsed, "evaluations_per_s": evaluations / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--feed", type=Path, default=SHARED / "gtfs" / "nyc_subway_gtfs.zip")
    args = parser.parse_args()
    gtfs = bench_gtfs(args.feed)
    print(f"GTFS {gtfs['feed']}: {gtfs['rows']} rows, {gtfs['checks']} pandera checks in {gtfs['seconds']:.2f} s "
          f"-> {gtfs['rows_per_s']:,.0f} rows/s, {gtfs['evaluations_per_s']:,.0f} check evaluations/s")
    ocds = bench_ocds(args.items)
    print(f"OCDS: {ocds['items']} compiled releases x {ocds['checks']} checks in {ocds['seconds']:.1f} s "
          f"-> {ocds['items_per_s']:,.0f} releases/s, {ocds['item_checks_per_s']:,.0f} item-checks/s, "
          f"{ocds['evaluations_per_s']:,.0f} evaluations/s ({ocds['failing_checks']} checks failing)")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
