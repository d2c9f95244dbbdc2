"""Every run tag key the platform sets, in one place.

The run coordinator limits on two of them (deploy/dagster.yaml `tag_concurrency_limits`), so
changing a name here means changing it there too (a test loads both).
"""

# Value = the coverage id: at most one publication (coverage export or publication run) per coverage.
PUBLICATION_TAG = "platform/publication"
# Value = the system whose runs share a limit; trip exports are the heaviest runs (limit 2).
SYSTEM_TAG = "platform/system"
TRIP_EXPORTS_SYSTEM = "trip_exports"
# Jobs that act on one thing without a partition (a trip export id, say) name it with this tag.
SUBJECT_TAG = "platform/subject"
# A job whose name is not the action users know (job names cannot repeat asset names) says it here.
ACTION_TAG = "platform/action"
# Why a transit run was requested: "automatic update", "frequency of <source>", "cli"...
TRANSIT_TRIGGER_TAG = "transit/trigger"
# What kind of work a run or an asset is for process tracking (extract, load, report...).
PROCESS_TYPE_TAG = "platform/process_type"
# A job (its tags reach its runs) may say how often a run is expected: "90s", "30m", "6h", "1d" or seconds.
EXPECTED_EVERY_TAG = "platform/expected_every"
# A run executed by a command's own process (CLI): "host|boot id|pid|process start", and the epoch
# second of that process's last heartbeat (core/run_liveness.py fails the run once it is gone).
RUN_OWNER_TAG = "platform/run_owner"
RUN_HEARTBEAT_TAG = "platform/heartbeat"
# The open-data request (POST /opendata/{month}/publish) a run answers.
OPENDATA_REQUEST_TAG = "trip_exports/request"


def publication_tags(coverage_id: str) -> dict[str, str]:
    """Tags of every run that exports or publishes `coverage_id`."""
    return {PUBLICATION_TAG: coverage_id}
