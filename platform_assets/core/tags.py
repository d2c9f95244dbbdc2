"""Run tags the production run coordinator limits on (deploy/dagster.yaml `tag_concurrency_limits`).

The systems set them on their jobs and run requests; the limits live in the instance config,
so changing a name here means changing it there too (a test loads both).
"""

# Value = the coverage id: at most one publication (coverage export or publication run) per coverage.
PUBLICATION_TAG = "platform/publication"
# Value = the system whose runs share a limit; trip exports are the heaviest runs (limit 2).
SYSTEM_TAG = "platform/system"
TRIP_EXPORTS_SYSTEM = "trip_exports"


def publication_tags(coverage_id: str) -> dict[str, str]:
    """Tags of every run that exports or publishes `coverage_id`."""
    return {PUBLICATION_TAG: coverage_id}
