"""Lineage out: every tracked run as OpenLineage START and COMPLETE / FAIL / ABORT events (no Dagster).

Sent with the openlineage-python client over its HTTP transport to `PLATFORM_OPENLINEAGE_URL`
(`POST {url}/api/v1/lineage`, as Marquez and other OpenLineage consumers take it); off when the
setting is empty. The job is the process (namespace = the deployment), the inputs its sources,
the outputs its targets and the files its run wrote. A consumer that is down never fails a run:
the problem is returned for the caller to log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PRODUCER = "https://github.com/platform-assets/platform_assets/tracking"
# Dagster run ids are UUIDs already; runs of the Python API get a stable one from their name and number.
RUN_NAMESPACE = uuid.UUID("6f1d6a4e-3c52-4a57-9a2e-0c6c5d1c9b10")
EVENT_TYPES = ("START", "COMPLETE", "FAIL", "ABORT")


@dataclass(frozen=True)
class LineageRun:
    """What an event says about one run."""

    run_id: str
    process_name: str
    sources: Sequence[str] = ()
    targets: Sequence[str] = ()
    files_written: Sequence[str] = ()
    error: str | None = None


def run_uuid(run_id: str) -> str:
    """The run's id when it is a UUID, else a UUID derived from it."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(RUN_NAMESPACE, run_id))


def _dataset(name: str, namespace: str) -> tuple[str, str]:
    """(namespace, name): a URI's scheme and host name it (`s3://bucket`, `file://`), an asset key the deployment."""
    if "://" in name:
        scheme, _, rest = name.partition("://")
        host, _, path = rest.partition("/")
        return f"{scheme}://{host}", "/" + path
    return namespace, name


class LineageEmitter:
    """Sends the events of tracked runs to one OpenLineage HTTP endpoint."""

    def __init__(self, url: str, namespace: str, timeout_seconds: float = 5.0) -> None:
        from openlineage.client import OpenLineageClient
        from openlineage.client.transport.http import HttpConfig, HttpTransport

        # No retries inside the client: a consumer that is down must not hold a sensor tick for long.
        config = HttpConfig(url=url, timeout=timeout_seconds, retry={"total": 0})
        self.client = OpenLineageClient(transport=HttpTransport(config))
        self.namespace = namespace
        self.url = url
        self.problems: list[str] = []

    def event(self, event_type: str, run: LineageRun, at: datetime | None = None) -> object:
        from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import error_message_run

        if event_type not in EVENT_TYPES:
            raise ValueError(f"OpenLineage event type {event_type!r} is not one of: {', '.join(EVENT_TYPES)}")
        facets = {}
        if run.error and event_type == "FAIL":
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=run.error, programmingLanguage="python", producer=PRODUCER
            )
        finished = event_type != "START"
        outputs = [*run.targets, *run.files_written] if finished else list(run.targets)
        return RunEvent(
            eventType=getattr(RunState, event_type),
            eventTime=(at or datetime.now(UTC)).isoformat(),
            run=Run(runId=run_uuid(run.run_id), facets=facets),
            job=Job(namespace=self.namespace, name=run.process_name),
            producer=PRODUCER,
            inputs=[InputDataset(*_dataset(name, self.namespace)) for name in run.sources],
            outputs=[OutputDataset(*_dataset(name, self.namespace)) for name in dict.fromkeys(outputs)],
        )

    def emit(self, event_type: str, run: LineageRun, at: datetime | None = None) -> str | None:
        """Send one event; a one-line problem instead of an exception when the consumer cannot take it."""
        try:
            self.client.emit(self.event(event_type, run, at))  # type: ignore[arg-type]
        except Exception as error:  # the client raises requests' and its own errors
            problem = f"OpenLineage {event_type} for {run.process_name} not sent to {self.url}: {type(error).__name__}: {error}"
            self.problems.append(problem)
            return problem
        return None


def lineage_emitter(url: str, namespace: str) -> LineageEmitter | None:
    """An emitter for `url` (PLATFORM_OPENLINEAGE_URL), or None when lineage is off (empty)."""
    return LineageEmitter(url.rstrip("/"), namespace) if url.strip() else None
