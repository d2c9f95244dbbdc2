"""The stages of ingestion a dataset moves through (the EBI ingest-tracker's status_type_order,
app/lib/trackerBuild.py), apart from the sources config's models so that the sheet layout loads
without them."""

from __future__ import annotations

from enum import IntEnum


class Stage(IntEnum):
    """Stages of ingestion, in the order a dataset moves through them (higher = more advanced)."""

    external = 0
    incoming = 1
    loading = 2
    analysing = 3
    processed = 4
    published_dev = 5  # on the Atlas development site, not yet public
    published = 6

    @classmethod
    def parse(cls, value: str) -> Stage:
        try:
            return cls[value]
        except KeyError:
            raise ValueError(f"{value!r} is not one of: {', '.join(cls.__members__)}") from None

