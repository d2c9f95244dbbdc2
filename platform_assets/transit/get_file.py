"""Tartare's file download actions as a UI launchpad run (`platform-assets transit get-file` on the
CLI): any kept file of a contributor export, a coverage export or a data set of any source, or one
member of it (e.g. stops.txt). The run reports a link to the file (S3: presigned for a day) with its
size and sha256, and the first lines of a text member in the run's metadata."""

import hashlib
import tempfile
from pathlib import Path

from dagster import (
    Config,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    Output,
    graph,
    op,
)
from pydantic import Field

from platform_assets.core.failures import one_line_failure
from platform_assets.core.objectstore import ObjectStore
from platform_assets.core.tags import ACTION_TAG
from platform_assets.transit.errors import TransitError
from platform_assets.transit.jobs import MAX_RUNTIME_TAG
from platform_assets.transit.resources import TransitSettings
from platform_assets.transit.store import ROOT

GET_FILE_JOB = "transit_get_file"
LINK_SECONDS = 24 * 3600
PREVIEW_LINES = 20


class GetFileConfig(Config):
    """Launchpad options: which kept file (the same choices as the CLI's get-file)."""

    subject: str = Field(description="Contributor id (or coverage id with `coverage: true`).")
    file_name: str = Field(default="", description="A member of the zip (e.g. stops.txt); empty: the whole file.")
    coverage: bool = Field(default=False, description="`subject` is a coverage: its export.")
    source: str = Field(default="", description="A data source of contributor `subject` (any format): one of its data sets.")
    version: str = Field(default="", description="One of the kept versions; empty: the latest.")


def member_key(subject: str, kind: str, version: str, file_name: str) -> str:
    """Where an extracted member is put: one object per kept version and member (a second request overwrites it)."""
    return f"{ROOT}/downloads/{kind}/{subject}/{version}/{file_name}"


@op(name="transit_get_file_op", description="Links a kept file, or a member extracted from it, in the run's metadata.")
def get_file_op(
    context: OpExecutionContext, config: GetFileConfig, object_store: ObjectStore, transit: TransitSettings
) -> Output[None]:
    from platform_assets.lib.gtfs.reader import read_member
    from platform_assets.transit.service import stored_file

    with one_line_failure():
        if config.coverage and config.source:
            raise TransitError("coverage and source exclude each other")
        key, stored_name, version = stored_file(
            object_store, config.subject, coverage=config.coverage, source=config.source or None,
            version=config.version or None,
        )
        kind = "coverage" if config.coverage else f"source-{config.source}" if config.source else "contributor"
        preview = ""
        if config.file_name:
            with tempfile.TemporaryDirectory(prefix="transit-get-") as workdir:
                local = Path(object_store.download(key, Path(workdir) / stored_name))
                data = read_member(local, config.file_name, transit.limits().archive)
            key = member_key(config.subject, kind, version, config.file_name)
            object_store.put_bytes(key, data)
            text = data[:64 * 1024].decode("utf-8", errors="replace")
            preview = "\n".join(text.splitlines()[:PREVIEW_LINES])
            size, sha256 = len(data), hashlib.sha256(data).hexdigest()
        else:
            size, digest = 0, hashlib.sha256()
            with object_store.open(key) as stream:  # streamed: an export may be large
                while chunk := stream.read(1 << 20):
                    size += len(chunk)
                    digest.update(chunk)
            sha256 = digest.hexdigest()
        link = object_store.presigned_url(key, LINK_SECONDS)
        name = config.file_name or stored_name
    what = f"{name} of {kind.replace('-', ' ')} {config.subject} version {version}"
    context.log.info(f"{what}: {link} ({size} bytes)")
    metadata = {
        "file": name, "version": version, "uri": object_store.uri(key), "link": MetadataValue.url(link),
        "size_bytes": size, "sha256": sha256,
    }
    if preview:
        metadata["preview"] = MetadataValue.md(f"```\n{preview}\n```")
    return Output(None, metadata=metadata)


@graph(name=GET_FILE_JOB)
def get_file_graph() -> None:
    get_file_op()


def build_get_file_job(max_runtime_seconds: int) -> JobDefinition:
    return get_file_graph.to_job(
        name=GET_FILE_JOB,
        tags={ACTION_TAG: "get_file", MAX_RUNTIME_TAG: str(max_runtime_seconds)},
        description="Tartare's file download (manual action): a link to any kept file of a contributor export, "
        "coverage export or data set, or to one member of it, in the run's metadata. Launchpad: "
        "ops.transit_get_file_op.config.{subject, file_name, coverage, source, version}.",
    )
