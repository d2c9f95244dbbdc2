"""Where check results live: check runs, their results and sampled examples (SQLite or PostgreSQL).

A check run is identified by (asset key, partition, data version): writing the same run again
replaces its results in one transaction, so retries and concurrent writers never duplicate rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from platform_assets.lib.db import new_metadata
from platform_assets.lib.quality.result import CheckResult, Level, Outcome

metadata = new_metadata()

check_run = Table(
    "quality_check_run",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("asset_key", String(300), nullable=False),
    Column("partition_key", String(200), nullable=False, default=""),
    Column("data_version", String(100), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("items", Integer, nullable=False, default=0),
    Column("checks", Integer, nullable=False, default=0),
    Column("failed_checks", Integer, nullable=False, default=0),
    UniqueConstraint("asset_key", "partition_key", "data_version"),
)

check_result = Table(
    "quality_check_result",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_run_id", Integer, ForeignKey("quality_check_run.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("level", String(20), nullable=False),
    Column("description", Text),
    Column("passed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("not_applicable", Integer, nullable=False),
    Column("share", Float),
    Column("score", Float),
    Column("threshold", Float, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("meta", JSON),
    UniqueConstraint("check_run_id", "name"),
)

check_example = Table(
    "quality_check_example",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_result_id", Integer, ForeignKey("quality_check_result.id", ondelete="CASCADE"), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("position", Integer, nullable=False),
    Column("example", JSON, nullable=False),
    UniqueConstraint("check_result_id", "outcome", "position"),
)


def _plain(value: Any) -> Any:
    """JSON-safe copy (dates, decimals and numpy scalars become text or numbers)."""
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class StoredRun:
    id: int
    asset_key: str
    partition_key: str
    data_version: str
    run_id: str | None
    created_at: datetime
    items: int
    results: list[CheckResult]


def store_check_run(
    engine: Engine,
    asset_key: str,
    partition_key: str,
    data_version: str,
    results: list[CheckResult],
    items: int = 0,
    run_id: str | None = None,
) -> int:
    """Write (or rewrite) one check run with its results and examples; return its id."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    now = datetime.now(UTC)
    values = {
        "asset_key": asset_key,
        "partition_key": partition_key or "",
        "data_version": data_version,
        "run_id": run_id,
        "created_at": now,
        "items": items,
        "checks": len(results),
        "failed_checks": sum(1 for result in results if not result.ok),
    }
    upsert = dialect.insert(check_run).values(**values)
    upsert = upsert.on_conflict_do_update(
        index_elements=["asset_key", "partition_key", "data_version"],
        set_={key: upsert.excluded[key] for key in ("run_id", "created_at", "items", "checks", "failed_checks")},
    ).returning(check_run.c.id)
    with engine.begin() as connection:
        run_pk = connection.execute(upsert).scalar_one()
        old_results = select(check_result.c.id).where(check_result.c.check_run_id == run_pk)
        connection.execute(delete(check_example).where(check_example.c.check_result_id.in_(old_results)))
        connection.execute(delete(check_result).where(check_result.c.check_run_id == run_pk))
        for result in results:
            result_pk = connection.execute(
                insert(check_result)
                .values(
                    check_run_id=run_pk,
                    name=result.name,
                    level=str(result.level),
                    description=result.description,
                    passed=result.passed,
                    failed=result.failed,
                    not_applicable=result.not_applicable,
                    share=result.share,
                    score=result.score,
                    threshold=result.threshold,
                    ok=result.ok,
                    meta=_plain(result.meta),
                )
                .returning(check_result.c.id)
            ).scalar_one()
            rows = [
                {"check_result_id": result_pk, "outcome": str(outcome), "position": position, "example": _plain(example)}
                for outcome, examples in result.examples.items()
                for position, example in enumerate(examples)
            ]
            if rows:
                connection.execute(insert(check_example), rows)
    return int(run_pk)


def load_check_run(
    engine: Engine, asset_key: str, partition_key: str = "", data_version: str | None = None
) -> StoredRun | None:
    """The check run of that data version (default: the latest run of the asset partition)."""
    query = select(check_run).where(check_run.c.asset_key == asset_key, check_run.c.partition_key == (partition_key or ""))
    if data_version is not None:
        query = query.where(check_run.c.data_version == data_version)
    query = query.order_by(check_run.c.created_at.desc(), check_run.c.id.desc()).limit(1)
    with engine.connect() as connection:
        run = connection.execute(query).first()
        if run is None:
            return None
        result_rows = connection.execute(
            select(check_result).where(check_result.c.check_run_id == run.id).order_by(check_result.c.id)
        ).all()
        example_rows = connection.execute(
            select(check_example)
            .join(check_result, check_result.c.id == check_example.c.check_result_id)
            .where(check_result.c.check_run_id == run.id)
            .order_by(check_example.c.check_result_id, check_example.c.outcome, check_example.c.position)
        ).all()
    examples: dict[int, dict[Outcome, list[dict[str, Any]]]] = {}
    for row in example_rows:
        examples.setdefault(row.check_result_id, {}).setdefault(Outcome(row.outcome), []).append(row.example)
    results = [
        CheckResult(
            name=row.name,
            level=Level(row.level),
            description=row.description or "",
            passed=row.passed,
            failed=row.failed,
            not_applicable=row.not_applicable,
            score=row.score,
            threshold=row.threshold,
            examples=examples.get(row.id, {}),
            meta=dict(row.meta or {}),
        )
        for row in result_rows
    ]
    return StoredRun(run.id, run.asset_key, run.partition_key, run.data_version, run.run_id, run.created_at, run.items, results)
