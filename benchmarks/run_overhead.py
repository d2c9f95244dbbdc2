"""Per-run overhead: a no-op asset run in-process vs through the queued run coordinator on
PostgreSQL (webserver + daemon + run worker subprocesses, as in production), and the cost of
loading the platform's code location (import `platform_assets.definitions` and call
`build_definitions()`), which every queued run pays: wall and CPU seconds and peak RSS of a fresh
interpreter, median of `--load-runs`, beside the floor measured in the same rounds (Dagster's
import alone, and a minimal location with one asset and one resource).

    .venv/bin/python benchmarks/run_overhead.py [--runs 10] [--load-runs 5] [--load-only] [--instructions]

Wall seconds on a shared host drift by +-15% between runs; `--instructions` also counts the CPU
instructions of each load under valgrind's callgrind (about a minute each, the same count on every
run of the same tree), the figure to compare across days and hosts.

Needs the local PostgreSQL server (127.0.0.1:5432, user postgres); creates and drops its database.
"""

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from platform_assets_tests.servers import free_port, postgres_database  # noqa: E402


def in_process(runs: int) -> list[float]:
    from dagster import instance_for_test, materialize

    from benchmarks.noop_location import noop

    timings = []
    with instance_for_test() as instance:
        for _ in range(runs):
            start = time.perf_counter()
            assert materialize([noop], instance=instance).success
            timings.append(time.perf_counter() - start)
    return timings


def queued_on_postgres(runs: int) -> list[float]:
    from dagster import DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient

    bin_dir = Path(sys.executable).parent
    with postgres_database("pa_bench") as url, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": "5432",
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": url.rsplit("/", 1)[1],
            "PLATFORM_DATA_DIR": str(Path(tmp) / "data"),
            "PYTHONPATH": str(REPO),
        }
        target = ["-m", "benchmarks.noop_location"]
        port = free_port()
        log = open(Path(tmp) / "log", "wb")
        processes = [
            subprocess.Popen([str(bin_dir / "dagster-webserver"), *target, "-h", "127.0.0.1", "-p", str(port)],
                             cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT),
            subprocess.Popen([str(bin_dir / "dagster-daemon"), "run", *target],
                             cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT),
        ]
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, "webserver did not start"
                time.sleep(0.5)
            client = DagsterGraphQLClient("127.0.0.1", port_number=port)
            timings = []
            for _ in range(runs):
                start = time.perf_counter()
                run_id = client.submit_job_execution("noop_job")
                while (status := client.get_run_status(run_id)) not in (
                    DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED
                ):
                    time.sleep(0.05)
                assert status == DagsterRunStatus.SUCCESS, status
                timings.append(time.perf_counter() - start)
            return timings
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=60)
            log.close()


LOAD_CODE_LOCATION = "from platform_assets.definitions import build_definitions; build_definitions()"
# The floor every Dagster code location pays, measured in the same rounds: Dagster's import alone,
# and a minimal location (one asset, one ConfigurableResource, one job).
IMPORT_DAGSTER = "import dagster"
MINIMAL_LOCATION = (
    "from dagster import ConfigurableResource, Definitions, asset, define_asset_job\n"
    "class Store(ConfigurableResource):\n    root: str = '.'\n"
    "@asset\ndef one(store: Store) -> None: ...\n"
    "Definitions(assets=[one], jobs=[define_asset_job('one_job', selection=[one])], resources={'store': Store()})"
)
LOADS = {"platform code location (import + build)": LOAD_CODE_LOCATION, "minimal Dagster location": MINIMAL_LOCATION,
         "import dagster alone": IMPORT_DAGSTER}


# Each load ends the interpreter at once: its shutdown (a last full garbage collection, longer the
# more objects the collector still tracks) is not part of loading and would favour the platform,
# which freezes the objects alive at its first load (definitions.py).
EXIT_NOW = "\nimport os\nos._exit(0)"


def _load_once(code: str) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of a fresh interpreter running `code`, startup included."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code + EXIT_NOW], cwd=REPO, env=env)
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix in earlier children).
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, f"{code!r} failed ({process.returncode})"
    # ru_maxrss is in KiB on Linux.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def bytecode_state() -> str:
    """How many of the code location's modules have current bytecode: a deployment installs it
    (pip compiles at install, `make setup` in a checkout); without it each load compiles them all."""
    sources = sorted((REPO / "platform_assets").rglob("*.py"))
    current = 0
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        current += cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime
    return f"bytecode: {current} of {len(sources)} platform modules compiled and current"


def instructions(code: str) -> int:
    """CPU instructions of a fresh interpreter running `code`, counted by callgrind."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code + EXIT_NOW],
        cwd=REPO, env=env, capture_output=True, text=True, check=True,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    assert found, result.stderr[-2000:]
    return int(found.group(1))


def describe_instructions() -> str:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(LOADS, pool.map(instructions, LOADS.values()), strict=True))
    lines = [f"{name:<42} {count / 1e9:6.3f} G instructions" for name, count in counts.items()]
    ours, minimal = counts["platform code location (import + build)"], counts["minimal Dagster location"]
    dagster = counts["import dagster alone"]
    lines.append(f"platform / minimal location: {ours / minimal:.2f}x instructions; platform / import dagster: "
                 f"{ours / dagster:.2f}x (the platform's own share: {(ours - dagster) / 1e9:.3f} G)")
    return "\n".join(lines)


def code_location_load(runs: int) -> dict[str, list[tuple[float, float, float]]]:
    """Each of LOADS `runs` times, alternated round by round so that all see the same machine."""
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in LOADS}
    for _ in range(runs):
        for name, code in LOADS.items():
            samples[name].append(_load_once(code))
    return samples


def describe_load(samples: dict[str, list[tuple[float, float, float]]]) -> str:
    lines = []
    medians = {name: tuple(statistics.median(column) for column in zip(*rows, strict=True)) for name, rows in samples.items()}
    for name, (wall, cpu, rss) in medians.items():
        lines.append(f"{name:<42} runs={len(samples[name]):>3}  median wall={wall:.2f}s  cpu={cpu:.2f}s  peak rss={rss:.0f} MiB")
    ours, minimal = medians["platform code location (import + build)"], medians["minimal Dagster location"]
    lines.append(f"platform / minimal location: {ours[0] / minimal[0]:.2f}x wall, {ours[1] / minimal[1]:.2f}x CPU "
                 f"(+{ours[0] - minimal[0]:.2f} s wall)  (load average {os.getloadavg()[0]:.2f})")
    return "\n".join(lines)


def describe(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"{name:<32} runs={len(timings):>3}  median={statistics.median(timings):7.3f}s  p95={p95:7.3f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--load-runs", type=int, default=5)
    parser.add_argument("--load-only", action="store_true", help="only time the code location's load")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each load's CPU instructions under callgrind (needs valgrind)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(bytecode_state())
    print(describe_load(code_location_load(args.load_runs)))
    if args.instructions:
        print(describe_instructions())
    if args.load_only:
        return
    local = in_process(args.runs)
    queued = queued_on_postgres(args.runs)
    print(describe("in-process (SQLite, ephemeral)", local))
    print(describe("queued coordinator (PostgreSQL)", queued))
    print(f"ratio queued / in-process (median): {statistics.median(queued) / statistics.median(local):.1f}x")


if __name__ == "__main__":
    main()
