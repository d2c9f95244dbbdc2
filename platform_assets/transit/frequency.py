"""When a data source is due for a check, from its frequency (pure; used by the frequency sensor)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from platform_assets.transit.catalog import Frequency


def last_due(frequency: Frequency, now: datetime) -> datetime:
    """The latest moment at or before `now` when the source was due.

    continuously: every `minutes`, on boundaries counted from midnight (so the sensor's cursor
    can be a single timestamp); daily, weekly and monthly: at `hour_of_day` on the day
    (weekday 0 = Monday; day of month).
    """
    if frequency.type == "continuously":
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = int((now - midnight).total_seconds() // 60)
        return midnight + timedelta(minutes=elapsed - elapsed % frequency.minutes)
    moment = now.replace(hour=frequency.hour_of_day, minute=0, second=0, microsecond=0)
    if frequency.type == "daily":
        if moment > now:
            moment -= timedelta(days=1)
    elif frequency.type == "weekly":
        moment -= timedelta(days=(moment.weekday() - frequency.day_of_week) % 7)
        if moment > now:
            moment -= timedelta(days=7)
    else:  # monthly
        moment = moment.replace(day=frequency.day_of_month)
        if moment > now:
            previous_month = (moment.replace(day=1) - timedelta(days=1)).replace(day=frequency.day_of_month)
            moment = previous_month
    return moment


def is_due(frequency: Frequency, now: datetime, last_tick: datetime | None) -> datetime | None:
    """The due moment when it falls after the last tick (always without one), else None."""
    due = last_due(frequency, now)
    if last_tick is not None and due <= last_tick:
        return None
    return due
