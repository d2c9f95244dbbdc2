"""A snapshot of the whole code location: any change to assets, dependencies, partitions, checks,
jobs, schedules or sensors shows up in review as a diff of `snapshots/code_location.txt`.

Regenerate after an intended change: `UPDATE_SNAPSHOTS=1 .venv/bin/pytest platform_assets_tests/core/test_graph_snapshot.py`.
"""

import os
from collections import Counter
from pathlib import Path

from platform_assets.definitions import build_definitions

defs = build_definitions()

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "code_location.txt"


def describe_code_location() -> str:
    graph = defs.resolve_asset_graph()
    repository = defs.get_repository_def()
    checks = Counter(key.asset_key for key in graph.asset_check_keys)
    lines = ["# assets: key [group] partitions <- upstream | checks"]
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = node.partitions_def
        kind = type(partitions).__name__ if partitions else "-"
        name = getattr(partitions, "name", None)
        upstream = ", ".join(sorted(parent.to_user_string() for parent in node.parent_keys)) or "-"
        lines.append(
            f"{key.to_user_string()} [{node.group_name}] {kind}{f'({name})' if name else ''} <- {upstream}"
            f" | {checks.get(key, 0)} checks"
        )
    lines.append("# jobs")
    lines += sorted(job.name for job in repository.get_all_jobs() if not job.name.startswith("__"))
    lines.append("# schedules: name cron job")
    lines += sorted(f"{s.name} {s.cron_schedule} {s.job_name}" for s in repository.schedule_defs)
    lines.append("# sensors: name default-status")
    lines += sorted(f"{s.name} {s.default_status.value}" for s in repository.sensor_defs)
    return "\n".join(lines) + "\n"


def test_code_location_matches_snapshot() -> None:
    current = describe_code_location()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), "code location changed: review, then regenerate the snapshot"
