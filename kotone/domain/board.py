"""The commission board: which requests hang on it, and which the player has delivered."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from kotone.domain.commissions import Commission

BOARD_SIZE = 6  # five from the curated pool and one freshly generated


def pick_board(pool: Iterable[Commission], completed: Iterable[str], rng: random.Random,
               size: int = BOARD_SIZE - 1) -> list[Commission]:
    """``size`` curated commissions, undelivered ones first (all of them once every one is done)."""
    ordered = sorted(pool, key=lambda c: c.id)
    done = set(completed)
    fresh = [c for c in ordered if c.id not in done] or ordered
    return rng.sample(fresh, min(size, len(fresh)))


def delivered(board: Sequence[Commission], completed: Iterable[str]) -> list[bool]:
    done = set(completed)
    return [c.id in done for c in board]
