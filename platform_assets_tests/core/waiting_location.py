"""A one-job code location for tests of the run queue: the run waiting for a slot needs a code
location the coordinator can launch from, and loading the whole platform's takes seconds."""

from dagster import Definitions, job, op


@op
def wait_for_a_slot() -> None:
    """Never executed: the recording launcher only notes that the coordinator started the run."""


@job
def waiting_job() -> None:
    wait_for_a_slot()


defs = Definitions(jobs=[waiting_job])
