"""`platform_inventory`: what the platform holds right now (objects per area, rows per table).

It is the last step of the demo and a quick health view in the UI: it touches the database and
the object store, so a misconfigured deployment fails here with a one-line message.
"""


import json
from collections import defaultdict
from datetime import UTC, datetime

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.metadata import ROW_COUNT
from platform_assets.core.objectstore import ObjectStore

INVENTORY_KEY = "reports/platform_inventory.json"


@asset(
    group_name="core",
    owners=["team:platform"],
    kinds={"json"},
    description="Objects per area and rows per table, written as a JSON report.",
)
def platform_inventory(
    context: AssetExecutionContext, object_store: ObjectStore, database: PlatformDatabase
) -> MaterializeResult:
    from sqlalchemy import func, inspect, select, table

    objects: dict[str, dict[str, int]] = defaultdict(lambda: {"objects": 0, "bytes": 0})
    for info in object_store.list():
        if info.key == INVENTORY_KEY:
            continue
        area = info.key.split("/", 1)[0]
        objects[area]["objects"] += 1
        objects[area]["bytes"] += info.size
    rows: dict[str, int] = {}
    with database.engine.connect() as connection:
        for name in sorted(inspect(connection).get_table_names()):
            if name != "alembic_version":
                rows[name] = connection.execute(select(func.count()).select_from(table(name))).scalar_one()
    report = {"generated_at": datetime.now(UTC).isoformat(), "objects": dict(objects), "tables": rows}
    stored = object_store.put_bytes(INVENTORY_KEY, json.dumps(report, indent=2).encode(), "application/json")
    context.log.info(f"inventory written to {stored.uri}")
    table_md = "\n".join(f"| {name} | {count} |" for name, count in rows.items())
    objects_md = "\n".join(f"| {area} | {v['objects']} | {v['bytes']} |" for area, v in sorted(objects.items()))
    return MaterializeResult(
        metadata={
            "uri": MetadataValue.url(stored.uri),
            "size": stored.size,
            "sha256": stored.sha256,
            "objects": sum(v["objects"] for v in objects.values()),
            ROW_COUNT: sum(v["objects"] for v in objects.values()),  # one entry per object
            "tables": MetadataValue.md("| table | rows |\n|---|---|\n" + table_md),
            "areas": MetadataValue.md("| area | objects | bytes |\n|---|---|---|\n" + objects_md),
        }
    )
