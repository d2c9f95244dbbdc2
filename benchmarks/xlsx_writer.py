"""Benchmark of the streaming XLSX writer against openpyxl write_only and a plain CSV write.

    PYTHONPATH=$PWD python benchmarks/xlsx_writer.py                # 100k rows x 25 columns
    PYTHONPATH=$PWD python benchmarks/xlsx_writer.py --rows 1000000 --variants streaming,csv

Each variant runs in its own subprocess, so its peak RSS (getrusage of that child) is its own.
Every variant writes the same generated trip-like rows (25 mixed columns: text, ints, floats,
decimals, dates, datetimes, booleans, blanks), generated in batches; "write rows/s" counts only
the time spent inside the writer calls (wall clock, and CPU time, which a busy shared machine
disturbs less), "overall rows/s" the whole child including generation and imports.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

VARIANTS = ("streaming", "openpyxl", "csv")
BATCH_ROWS = 5_000

COLUMNS: list[tuple[str, str]] = [
    ("journey_id", "str"),
    ("operator_journey_id", "str"),
    ("operator_class", "str"),
    ("journey_start_datetime", "datetime"),
    ("journey_start_date", "date"),
    ("journey_start_lon", "float"),
    ("journey_start_lat", "float"),
    ("journey_start_insee", "str"),
    ("journey_start_town", "str"),
    ("journey_end_datetime", "datetime"),
    ("journey_end_lon", "float"),
    ("journey_end_lat", "float"),
    ("journey_end_insee", "str"),
    ("journey_end_town", "str"),
    ("journey_distance", "int"),
    ("journey_duration", "int"),
    ("operator", "str"),
    ("passenger_id", "str"),
    ("driver_id", "str"),
    ("driver_revenue", "decimal"),
    ("passenger_contribution", "decimal"),
    ("passenger_seats", "int"),
    ("incentive_campaign", "str"),
    ("has_incentive", "bool"),
    ("status", "str"),
]

TOWNS = [
    ("75056", "Paris"),
    ("69123", "Lyon"),
    ("13055", "Marseille"),
    ("31555", "Toulouse"),
    ("33063", "Bordeaux"),
    ("59350", "Lille"),
    ("67482", "Strasbourg"),
    ("44109", "Nantes"),
    ("35238", "Rennes"),
    ("38185", "Grenoble"),
    ("74010", "Annecy"),
    ("29019", "Brest"),
]
OPERATORS = ["Klaxit", "BlaBlaCar Daily", "Karos", "Mobicoop", "Ecov", "Rezo Pouce"]
STATUSES = ["ok", "ok", "ok", "ok", "fraud_suspected", "anomaly_error", "expired"]
CAMPAIGNS = [None, None, "Occitanie 2024", "Grand Lyon boost & co", "Île-de-France Mobilités"]


def generate_rows(count: int, seed: int = 20240601) -> Iterator[list[list[object]]]:
    """Batches of deterministic trip-like rows, one value per COLUMNS entry."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1)
    produced = 0
    while produced < count:
        batch: list[list[object]] = []
        for number in range(produced, min(count, produced + BATCH_ROWS)):
            begin = start + timedelta(seconds=rng.randrange(0, 365 * 86400))
            duration = rng.randrange(300, 7200)
            start_insee, start_town = rng.choice(TOWNS)
            end_insee, end_town = rng.choice(TOWNS)
            revenue = Decimal(rng.randrange(0, 4000)) / 100
            campaign = rng.choice(CAMPAIGNS)
            batch.append(
                [
                    f"{number:012d}-{rng.getrandbits(64):016x}",
                    f"op-{rng.getrandbits(48):012x}",
                    rng.choice("ABC"),
                    begin,
                    begin.date(),
                    round(rng.uniform(-4.8, 8.2), 6),
                    round(rng.uniform(42.3, 51.1), 6),
                    start_insee,
                    start_town,
                    begin + timedelta(seconds=duration),
                    round(rng.uniform(-4.8, 8.2), 6),
                    round(rng.uniform(42.3, 51.1), 6),
                    end_insee,
                    end_town,
                    rng.randrange(500, 120_000),
                    duration,
                    rng.choice(OPERATORS),
                    f"p-{rng.getrandbits(40):010x}",
                    f"d-{rng.getrandbits(40):010x}",
                    revenue,
                    revenue if rng.random() < 0.7 else None,
                    rng.randrange(1, 4),
                    campaign,
                    campaign is not None,
                    rng.choice(STATUSES),
                ]
            )
        produced += len(batch)
        yield batch


class Stopwatch:
    """Wall-clock and CPU seconds spent inside `running()` blocks (CPU time is what other
    processes on a shared machine disturb least)."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu


def _write_streaming(path: Path, batches: Iterator[list[list[object]]], watch: Stopwatch) -> None:
    from platform_assets.lib.xlsx.writer import StreamingXlsxWriter, XlsxColumn

    columns = [XlsxColumn(name, kind, description=f"{name} ({kind})") for name, kind in COLUMNS]  # type: ignore[arg-type]
    with watch.running():
        writer = StreamingXlsxWriter(path)
        writer.add_sheet("Trips", columns)
    for batch in batches:
        with watch.running():
            writer.write_rows(batch)
    with watch.running():
        writer.add_help_sheet(columns)
        writer.close()


def _write_openpyxl(path: Path, batches: Iterator[list[list[object]]], watch: Stopwatch) -> None:
    from openpyxl import Workbook

    with watch.running():
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Trips")
        sheet.append([name for name, _ in COLUMNS])
    for batch in batches:
        with watch.running():
            for row in batch:
                sheet.append(row)
    with watch.running():
        workbook.save(path)


def _write_csv(path: Path, batches: Iterator[list[list[object]]], watch: Stopwatch) -> None:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        with watch.running():
            writer = csv.writer(stream)
            writer.writerow([name for name, _ in COLUMNS])
        for batch in batches:
            with watch.running():
                writer.writerows(batch)
        with watch.running():
            stream.flush()


WRITERS: dict[str, tuple[Callable[[Path, Iterator[list[list[object]]], Stopwatch], None], str]] = {
    "streaming": (_write_streaming, "xlsx"),
    "openpyxl": (_write_openpyxl, "xlsx"),
    "csv": (_write_csv, "csv"),
}


def run_child(variant: str, rows: int, folder: Path) -> None:
    """Runs in the subprocess: write the rows with one variant, print a JSON line of figures."""
    began = time.perf_counter()
    write, extension = WRITERS[variant]
    path = folder / f"{variant}.{extension}"
    watch = Stopwatch()
    write(path, generate_rows(rows), watch)
    total_seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "variant": variant,
                "rows": rows,
                "write_seconds": watch.wall,
                "write_cpu_seconds": watch.cpu,
                "total_seconds": total_seconds,
                "peak_rss_mib": peak_kib / 1024,
                "bytes": path.stat().st_size,
            }
        )
    )
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated: " + ",".join(VARIANTS)
    )
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        run_child(arguments.child, arguments.rows, arguments.folder)
        return

    variants = [name.strip() for name in arguments.variants.split(",") if name.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="xlsx-bench-") as folder:
        for variant in variants:
            completed = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    variant,
                    "--rows",
                    str(arguments.rows),
                    "--folder",
                    folder,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            results[variant] = json.loads(completed.stdout.strip().splitlines()[-1])
            figures = results[variant]
            print(
                f"{variant:>10}: {arguments.rows / figures['write_seconds']:>9,.0f} write rows/s "
                f"({arguments.rows / figures['write_cpu_seconds']:>9,.0f} per CPU second)  "
                f"{arguments.rows / figures['total_seconds']:>9,.0f} overall rows/s  "
                f"peak RSS {figures['peak_rss_mib']:>6.1f} MiB  file {figures['bytes'] / 1e6:>7.1f} MB",
                flush=True,
            )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"{arguments.rows:,} rows x {len(COLUMNS)} columns, one process per variant; "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    if "streaming" in results:
        streaming = results["streaming"]
        for other in ("openpyxl", "csv"):
            if other in results:
                write_ratio = results[other]["write_seconds"] / streaming["write_seconds"]
                cpu_ratio = results[other]["write_cpu_seconds"] / streaming["write_cpu_seconds"]
                overall_ratio = results[other]["total_seconds"] / streaming["total_seconds"]
                print(
                    f"streaming / {other}: {write_ratio:.2f}x write rate, {cpu_ratio:.2f}x per CPU second, "
                    f"{overall_ratio:.2f}x overall rate"
                )


if __name__ == "__main__":
    main()
