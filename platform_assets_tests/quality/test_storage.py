"""Stored check runs on SQLite and PostgreSQL, through the Alembic `quality` branch."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from platform_assets.core.database import get_engine, upgrade_database
from platform_assets.lib.quality.result import CheckResult, Level, Outcome
from platform_assets.lib.quality.storage import (
    check_example,
    check_result,
    check_run,
    load_check_run,
    store_check_run,
)


def results(failed: int) -> list[CheckResult]:
    return [
        CheckResult(
            "ocid.exists", Level.FIELD, "ocid present", passed=5, failed=failed, not_applicable=1, score=80.0,
            examples={Outcome.FAILED: [{"item": "x", "value": None}] * failed, Outcome.PASSED: [{"item": "a", "when": "2020"}]},
            meta={"path": "ocid"},
        ),
        CheckResult("dataset.buyer_repetition", Level.DATASET, passed=1, score=70.0),
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/quality.db"
    return request.getfixturevalue("postgres_url")


def test_round_trip_and_duplicate_safe_rewrite(database_url: str) -> None:
    upgrade_database(database_url)
    engine = get_engine(database_url)
    assert {"quality_check_run", "quality_check_result", "quality_check_example"} <= set(inspect(engine).get_table_names())
    key = f"asset_{database_url[-6:]}"

    first = store_check_run(engine, key, "cdmx", "v1", results(failed=2), items=7, run_id="run-1")
    again = store_check_run(engine, key, "cdmx", "v1", results(failed=1), items=7, run_id="run-2")
    assert again == first

    stored = load_check_run(engine, key, "cdmx")
    assert stored is not None and stored.run_id == "run-2" and stored.items == 7
    loaded = {result.name: result for result in stored.results}
    assert loaded["ocid.exists"].failed == 1 and loaded["ocid.exists"].meta == {"path": "ocid"}
    assert loaded["ocid.exists"].examples[Outcome.FAILED] == [{"item": "x", "value": None}]
    assert loaded["dataset.buyer_repetition"].examples == {} and loaded["dataset.buyer_repetition"].ok
    with engine.connect() as connection:
        runs = connection.execute(select(func.count()).select_from(check_run).where(check_run.c.asset_key == key)).scalar_one()
        rows = connection.execute(
            select(func.count()).select_from(check_result).where(check_result.c.check_run_id == first)
        ).scalar_one()
        examples = connection.execute(select(func.count()).select_from(check_example)).scalar_one()
    assert (runs, rows) == (1, 2)
    assert examples >= 2  # one failed + one passed example of this run (other params may add theirs)

    store_check_run(engine, key, "cdmx", "v2", results(failed=0), items=8)
    latest = load_check_run(engine, key, "cdmx")
    assert latest is not None and latest.data_version == "v2" and all(r.ok for r in latest.results)
    assert load_check_run(engine, key, "cdmx", "v1") is not None
    assert load_check_run(engine, key, "other") is None


def test_concurrent_writers_of_one_run_leave_one_copy(postgres_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    upgrade_database(postgres_url)
    engine = get_engine(postgres_url)
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda n: store_check_run(engine, "concurrent", "p", "v", results(failed=n % 2), items=n), range(8)))
    assert len(set(ids)) == 1
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(check_result).where(check_result.c.check_run_id == ids[0])).scalar_one()
    assert rows == 2


def test_quality_branch_downgrades_and_upgrades(tmp_path: Path) -> None:
    from alembic import command

    from platform_assets.core.database import alembic_config

    url = f"sqlite:///{tmp_path}/branch.db"
    upgrade_database(url)
    engine = get_engine(url)
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, "quality@base")
    assert "quality_check_run" not in inspect(engine).get_table_names()
    upgrade_database(url)
    assert "quality_check_example" in inspect(engine).get_table_names()
