"""Anti-copying filter: hashed n-grams of the training melodies, checked while decoding.

A melody is seen as transposition-invariant units (interval to the previous note, onset
distance in 16th steps), as in ``eval.music_metrics.melodic_units``. The filter stores a
sorted array of 32-bit hashes of every training n-gram of units; the decoder refuses a
pitch that would complete one, so no generated run of ``n`` units (n + 1 notes) equals a
training run. A hash collision can only block a harmless pitch, never let a copy through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

_MASK64 = (1 << 64) - 1


def hash_units(units: Sequence[tuple[int, int]]) -> int:
    """32-bit hash of a run of (interval, ioi) units."""
    h = 1469598103934665603
    for interval, ioi in units:
        h = ((h ^ ((interval + 128) & 0xFF)) * 1099511628211) & _MASK64
        h = ((h ^ (ioi & 0xFFFF)) * 1099511628211) & _MASK64
    return (h ^ (h >> 32)) & 0xFFFFFFFF


class NgramFilter:
    def __init__(self, n: int, hashes: np.ndarray) -> None:
        if n < 2:
            raise ValueError(f"n-gram filter needs n >= 2, got {n}")
        self.n = n
        self.hashes = np.unique(hashes.astype(np.uint32))

    @classmethod
    def build(cls, melodies: Iterable[Sequence[tuple[int, int]]], n: int) -> NgramFilter:
        hs = [hash_units(u[i : i + n]) for u in melodies for i in range(len(u) - n + 1)]
        return cls(n, np.array(hs, dtype=np.uint32))

    def contains(self, units: Sequence[tuple[int, int]]) -> bool:
        h = np.uint32(hash_units(units))
        i = int(np.searchsorted(self.hashes, h))
        return i < len(self.hashes) and self.hashes[i] == h

    def save(self, path: Path) -> None:
        np.save(path, np.concatenate([[np.uint32(self.n)], self.hashes]).astype(np.uint32))

    @classmethod
    def load(cls, path: Path) -> NgramFilter:
        arr = np.load(path)
        return cls(int(arr[0]), arr[1:])
