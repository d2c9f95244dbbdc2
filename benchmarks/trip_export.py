"""Trip export, end to end, on generated trips in PostgreSQL: rows/s and peak RSS.

For each size (default 100k and 1M trips) it creates a throwaway database on the local server,
loads generated trips with COPY, then runs in fresh processes, on the same rows:
  export      the real pipeline: a reader process (COPY of the rows transformed in SQL, parsed by
              the C csv module, formatted as sheet XML from that text) hands the XML to the run's
              process -> deflated into the workbook (StreamingXlsxWriter, written straight into the
              stored entry of the zip) -> store
  export_py   the same with the previous reader (server-side cursor -> Python transform -> XML)
  openpyxl    DB -> transform -> openpyxl write_only workbook (the baseline the goal is measured against)
  csv         DB -> transform -> csv.writer (the floor)
  read        DB -> transform only (what reading costs)
and prints rows/s, peak RSS (the export's reader process too) and each rate relative to openpyxl
and to CSV, then the export's ratio to CSV on its own line, with the load average before and
after (the machine may be shared).

    PYTHONPATH=. python benchmarks/trip_export.py [--rows 100000 1000000] [--openpyxl-max 1000000]

BENCH_FORMAT_IN_READER=0 makes the reader process of `export_py` hand pickled rows to the run's
process, which then formats them too (the other split). --phases picks the phases.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from queue import Empty

import psycopg2

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
MONTH = ("2025-03-01", "2025-03-31")


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it is not inherited across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children (the reader process); the
    PostgreSQL server's own work is not in it."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def _rows(url: str):  # type: ignore[no-untyped-def]
    from platform_assets.core.database import get_engine
    from platform_assets.core.settings import configure
    from platform_assets.trip_exports.campaigns import load_campaign_config
    from platform_assets.trip_exports.columns import columns_for, selector_for, transform_rows
    from platform_assets.trip_exports.reader import stream_trips
    from platform_assets.trip_exports.resources import TripExportPolicy
    from platform_assets.trip_exports.scope import ExportScope

    scope = ExportScope.from_params({"start_date": MONTH[0], "end_date": MONTH[1]})
    columns = columns_for("registry")
    select_cells = selector_for(columns)
    campaigns = load_campaign_config(configure(TripExportPolicy, resolve=True).campaign_config)
    rows = transform_rows(stream_trips(get_engine(url), scope, 5_000), campaigns, "Europe/Paris")
    return columns, (select_cells(row) for row in rows)


def _phase(name: str, url: str, export_uuid: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    started = time.perf_counter()
    count = 0
    reader_rss = None
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        if name in ("export", "export_py"):
            from platform_assets.core.database import get_engine
            from platform_assets.core.mailer import Mailer
            from platform_assets.core.objectstore import LocalObjectStore
            from platform_assets.core.settings import configure
            from platform_assets.trip_exports.campaigns import load_campaign_config
            from platform_assets.trip_exports.resources import TripExportPolicy
            from platform_assets.trip_exports.run import run_export

            outcome = run_export(
                get_engine(url), export_uuid, LocalObjectStore(local_dir=f"{tmp}/objects"), Mailer(outbox_dir=f"{tmp}/outbox"),
                load_campaign_config(configure(TripExportPolicy, resolve=True).campaign_config),
                format_in_reader=name == "export" or os.environ.get("BENCH_FORMAT_IN_READER", "1") == "1",
                read_with_copy=name == "export",
            )
            count = outcome.rows
            reader_rss = outcome.reader_peak_rss_mb
        elif name == "openpyxl":
            from openpyxl import Workbook

            columns, rows = _rows(url)
            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet("Trips")
            sheet.append([column.name for column in columns])
            for row in rows:
                sheet.append(row)
                count += 1
            workbook.save(f"{tmp}/trips.xlsx")
        elif name == "csv":
            columns, rows = _rows(url)
            with open(f"{tmp}/trips.csv", "w", newline="", encoding="utf-8") as stream:
                writer = csv.writer(stream, delimiter=";")
                writer.writerow([column.name for column in columns])
                for row in rows:
                    writer.writerow(row)
                    count += 1
        else:
            _, rows = _rows(url)
            for _ in rows:
                count += 1
    out.put((name, count, time.perf_counter() - started, _peak_rss_mb(), reader_rss, _cpu_seconds()))


def run_phase(name: str, url: str, export_uuid: str) -> tuple[str, int, float, float, float | None, float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_phase, args=(name, url, export_uuid, queue))
    process.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(f"phase {name} died (exit code {process.exitcode})") from None
    process.join()
    return result


def bench(rows: int, openpyxl_max: int, phases: list[str]) -> None:
    from platform_assets.core.database import dispose_engine, get_engine, upgrade_database
    from platform_assets.trip_exports.generator import load_trips
    from platform_assets.trip_exports.scope import Actor
    from platform_assets.trip_exports.service import ExportRequest, ExportRules, create_export

    name = f"bench_trips_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(ADMIN_DSN)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade_database(url)
        engine = get_engine(url)
        started = time.perf_counter()
        load_trips(engine, rows, date(2025, 3, 1), date(2025, 4, 1), seed=42)
        loaded = time.perf_counter() - started
        print(f"\n== {rows:,} trips: generated and loaded with COPY in {loaded:.1f} s ({rows / loaded:,.0f} rows/s)")
        # Set hint bits and statistics now, as autovacuum would: otherwise the first phase pays for them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE trips")
        admin_actor = Actor.parse("bench@registry.example", "registry.admin")

        def new_export() -> str:  # one pending export per export phase (a run claims it)
            return create_export(
                engine, admin_actor, ExportRequest(*MONTH), ExportRules(max_past_days=100_000, min_end_age_days=0)
            ).uuid

        results = {}
        print(f"load average before: {_load()}")
        for phase in phases:
            if phase == "openpyxl" and rows > openpyxl_max:
                print(f"{phase:<9} skipped (--openpyxl-max {openpyxl_max:,})")
                continue
            results[phase] = run_phase(phase, url, new_export() if phase.startswith("export") else "")
        print(f"load average after: {_load()}")
        print(f"{'phase':<9} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'CPU s':>6} {'peak RSS':>9} {'vs openpyxl':>11} "
              f"{'vs csv':>7}")
        for phase, count, seconds, rss, reader_rss, cpu in results.values():
            ratios = [
                f"{(count / seconds) / (results[base][1] / results[base][2]):.2f}x" if base in results else "-"
                for base in ("openpyxl", "csv")
            ]
            reader = f"  (reader process {reader_rss:.0f}MB)" if reader_rss else ""
            print(f"{phase:<9} {count:>10,} {seconds:>8.1f} {count / seconds:>9,.0f} {cpu:>6.1f} {rss:>7.0f}MB {ratios[0]:>11} "
                  f"{ratios[1]:>7}{reader}")
        if "export" in results and "csv" in results:
            export, csv_ = results["export"], results["csv"]
            print(f"export / csv rate ratio: {(export[1] / export[2]) / (csv_[1] / csv_[2]):.2f} (goal: >= 1.00)")
        if "export_py" in results and "csv" in results:
            export, csv_ = results["export_py"], results["csv"]
            print(f"export_py / csv rate ratio: {(export[1] / export[2]) / (csv_[1] / csv_[2]):.2f}")
    finally:
        dispose_engine(url)
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--openpyxl-max", type=int, default=1_000_000, help="Skip the openpyxl baseline above this.")
    parser.add_argument("--phases", nargs="+", default=["export", "export_py", "openpyxl", "csv", "read"],
                        choices=["export", "export_py", "openpyxl", "csv", "read"])
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    print(f"machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB")
    for rows in args.rows:
        bench(rows, args.openpyxl_max, args.phases)


if __name__ == "__main__":
    main()
