"""Row-sized columns of the GTFS checks on disk (issue 18: memory bounded whatever the input).

A scan appends its per-row columns (stop_times' per-trip ones, shapes' points) to one file once
more than `rows` are held; the rules that must see a whole trip or shape then read the file back
split into bucket files of whole groups, contiguous ranges of group numbers (trips, shapes) of
about `rows` rows each, in group order: run bucket by bucket they offer every rule the same rows
in the same order as one run over everything, so counts and sampled examples are the same."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from platform_assets.lib.deferred import np

MAX_BUCKETS = 256  # bucket files open at once while a spill is split (bigger buckets past that)


@dataclass
class RowSpill:
    """One table's rows on disk, as `record`s; `key` names the group field (a trip or shape number,
    -1 for rows without one, which are left out of the buckets)."""

    folder: Path
    rows: int  # rows held in memory before they are spilled, and about a bucket's rows
    record: np.dtype
    key: str
    name: str
    written: int = 0  # rows in the spill file
    key_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # rows per group number
    bucket_count: int = 0  # bucket files read

    @property
    def path(self) -> Path:
        return self.folder / f"{self.name}.rows"

    def write(self, columns: list[np.ndarray]) -> None:
        """Append rows: one array per field of `record`, in its order."""
        count = len(columns[0]) if columns else 0
        if not count:
            return
        records = np.empty(count, self.record)
        for name, column in zip(self.record.names, columns, strict=True):
            records[name] = column
        with self.path.open("ab") as spill:
            records.tofile(spill)
        self.written += count
        keys = records[self.key]
        counts = np.bincount(keys[keys >= 0])
        if len(counts) > len(self.key_rows):
            self.key_rows = np.r_[self.key_rows, np.zeros(len(counts) - len(self.key_rows), np.int64)]
        self.key_rows[: len(counts)] += counts

    def buckets(self) -> Iterator[list[np.ndarray]]:
        """Each bucket's columns (the fields of `record`) in file order, buckets in group order.
        One pass over the spill file splits it (then removed); each bucket file is removed once read."""
        size = max(self.rows, -(-int(self.key_rows.sum()) // MAX_BUCKETS))
        bucket_of_key = (np.cumsum(self.key_rows) - self.key_rows) // size  # rows before each group // size
        files: dict[int, IO[bytes]] = {}
        step = max(1, min(self.rows, 1 << 16))
        try:
            with self.path.open("rb") as spill:
                while len(records := np.fromfile(spill, self.record, count=step)):
                    records = records[records[self.key] >= 0]
                    bucket = bucket_of_key[records[self.key]]
                    for number in np.unique(bucket).tolist():
                        if number not in files:
                            files[number] = self._bucket(number).open("wb")
                        records[bucket == number].tofile(files[number])
        finally:
            for handle in files.values():
                handle.close()
            self.path.unlink(missing_ok=True)
        self.bucket_count = len(files)
        for number in sorted(files):
            path = self._bucket(number)
            records = np.fromfile(path, self.record)
            path.unlink()
            columns = [np.ascontiguousarray(records[name]) for name in self.record.names]
            del records
            yield columns

    def _bucket(self, number: int) -> Path:
        return self.folder / f"{self.name}-bucket-{number:06d}.rows"
