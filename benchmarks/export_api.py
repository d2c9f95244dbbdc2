"""Trip-export HTTP API under load: requests/s and p50/p99 latency with 16 concurrent clients.

Creates a throwaway PostgreSQL database on the local server, starts `platform-assets api serve`
(uvicorn, one process) on a free loopback port with no rate limit, creates a registry-user token,
then, for each endpoint, `--clients` threads each with its own keep-alive httpx client send
`--requests` calls in all:
  GET  /exports/{uuid}   status of one export (one SELECT + the API log line INSERT)
  POST /exports          validate and queue an export (INSERT export, recipient, 2 log lines)

    PYTHONPATH=. python benchmarks/export_api.py [--clients 16] [--requests 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from platform_assets_tests.servers import free_port, postgres_database  # noqa: E402

BODY = {"start_date": "2025-03-01", "end_date": "2025-03-31", "recipients": ["Ana Lopez <ana@registry.example>"]}


def measure(base_url: str, headers: dict[str, str], method: str, path: str, clients: int, total: int,
            body: dict | None = None) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, errors) of `total` calls spread over `clients` threads."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    start_gate = threading.Barrier(clients + 1)

    def client(count: int) -> None:
        nonlocal errors
        mine: list[float] = []
        failed = 0
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as session:
            session.request(method, path, json=body)  # warm the connection
            start_gate.wait()
            for _ in range(count):
                began = time.perf_counter()
                response = session.request(method, path, json=body)
                mine.append(time.perf_counter() - began)
                if response.status_code >= 300:
                    failed += 1
        with lock:
            latencies.extend(mine)
            errors += failed

    threads = [threading.Thread(target=client, args=(count,)) for count in per_client]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    quantiles = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, quantiles[49] * 1000, quantiles[98] * 1000, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000, help="Calls per endpoint, in all.")
    args = parser.parse_args()

    from platform_assets.core.database import dispose_engine, get_engine, upgrade_database
    from platform_assets.trip_exports.scope import Actor
    from platform_assets.trip_exports.tokens import create_token

    with postgres_database("pa_bench_api") as url, tempfile.TemporaryDirectory(prefix="export-api-") as tmp:
        upgrade_database(url)
        engine = get_engine(url)
        admin = Actor.parse("bench@registry.example", "registry.admin")
        token, _info = create_token(engine, admin, "user@registry.example", "registry.user")
        dispose_engine(url)
        port = free_port()
        env = {**os.environ, "PLATFORM_DATA_DIR": f"{tmp}/data", "PLATFORM_DATABASE_URL": url,
               "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        server = subprocess.Popen(
            [sys.executable, "-m", "platform_assets.cli", "api", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--rate-limit", "0"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base_url}/openapi.json", timeout=1)
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"the API did not start: {server.stderr.read().decode()[-2000:]}") from None
                    time.sleep(0.2)
            headers = {"Authorization": f"Bearer {token}"}
            export_uuid = httpx.post(f"{base_url}/exports", json=BODY, headers=headers).json()["uuid"]
            print(f"{args.clients} clients, {args.requests} requests per endpoint, uvicorn (1 process) + PostgreSQL, "
                  f"{os.cpu_count()} cores")
            print(f"{'endpoint':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            for label, method, path, body in (
                ("GET /exports/{uuid}", "GET", f"/exports/{export_uuid}", None),
                ("POST /exports", "POST", "/exports", BODY),
            ):
                rate, p50, p99, errors = measure(base_url, headers, method, path, args.clients, args.requests, body)
                print(f"{label:<22} {rate:>8.0f} {p50:>8.1f} {p99:>8.1f} {errors:>7}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
