"""Seeded reservoir sampling, vectorised over batches: the same data and seed give the same examples.

Algorithm R: the n-th element seen (0-based) replaces slot j = floor(u * (n + 1)) when j < size.
Drawing u for a whole batch with numpy keeps the Python work to the few accepted elements.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from platform_assets.lib.quality.result import MAX_EXAMPLES


def seed_for(name: str, seed: int = 0) -> int:
    """A stable per-check seed, so two checks never draw the same random stream."""
    return zlib.crc32(name.encode()) ^ seed


class Reservoir:
    """Up to `size` examples kept uniformly at random among everything offered."""

    def __init__(self, seed: int, size: int = MAX_EXAMPLES) -> None:
        self.size = size
        self.seen = 0
        self.items: list[Any] = []
        # Made on first need: most reservoirs never fill up (an OCDS run makes ~4,000 of them), and
        # making a generator costs more than many small offers. Same seed, same stream either way.
        self._seed = seed
        self._random: np.random.Generator | None = None

    def offer(self, count: int, example_at: Callable[[int], Any]) -> None:
        """Offer `count` elements; `example_at(i)` builds the i-th only when it is kept."""
        if count <= 0:
            return
        start = self.seen
        self.seen += count
        # Fill the free slots first (they take elements in order), then sample the rest.
        free = max(0, min(self.size - len(self.items), count))
        for index in range(free):
            self.items.append(example_at(index))
        if free == count:
            return
        if self._random is None:
            self._random = np.random.default_rng(self._seed)
        positions = np.arange(start + free, start + count, dtype=np.int64)
        slots = np.floor(self._random.random(len(positions)) * (positions + 1)).astype(np.int64)
        kept = np.flatnonzero(slots < self.size)
        for offset in kept:
            self.items[int(slots[offset])] = example_at(int(free + offset))
