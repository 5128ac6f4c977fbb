"""The six hidden dimensions (0-100) that every target, card and song lives in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

DIMS: tuple[str, ...] = (
    "energy",
    "warmth",
    "brightness",
    "acousticness",
    "complexity",
    "nostalgia",
)


class Params(BaseModel):
    """A point in the six-dim space, every value on the SPEC rubric (0-100)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    energy: float = Field(50.0, ge=0, le=100)
    warmth: float = Field(50.0, ge=0, le=100)
    brightness: float = Field(50.0, ge=0, le=100)
    acousticness: float = Field(50.0, ge=0, le=100)
    complexity: float = Field(50.0, ge=0, le=100)
    nostalgia: float = Field(50.0, ge=0, le=100)

    def as_list(self) -> list[float]:
        return [float(getattr(self, d)) for d in DIMS]

    def as_dict(self) -> dict[str, float]:
        return {d: float(getattr(self, d)) for d in DIMS}

    def rounded(self, ndigits: int = 1) -> dict[str, float]:
        return {d: round(float(getattr(self, d)), ndigits) for d in DIMS}

    @classmethod
    def from_list(cls, values: Iterable[float]) -> Params:
        vals = list(values)
        if len(vals) != len(DIMS):
            raise ValueError(f"expected {len(DIMS)} values, got {len(vals)}: {vals!r}")
        return cls(**{d: clamp(v) for d, v in zip(DIMS, vals, strict=True)})

    @classmethod
    def clamped(cls, values: Mapping[str, float]) -> Params:
        """Build from a mapping, clamping each value into 0-100; missing dims are 50."""
        return cls(**{d: clamp(float(values.get(d, 50.0))) for d in DIMS})


NEUTRAL = Params()


def clamp(value: float, lo: float = 0.0, hi: float = 100.0) -> float:
    return max(lo, min(hi, float(value)))


def mae(a: Params, b: Params) -> float:
    """Mean absolute error over the six dims, on the 0-100 scale."""
    return sum(abs(x - y) for x, y in zip(a.as_list(), b.as_list(), strict=True)) / len(DIMS)


def weighted_mean(points: Iterable[tuple[Params, float]]) -> Params:
    """Weighted average of several points (weights need not sum to 1)."""
    items = list(points)
    total = sum(w for _, w in items)
    if not items or total <= 0:
        raise ValueError("weighted_mean needs at least one positive weight")
    sums = [0.0] * len(DIMS)
    for p, w in items:
        for i, v in enumerate(p.as_list()):
            sums[i] += v * w
    return Params.from_list(s / total for s in sums)
