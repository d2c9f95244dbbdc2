"""`ocds_dataset_sensor`: keeps the dataset partitions in step with the folders under
PLATFORM_OCDS_SOURCE and requests a run for every dataset whose files changed."""

import hashlib
import json
from pathlib import Path

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import skip_when_held
from platform_assets.quality.jobs import ocds_quality_job
from platform_assets.quality.partitions import ocds_datasets
from platform_assets.quality.resources import OcdsSource


def folder_fingerprint(folder: Path) -> str:
    """A short digest of file names, sizes and modification times (no file is read)."""
    from platform_assets.quality.ocds.loader import SUFFIXES

    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES)):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@sensor(
    job=ocds_quality_job,
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.STOPPED,
    description="Adds a partition per OCDS dataset folder and checks datasets whose files changed.",
)
@skip_when_held(ocds_quality_job.name)
def ocds_dataset_sensor(
    context: SensorEvaluationContext, database: PlatformDatabase, ocds_source: OcdsSource
) -> SensorResult | SkipReason:
    from platform_assets.quality.ocds.loader import list_datasets

    root = ocds_source.path
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    datasets = list_datasets(root)
    fingerprints = {name: folder_fingerprint(root / name) for name in datasets}
    known = set(context.instance.get_dynamic_partitions(ocds_datasets.name))
    new_partitions = [name for name in datasets if name not in known]
    requests = [
        RunRequest(run_key=f"{name}:{fingerprint}", partition_key=name)
        for name, fingerprint in fingerprints.items()
        if seen.get(name) != fingerprint
    ]
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[ocds_datasets.build_add_request(new_partitions)] if new_partitions else [],
        cursor=json.dumps(fingerprints, sort_keys=True),
    )
