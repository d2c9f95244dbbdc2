"""Distributed step execution: a real celery worker on RabbitMQ runs the steps of a platform job,
against a PostgreSQL-backed Dagster instance (deploy/dagster.yaml)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from platform_assets_tests import servers

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _ancestors(pid: int) -> set[int]:
    """pid and every parent of it, read from /proc."""
    chain = set()
    while pid > 1:
        chain.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain


@pytest.fixture
def production_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with servers.postgres_database("pa_celery") as url:
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        env = {name: value for name, value in os.environ.items() if not name.startswith("PLATFORM_")}
        env.update(
            DAGSTER_HOME=str(home),
            DAGSTER_PG_HOST="127.0.0.1",
            DAGSTER_PG_PORT="5432",
            DAGSTER_PG_USER="postgres",
            DAGSTER_PG_PASSWORD="",
            DAGSTER_PG_DB=url.rsplit("/", 1)[1],
            PLATFORM_DATA_DIR=str(tmp_path / "data"),
            PLATFORM_EXECUTOR="celery",
        )
        yield env


def test_steps_run_in_the_celery_worker(production_env: dict[str, str], tmp_path: Path) -> None:
    worker_name = f"platform-test-{uuid.uuid4().hex[:8]}"
    log = open(tmp_path / "worker.log", "wb")
    # `dagster-celery worker start` is the documented command; `-P solo` runs tasks in the
    # worker process itself so its PID identifies where the steps ran.
    worker = subprocess.Popen(
        [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y",
         str(REPO / "deploy" / "celery.yaml"), "-n", worker_name, "--", "-P", "solo"],
        cwd=REPO, env={**production_env, "PATH": f"{BIN}:{os.environ['PATH']}"},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while b"ready" not in (tmp_path / "worker.log").read_bytes():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "celery worker did not become ready"
            time.sleep(0.5)

        os.environ.update({k: v for k, v in production_env.items() if k.startswith("DAGSTER_PG_")})
        instance = DagsterInstance.from_config(production_env["DAGSTER_HOME"])
        try:
            # A contributor export of a real feed (the demo catalog's Caltrain GTFS), forced.
            instance.add_dynamic_partitions("contributors", ["caltrain"])
            run_config = tmp_path / "force.yaml"
            run_config.write_text(json.dumps({"ops": {"contributor_export": {"config": {"force": True}}}}))
            launch = subprocess.run(
                [str(BIN / "dagster"), "job", "execute", "-m", "platform_assets.definitions",
                 "-j", "transit_contributor_export", "--tags", json.dumps({"dagster/partition": "caltrain"}),
                 "-c", str(run_config)],
                cwd=REPO, env=production_env, capture_output=True, text=True, timeout=300,
            )
            assert launch.returncode == 0, launch.stdout[-3000:] + launch.stderr[-3000:]
            [run] = instance.get_runs()
            assert run.status.value == "SUCCESS"
            events = [entry.dagster_event for entry in instance.all_logs(run.run_id) if entry.dagster_event]
            step_pids = {e.pid for e in events if e.event_type == DagsterEventType.STEP_SUCCESS}
            launcher_pids = {e.pid for e in events if e.event_type == DagsterEventType.RUN_START}
            assert step_pids and launcher_pids
            assert not step_pids & launcher_pids, "a step ran in the launching process"
            for pid in step_pids:
                assert worker.pid in _ancestors(pid), f"step pid {pid} is not the celery worker's"
            materialized = instance.get_latest_materialization_event(AssetKey("contributor_export"))
            assert materialized is not None and materialized.run_id == run.run_id
            metadata = materialized.asset_materialization.metadata
            exported = Path(str(metadata["uri"].value).removeprefix("file://"))
            assert exported.is_file() and exported.stat().st_size == metadata["size"].value
        finally:
            instance.dispose()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()
