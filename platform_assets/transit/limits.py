"""Every size, ratio and time limit of the transit system in one place (README "Limits").

The Dagster layer builds `TransitLimits` from settings (see `runtime.transit_limits`) and passes it
into the workflow functions; the defaults here are the settings' defaults.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from platform_assets.lib.gtfs.limits import DEFAULT_LIMITS, GIB, ZipLimits
from platform_assets.transit.errors import TransitError


@dataclass(frozen=True)
class TransferLimits:
    """Limits of one network transfer (a fetch or an upload).

    `connect_timeout` bounds each connection attempt, `idle_timeout` each wait for the next bytes,
    `deadline` the whole transfer (so a server trickling one byte a second cannot hold a run), and
    `max_bytes` what a download may write to disk (0: no limit; uploads send a file already here).
    """

    connect_timeout: float = 30.0
    idle_timeout: float = 60.0
    deadline: float = 1800.0
    max_bytes: int = 2 * GIB

    def clock(self) -> Deadline:
        return Deadline(time.monotonic() + self.deadline, self.deadline)


class DeadlineExceeded(TransitError):
    """A transfer ran past its total deadline."""


@dataclass(frozen=True)
class Deadline:
    """When a started transfer must be over."""

    at: float
    seconds: float

    def remaining(self) -> float:
        return max(self.at - time.monotonic(), 0.0)

    def check(self, what: str) -> None:
        if time.monotonic() > self.at:
            raise DeadlineExceeded(f"{what}: not finished within the {self.seconds:g} s deadline; aborted")


@dataclass(frozen=True)
class TransitLimits:
    """All transit limits: data source fetches, publication uploads and feed archives."""

    fetch: TransferLimits = field(default_factory=TransferLimits)
    upload: TransferLimits = field(default_factory=lambda: TransferLimits(max_bytes=0))
    archive: ZipLimits = DEFAULT_LIMITS
