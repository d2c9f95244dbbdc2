"""Batches of items the checks read: nested dicts (OCDS releases) or DataFrame rows (GTFS tables).

Both answer `field(path)`: every occurrence of the field's parent object with the field's value
(or MISSING), so field checks run the same way on JSON items and on tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from platform_assets.lib.deferred import np, pd


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass
class FieldOccurrences:
    """The field at `path` in one batch.

    owners[i] is the position (in the batch) of the item holding occurrence i, values[i] its value
    (MISSING when the parent object lacks the key); `orphans` are items with no parent object at all.
    """

    path: str
    owners: np.ndarray
    values: list[Any]
    orphans: np.ndarray
    # Items whose parent is there but is not an object (a string `buyer`): owner positions and the
    # parent values. Only JSON items have them; coverage checks may count them as failures.
    misfit_owners: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    misfit_values: list[Any] = field(default_factory=list)

    def present(self) -> np.ndarray:
        if not hasattr(self, "_present"):
            self._present = np.array([value is not MISSING for value in self.values], dtype=bool)
        return self._present

    def empty(self) -> np.ndarray:
        """Computed once per batch and path (coverage and quality checks of a path share it).
        `is_empty` written out inline: a call per value was most of the coverage checks' time."""
        if not hasattr(self, "_empty"):
            self._empty = np.array([
                value is MISSING or value is None
                or (isinstance(value, str) and not value.strip())
                or (isinstance(value, list | dict | tuple) and not value)
                or (isinstance(value, float) and value != value)
                for value in self.values
            ], dtype=bool)
        return self._empty


def is_empty(value: Any) -> bool:
    if value is MISSING or value is None:
        return True
    if isinstance(value, str | list | dict | tuple):
        return len(value) == 0 if not isinstance(value, str) else value.strip() == ""
    if isinstance(value, float) and value != value:  # NaN from a table
        return True
    return False


def _parents(node: Any, parts: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Every dict reached by following `parts` (lists are flattened along the way)."""
    if isinstance(node, list):
        for element in node:
            yield from _parents(element, parts)
        return
    if not isinstance(node, dict):
        return
    if not parts:
        yield node
        return
    yield from _parents(node.get(parts[0]), parts[1:])


def values_at(item: dict[str, Any], path: str) -> list[Any]:
    """Every present value at `path` in one item (lists flattened)."""
    *parent, key = path.split(".")
    found: list[Any] = []
    for obj in _parents(item, parent):
        if key in obj:
            found.append(obj[key])
    return found


class ItemBatch:
    """A list of JSON items (e.g. compiled releases); `ids` name them in examples."""

    def __init__(self, items: list[dict[str, Any]], ids: Sequence[str], offset: int = 0) -> None:
        self.items = items
        self.ids = list(ids)
        self.offset = offset
        self._fields: dict[str, FieldOccurrences] = {}
        self._parents: dict[tuple[str, ...], tuple[list[int], list[dict[str, Any]], list[int]]] = {}
        self._misfits: dict[tuple[str, ...], tuple[list[int], list[Any]]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def item_id(self, position: int) -> str:
        return self.ids[position]

    def parents(self, parent: tuple[str, ...]) -> tuple[list[int], list[dict[str, Any]], list[int]]:
        """(owner positions, parent objects, items without any) for a parent path, cached per batch:
        checks on sibling fields (documents.*, parties.*) walk the items once."""
        cached = self._parents.get(parent)
        if cached is not None:
            return cached
        if parent:
            owners_above, objects_above, orphans = self.parents(parent[:-1])
            owners: list[int] = []
            found: list[dict[str, Any]] = []
            key = parent[-1]
            for owner, obj in zip(owners_above, objects_above, strict=True):
                child = obj.get(key)
                if isinstance(child, dict):
                    owners.append(owner)
                    found.append(child)
                elif isinstance(child, list):
                    for element in child:
                        if isinstance(element, dict):
                            owners.append(owner)
                            found.append(element)
            if not owners:  # the common case for optional paths: every item is an orphan
                orphans = list(range(len(self.items)))
            elif len(set(owners)) == len(self.items):
                orphans = []
            else:
                reached = set(owners)
                orphans = [position for position in range(len(self.items)) if position not in reached]
        else:
            owners, found, orphans = list(range(len(self.items))), [i if isinstance(i, dict) else {} for i in self.items], []
        self._parents[parent] = (owners, found, orphans)
        return owners, found, orphans

    def misfits(self, parent: tuple[str, ...]) -> tuple[list[int], list[Any]]:
        """(owner positions, values) where the last step of `parent` holds something other than an
        object: a text, number, null, or a non-object element of an array."""
        cached = self._misfits.get(parent)
        if cached is not None:
            return cached
        owners: list[int] = []
        values: list[Any] = []
        if parent:
            owners_above, objects_above, _orphans = self.parents(parent[:-1])
            key = parent[-1]
            for owner, obj in zip(owners_above, objects_above, strict=True):
                if key not in obj:
                    continue
                child = obj[key]
                if isinstance(child, list):
                    for element in child:
                        if not isinstance(element, dict):
                            owners.append(owner)
                            values.append(element)
                elif not isinstance(child, dict):
                    owners.append(owner)
                    values.append(child)
        self._misfits[parent] = (owners, values)
        return owners, values

    def field(self, path: str) -> FieldOccurrences:
        cached = self._fields.get(path)
        if cached is not None:
            return cached
        *parent, key = path.split(".")
        owners, objects, orphans = self.parents(tuple(parent))
        values = [obj.get(key, MISSING) for obj in objects] if objects else []
        misfit_owners, misfit_values = self.misfits(tuple(parent))
        occurrences = FieldOccurrences(
            path, np.asarray(owners, dtype=np.int64), values, np.asarray(orphans, dtype=np.int64),
            np.asarray(misfit_owners, dtype=np.int64), misfit_values,
        )
        self._fields[path] = occurrences
        return occurrences


class FrameBatch:
    """DataFrame rows as items; a field is a column (a missing column is MISSING on every row)."""

    def __init__(self, frame: pd.DataFrame, id_column: str | None = None, offset: int = 0, name: str = "") -> None:
        self.frame = frame
        self.id_column = id_column
        self.offset = offset
        self.name = name
        self.items = None

    def __len__(self) -> int:
        return len(self.frame)

    def item_id(self, position: int) -> str:
        if self.id_column and self.id_column in self.frame.columns:
            return str(self.frame[self.id_column].iat[position])
        # The line in the table's CSV file (the header is line 1), as the pandera helper names rows.
        return f"{self.name or 'row'}:{self.offset + position + 2}"

    def field(self, path: str) -> FieldOccurrences:
        owners = np.arange(len(self.frame), dtype=np.int64)
        if path in self.frame.columns:
            values = self.frame[path].tolist()
        else:
            values = [MISSING] * len(self.frame)
        return FieldOccurrences(path, owners, values, np.empty(0, dtype=np.int64))


Batch = ItemBatch | FrameBatch


def batched(items: Iterable[dict[str, Any]], size: int, id_path: str = "ocid") -> Iterator[ItemBatch]:
    """Group a stream of items into ItemBatches of `size` (bounded memory)."""
    chunk: list[dict[str, Any]] = []
    offset = 0
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield ItemBatch(chunk, [str(item.get(id_path, "")) for item in chunk], offset)
            offset += len(chunk)
            chunk = []
    if chunk:
        yield ItemBatch(chunk, [str(item.get(id_path, "")) for item in chunk], offset)


def frame_batches(frame: pd.DataFrame, size: int, id_column: str | None = None, name: str = "") -> Iterator[FrameBatch]:
    for start in range(0, len(frame), size):
        yield FrameBatch(frame.iloc[start : start + size], id_column, start, name)
