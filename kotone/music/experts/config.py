"""Expert model configuration: a dataclass saved as JSON beside the weights (no torch needed)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

ROLES = ("drums", "bass", "harmony", "melody")


@dataclass
class ExpertConfig:
    role: str
    vocab_size: int
    arch: str = "gru"  # gru | transformer
    emb: int = 64
    hidden: int = 128  # GRU hidden size, or transformer width
    layers: int = 3
    dropout: float = 0.1
    heads: int = 4  # transformer only
    max_len: int = 512  # transformer only: longest sequence (positions)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")
        if self.arch not in ("gru", "transformer"):
            raise ValueError(f"arch must be 'gru' or 'transformer', got {self.arch!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ExpertConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: Path) -> ExpertConfig:
        return cls.from_dict(json.loads(path.read_text()))


# Seed-004 starting sizes (GRU) per role; bass follows the harmony size.
SEED_SIZES = {
    "drums": {"emb": 32, "hidden": 64, "layers": 2, "dropout": 0.2},
    "harmony": {"emb": 48, "hidden": 96, "layers": 3, "dropout": 0.1},
    "bass": {"emb": 48, "hidden": 96, "layers": 2, "dropout": 0.1},
    "melody": {"emb": 64, "hidden": 128, "layers": 3, "dropout": 0.2},
}


def preset(role: str, vocab_size: int, size: str = "seed", arch: str = "gru") -> ExpertConfig:
    """``size``: "seed" (seed-004 sizes), "debug" (tiny, for tests)."""
    if size == "debug":
        return ExpertConfig(role, vocab_size, arch, emb=8, hidden=16, layers=1, dropout=0.0, heads=2, max_len=512)
    if arch == "transformer":
        return ExpertConfig(role, vocab_size, arch, emb=96, hidden=96, layers=2, dropout=0.1, heads=4, max_len=512)
    return ExpertConfig(role, vocab_size, arch, **SEED_SIZES[role])
