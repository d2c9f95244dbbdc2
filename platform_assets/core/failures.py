"""How a platform error ends a Dagster step: as a `Failure` whose headline is the one-line message
itself (not a wrapped traceback), retried by the step's or job's retry policy only when it is an
outage that may pass."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Failure

from platform_assets.core.errors import DatabaseError, ObjectStoreError, PlatformError

# Outages every system shares; a system adds its own (transit: FetchError).
OUTAGES: tuple[type[PlatformError], ...] = (DatabaseError, ObjectStoreError)


@contextmanager
def one_line_failure(outages: tuple[type[PlatformError], ...] = OUTAGES) -> Iterator[None]:
    """Turn a PlatformError into a Failure; only `outages` may be retried. A bad feed, catalog,
    dataset or parameter will not get better: it fails at once."""
    try:
        yield
    except PlatformError as error:
        transient = isinstance(error, outages)
        raise Failure(description=f"{type(error).__name__}: {error}", allow_retries=transient) from error
