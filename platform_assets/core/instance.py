"""The Dagster instance commands run against: the one under DAGSTER_HOME, with a clear error if unset."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import DagsterInstance

from platform_assets.core.errors import SettingsError


@contextmanager
def dagster_instance() -> Iterator[DagsterInstance]:
    """The persistent instance of DAGSTER_HOME, disposed of on exit (its storage stays open otherwise)."""
    if not os.environ.get("DAGSTER_HOME"):
        raise SettingsError(
            "DAGSTER_HOME", "not set: point it at a folder holding dagster.yaml (make demo uses var/dagster_home)"
        )
    with DagsterInstance.get() as instance:
        yield instance
