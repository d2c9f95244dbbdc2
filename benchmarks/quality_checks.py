"""Benchmark of the quality checks: checks per second on 100k generated OCDS-like compiled releases
(every OCDS check, time-based ones against a previous version), and every GTFS check on the
largest real feed and on that feed scaled up 30 times (2.6 M stop times), read in chunks and
whole, and, as the peer measured in the same run on the same feed, gtfs-kit 9's read_feed +
validate() (the `bench` extra). Wall-clock and CPU seconds (the machine is shared: CPU-s is the
figure that load does not inflate). Prints the figures; not part of the test suite.

    PYTHONPATH=. python benchmarks/quality_checks.py [--items 100000] [--feed platform_assets_tests/data/gtfs/nyc_subway_gtfs.zip]
        [--copies 30] [--chunk-rows 25000] [--skip-ocds] [--skip-whole] [--skip-gtfs-kit]
    PYTHONPATH=. python benchmarks/quality_checks.py --only-ocds --items 10000 --baseline-ref 4e987c3 [--baseline-ref REF ...] [--rounds 3]
    PYTHONPATH=. python benchmarks/quality_checks.py --gtfs-memory [--stop-times-mb 25 100] [--copies 30] [--gtfs-baseline-ref REF]
    PYTHONPATH=. python benchmarks/quality_checks.py --gtfs-coverage

`--gtfs-coverage` (also part of the default run when gtfs-kit is installed): rule coverage measured
on the tests' one-rule broken feeds, ours and gtfs-kit's validate() on each good/broken pair
(gtfs_rule_coverage.py); the old count of checks is printed too, in its unlike units.

`--gtfs-memory`: every GTFS check on generated feeds of 25 and 100 MB of stop_times (hostile_feeds.py's)
and on the x`--copies` feed, each in a fresh interpreter (peak RSS, CPU-s, a digest of every result),
this tree and each `--gtfs-baseline-ref` (its `platform_assets`, extracted with `git archive`).

With `--baseline-ref`, the OCDS checks of each git ref (its `platform_assets` package, extracted
with `git archive`) run on the same generated items in a fresh process, alternating round by round
with this tree's, and the ratio of items/s to each baseline is printed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

from platform_assets.lib.quality.batch import batched
from platform_assets.lib.quality.runner import run_checks
from platform_assets.quality.ocds.registry import ocds_checks

SHARED = Path(__file__).resolve().parents[1] / "platform_assets_tests" / "data"
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


def load_libraries() -> None:
    """Import what the checks use before any timing: the platform defers numpy, pandas, pyarrow
    and pandera to their first use (`lib/deferred.py`), which would otherwise land inside the
    timed region (the peer's imports are not timed either)."""
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pandera.pandas  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.csv  # noqa: F401


def bench_ocds(count: int) -> dict[str, Any]:
    load_libraries()
    checks = ocds_checks()
    start, cpu_start = time.perf_counter(), time.process_time()
    # The previous version lacks the last 2% of items: time-based checks have real work to do.
    results = run_checks(checks, batched(generated_items(count), 2000), batched(generated_items(int(count * 0.98)), 2000))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    evaluations = sum(r.passed + r.failed + r.not_applicable for r in results)
    levels = {level: sum(1 for c in checks if c.level == level) for level in ("field", "item", "dataset", "time")}
    return {
        "items": count,
        "checks": len(checks),
        "levels": ", ".join(f"{n} {level}" for level, n in levels.items()),
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "items_per_s": count / elapsed,
        # Per CPU-second: on a shared machine wall time also counts the other processes' turns.
        "items_per_cpu_s": count / cpu,
        "item_checks_per_s": count * len(checks) / elapsed,
        "evaluations_per_s": evaluations / elapsed,
        "failing_checks": sum(1 for r in results if not r.ok),
    }


def scaled_feed(source: Path, target: Path, copies: int) -> Path:
    """`source` with its trips and stop times repeated `copies` times (trip ids suffixed, so every
    reference still resolves): a feed as large as a national timetable, built from a real one."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in archive.infolist():
            if info.filename not in ("trips.txt", "stop_times.txt"):
                out.writestr(info.filename, archive.read(info))
                continue
            lines = archive.read(info).decode("utf-8-sig").splitlines()
            header = lines[0].split(",")
            position = header.index("trip_id")
            with out.open(info.filename, "w") as member:
                member.write((lines[0] + "\n").encode())
                for copy in range(copies):
                    block = []
                    for line in lines[1:]:
                        cells = line.split(",")
                        cells[position] = f"{cells[position]}~{copy}" if copy else cells[position]
                        block.append(",".join(cells))
                    member.write(("\n".join(block) + "\n").encode())
    return target


def _check_in_child(feed: str, chunk_rows: int | None, queue: Any) -> None:
    from platform_assets.quality.gtfs.registry import check_feed

    load_libraries()
    start, cpu = time.perf_counter(), time.process_time()
    report = check_feed(feed, chunk_rows=chunk_rows)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    evaluations = sum(r.passed + r.failed + r.not_applicable for r in report.results)
    queue.put({"rows": report.rows, "checks": len(report.results), "seconds": elapsed, "cpu_seconds": cpu, "evaluations": evaluations,
               "failing": len(report.failing()), "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _gtfs_kit_in_child(feed: str, queue: Any) -> None:
    """The peer: gtfs-kit 9 reading the feed and running its validate() (imports not timed, as for ours)."""
    import gtfs_kit

    start, cpu = time.perf_counter(), time.process_time()
    problems = gtfs_kit.read_feed(feed, dist_units="km").validate()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    queue.put({"seconds": elapsed, "cpu_seconds": cpu, "problems": len(problems),
               "errors": int((problems["type"] == "error").sum()) if len(problems) else 0,
               "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def bench_gtfs_kit(feed: Path) -> dict[str, Any] | None:
    """gtfs-kit's validate() in a fresh process (None when the `bench` extra is not installed)."""
    try:
        import gtfs_kit  # noqa: F401
    except ImportError:
        return None
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_gtfs_kit_in_child, args=(str(feed), queue))
    child.start()
    figures = queue.get()
    child.join()
    return figures


def gtfs_kit_checks() -> int:
    """How many checks gtfs-kit's validators make: its check_column* calls and hand-written problems.
    Unlike units (each of ours is a MobilityData notice, usually over several columns): printed for
    continuity; the coverage figure is `gtfs_coverage()`'s, measured on the same broken feeds."""
    import inspect

    import gtfs_kit.validators

    source = inspect.getsource(gtfs_kit.validators)
    return sum(source.count(token) for token in ("check_column(", "check_column_id(", "check_column_linked_id(", "problems.append"))


def bench_gtfs(feed: Path, chunk_rows: int | None) -> dict[str, Any]:
    """Every GTFS check (check_feed, as the asset checks run it) in a fresh process, so its peak RSS
    is its own."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_check_in_child, args=(str(feed), chunk_rows, queue))
    child.start()
    figures = queue.get()
    child.join()
    return {"feed": feed.name, "chunk_rows": chunk_rows, **figures, "rows_per_s": figures["rows"] / figures["seconds"]}


def _print_gtfs(label: str, figures: dict[str, Any]) -> None:
    chunks = "whole tables" if figures["chunk_rows"] is None else f"{figures['chunk_rows']:,}-row chunks"
    print(f"GTFS {figures['feed']} ({label}, {chunks}): {figures['rows']:,} rows, {figures['checks']} checks in "
          f"{figures['seconds']:.2f} s ({figures['cpu_seconds']:.2f} CPU-s) -> {figures['rows_per_s']:,.0f} rows/s, "
          f"{figures['evaluations'] / figures['seconds']:,.0f} check evaluations/s, peak RSS {figures['peak_mib']:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--feed", type=Path, default=SHARED / "gtfs" / "nyc_subway_gtfs.zip")
    parser.add_argument("--copies", type=int, default=30, help="the feed's trips repeated this many times for the large run")
    parser.add_argument("--chunk-rows", type=int, default=25_000)
    parser.add_argument("--skip-ocds", action="store_true")
    parser.add_argument("--skip-whole", action="store_true", help="Skip the whole-tables run of the large feed.")
    parser.add_argument("--skip-gtfs-kit", action="store_true", help="Skip the gtfs-kit validate() peer run.")
    parser.add_argument("--only-ocds", action="store_true", help="Skip the GTFS part.")
    parser.add_argument("--baseline-ref", action="append", default=[], help="git ref whose OCDS checks are the baseline (repeatable).")
    parser.add_argument("--rounds", type=int, default=1, help="with --baseline-ref: alternating rounds per version")
    parser.add_argument("--ocds-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gtfs-memory", action="store_true", help="Peak RSS of the GTFS checks on generated and scaled feeds.")
    parser.add_argument("--stop-times-mb", type=int, nargs="+", default=[25, 100])
    parser.add_argument("--gtfs-baseline-ref", action="append", default=[], help="with --gtfs-memory: git ref measured as well")
    parser.add_argument("--gtfs-coverage", action="store_true", help="Only the rule coverage against gtfs-kit on the tests' broken feeds.")
    args = parser.parse_args()
    if args.ocds_child:
        _ocds_child(args.items)
        return
    if args.gtfs_coverage:
        gtfs_coverage()
        return
    if args.gtfs_memory:
        gtfs_memory(args.feed, args.copies, args.stop_times_mb, args.chunk_rows, args.gtfs_baseline_ref)
        return
    if args.baseline_ref:
        compare_ocds(args.items, args.baseline_ref, args.rounds)
        return
    if args.only_ocds:
        _print_ocds(args.items)
        return
    _print_gtfs("real", bench_gtfs(args.feed, args.chunk_rows))
    with tempfile.TemporaryDirectory() as folder:
        large = scaled_feed(args.feed, Path(folder) / f"{args.feed.stem}-x{args.copies}.zip", args.copies)
        chunked = bench_gtfs(large, args.chunk_rows)
        whole = None if args.skip_whole else bench_gtfs(large, None)  # every table read whole, as before chunking
        peer = None if args.skip_gtfs_kit else bench_gtfs_kit(large)
    _print_gtfs(f"x{args.copies}", chunked)
    if whole is not None:
        _print_gtfs(f"x{args.copies}, baseline", whole)
        print(f"chunked / whole: peak RSS {chunked['peak_mib'] / whole['peak_mib']:.2f}x, speed {chunked['rows_per_s'] / whole['rows_per_s']:.2f}x "
              f"(same results: {chunked['checks'] == whole['checks'] and chunked['failing'] == whole['failing']})")
    if peer is not None:
        from platform_assets.quality.gtfs.notices import RULES
        from platform_assets.quality.gtfs.registry import check_feed  # noqa: F401 (declares every rule)

        print(f"gtfs-kit {version('gtfs-kit')} read_feed + validate() on the same x{args.copies} feed: {peer['seconds']:.2f} s "
              f"({peer['cpu_seconds']:.2f} CPU-s), peak RSS {peer['peak_mib']:.0f} MiB, {peer['problems']} problems "
              f"({peer['errors']} errors), {gtfs_kit_checks()} checks")
        print(f"ours / gtfs-kit: {peer['cpu_seconds'] / chunked['cpu_seconds']:.2f}x faster in CPU-s, "
              f"{peer['seconds'] / chunked['seconds']:.2f}x in wall-clock s, peak RSS {chunked['peak_mib'] / peer['peak_mib']:.2f}x; "
              f"{len(RULES)} MobilityData notices + {chunked['checks'] - len(RULES)} own checks vs {gtfs_kit_checks()} gtfs-kit checks "
              "(unlike units: a notice usually spans several columns, a gtfs-kit check is one column; coverage below)")
        gtfs_coverage()
    if not args.skip_ocds:
        _print_ocds(args.items)


REPOSITORY = Path(__file__).resolve().parents[1]


def _ocds_child(items: int) -> None:
    """`--ocds-child`: one OCDS run in this process, figures as one JSON line (parents read it)."""
    figures = bench_ocds(items)
    figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({key: value for key, value in figures.items() if key != "levels"} | {"levels": figures["levels"]}))


def _ocds_in_process(items: int, package_root: Path | None) -> dict[str, Any]:
    """This tree's checks (package_root None) or those of an extracted ref, in a fresh interpreter:
    PYTHONPATH puts the extracted `platform_assets` ahead of the editable install."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in (package_root or REPOSITORY, REPOSITORY))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--ocds-child", "--items", str(items)],
                          env=env, cwd=package_root or REPOSITORY, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPOSITORY), "archive", ref, "platform_assets"], capture_output=True, check=True).stdout
    target = into / ref.replace("/", "_")
    target.mkdir()
    archive_path = into / f"{target.name}.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(target, filter="data")
    return target


def compare_ocds(items: int, refs: list[str], rounds: int) -> None:
    """Alternate this tree and each baseline ref, `rounds` times; print each run and the ratio of
    the medians (the machine may be shared: the load average is printed with every run)."""
    with tempfile.TemporaryDirectory() as folder:
        roots = {ref: _extract(ref, Path(folder)) for ref in refs}
        runs: dict[str, list[dict[str, Any]]] = {"this tree": [], **{ref: [] for ref in refs}}
        for round_number in range(rounds):
            for label, root in [("this tree", None), *roots.items()]:
                figures = _ocds_in_process(items, root)
                runs[label].append(figures)
                print(f"round {round_number + 1} {label:>10}: {figures['items_per_cpu_s']:,.0f} releases per CPU-second "
                      f"({figures['cpu_seconds']:.1f} CPU-s; wall {figures['seconds']:.1f} s, {figures['items_per_s']:,.0f} releases/s), "
                      f"{figures['checks']} checks, peak RSS {figures['peak_mib']:.0f} MiB, load average {os.getloadavg()[0]:.1f}", flush=True)
    median = {label: statistics.median(f["items_per_cpu_s"] for f in figures) for label, figures in runs.items()}
    wall = {label: statistics.median(f["items_per_s"] for f in figures) for label, figures in runs.items()}
    checks = {label: figures[0]["checks"] for label, figures in runs.items()}
    for ref in refs:
        print(f"this tree / {ref}: {median['this tree'] / median[ref]:.2f}x releases per CPU-second (medians {median['this tree']:,.0f} vs "
              f"{median[ref]:,.0f}; wall {wall['this tree'] / wall[ref]:.2f}x); {checks['this tree']} vs {checks[ref]} checks: "
              f"{median['this tree'] * checks['this tree'] / (median[ref] * checks[ref]):.2f}x item-checks per CPU-second")


GTFS_CHILD = """
import hashlib, inspect, json, resource, sys, time
from platform_assets.quality.gtfs.registry import check_feed
start, cpu = time.perf_counter(), time.process_time()
report = check_feed(sys.argv[1], chunk_rows=int(sys.argv[2]))
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
# Every result (counts and examples), path-free: equal digests mean the same results.
text = repr([r.to_dict() for r in report.results]).replace(sys.argv[1], "FEED")
print(json.dumps({"rows": report.rows, "seconds": elapsed, "cpu_seconds": cpu, "digest": hashlib.sha256(text.encode()).hexdigest()[:12],
                  "buckets": getattr(report, "spilled_buckets", None),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def gtfs_memory(feed: Path, copies: int, sizes: list[int], chunk_rows: int, refs: list[str]) -> None:
    """Every GTFS check on generated stop_times feeds and the scaled real feed, in fresh interpreters,
    for this tree and each baseline ref: peak RSS, CPU-s and a digest of the results."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from hostile_feeds import stop_times_feed

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        roots = {"this tree": REPOSITORY, **{ref: _extract(ref, root) for ref in refs}}
        feeds = [stop_times_feed(root / f"stop_times-{size}mb.zip", size, varied=True) for size in sizes]
        feeds.append(scaled_feed(feed, root / f"{feed.stem}-x{copies}.zip", copies))
        print("| feed | code | rows | CPU-s | wall s | peak RSS MiB | buckets | results digest | load average |")
        print("|---|---|---|---|---|---|---|---|---|")
        for path in feeds:
            for label, package_root in roots.items():
                env = dict(os.environ)
                env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (package_root, REPOSITORY))
                done = subprocess.run([sys.executable, "-c", GTFS_CHILD, str(path), str(chunk_rows)], env=env, cwd=package_root,
                                      capture_output=True, text=True, check=True)
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"| {path.name} | {label} | {figures['rows']:,} | {figures['cpu_seconds']:.2f} | {figures['seconds']:.2f} | "
                      f"{figures['peak_mib']:.0f} | {figures['buckets'] if figures['buckets'] is not None else '-'} | {figures['digest']} | "
                      f"{os.getloadavg()[0]:.1f} |", flush=True)


def gtfs_coverage() -> dict[str, float]:
    """Rule coverage, like for like: ours and gtfs-kit's validate() on each of the tests' one-rule
    broken feeds and its good feed (gtfs_rule_coverage.py), with the load average."""
    from benchmarks.gtfs_rule_coverage import coverage, print_coverage
    from platform_assets.quality.gtfs.notices import RULES
    from platform_assets.quality.gtfs.registry import check_feed  # noqa: F401 (declares every rule)

    start, cpu = time.perf_counter(), time.process_time()
    figures = print_coverage(coverage())
    print(f"  ({time.perf_counter() - start:.1f} s, {time.process_time() - cpu:.1f} CPU-s, load average {os.getloadavg()[0]:.1f}; "
          f"unlike units, for continuity: {len(RULES)} MobilityData notices vs {gtfs_kit_checks()} gtfs-kit check_column* calls "
          f"and hand-written problems = {len(RULES) / gtfs_kit_checks():.2f}x)")
    return figures


def _print_ocds(items: int) -> None:
    ocds = bench_ocds(items)
    # Pelican's checks by Pelican's names: coverage on all 559 OCDS 1.1 schema paths, its field
    # quality rules and its 37 compiled release checks (see README, Data quality).
    print(f"OCDS: {ocds['items']} compiled releases x {ocds['checks']} checks ({ocds['levels']}) in {ocds['seconds']:.1f} s "
          f"-> {ocds['items_per_s']:,.0f} releases/s, {ocds['item_checks_per_s']:,.0f} item-checks/s, "
          f"{ocds['evaluations_per_s']:,.0f} evaluations/s ({ocds['failing_checks']} checks failing)")
    print(f"peak memory of the OCDS run (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
