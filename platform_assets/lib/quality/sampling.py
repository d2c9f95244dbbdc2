"""Seeded reservoir sampling, vectorised over batches: the same data and seed give the same examples.

Algorithm L (Li 1994): once the reservoir is full, the index of the next element to keep is drawn
directly (a geometric skip), so the cost is per kept element, not per element offered: a batch of
millions of passing rows costs a comparison. The random stream is consumed only when an element is
kept, so the batch size never changes the sample.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

from platform_assets.lib.deferred import np
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
        self._weight = 0.0
        self._next = -1  # index of the next element kept once full (-1: not drawn yet)

    def _generator(self) -> np.random.Generator:
        if self._random is None:
            self._random = np.random.default_rng(self._seed)
        return self._random

    def _uniform(self) -> float:
        return float(self._generator().random())

    def _skip(self) -> int:
        """Elements passed over before the next one kept (Algorithm L's geometric skip)."""
        return int(math.floor(math.log(1.0 - self._uniform()) / math.log1p(-self._weight)))

    def keeps_any(self, count: int) -> bool:
        """Would offering `count` more elements keep one of them?"""
        return self.size > 0 and (len(self.items) < self.size or self._next < 0 or self._next < self.seen + count)

    def offer(self, count: int, example_at: Callable[[int], Any]) -> None:
        """Offer `count` elements; `example_at(i)` builds the i-th only when it is kept."""
        if count <= 0:
            return
        start = self.seen
        self.seen += count
        free = max(0, min(self.size - len(self.items), count))  # free slots take elements in order
        for index in range(free):
            self.items.append(example_at(index))
        if self.size <= 0 or len(self.items) < self.size:
            return
        if self._next < 0:  # just filled: the first skip
            self._weight = math.exp(math.log(1.0 - self._uniform()) / self.size)
            self._next = self.size + self._skip()
        while self._next < self.seen:
            self.items[int(self._generator().integers(self.size))] = example_at(self._next - start)
            self._weight *= math.exp(math.log(1.0 - self._uniform()) / self.size)
            self._next += self._skip() + 1
