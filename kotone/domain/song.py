"""The typed record of a saved song: what the app, the views, the API and the gallery read.

Stored as ``song.json`` in the song's gallery folder. Fields added later have defaults so
older songs still open; ``plan`` stays a plain mapping because its schema belongs to the
music side and may grow.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kotone.domain.commissions import Commission
from kotone.domain.scoring import ScoreBreakdown

_VERSION_SUFFIX = re.compile(r"\s*\(v\d+(?:, [^)]*)?\)$")


class ClientInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    portrait: str = ""


class Refinement(BaseModel):
    """What a refinement was asked, what was understood, and the musical diff."""

    model_config = ConfigDict(extra="ignore")

    command: str
    understood: list[str] = Field(default_factory=list)
    not_understood: list[str] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)  # three plain lines
    diff: dict[str, Any] = Field(default_factory=dict)


class SongRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    song_id: str | None = None
    title: str = "Untitled"
    version: int = Field(1, ge=1)
    cards: dict[str, str]
    card_names: dict[str, str] = Field(default_factory=dict)
    seed: int = 0
    commission_id: str | None = None
    commission: Commission | None = None
    request: str | None = None
    client: ClientInfo | None = None
    parent: str | None = None
    plan: dict[str, Any]
    measured: dict[str, float]
    duration_s: float = 0.0
    timings_ms: dict[str, float] = Field(default_factory=dict)
    score: ScoreBreakdown | None = None
    instruments: list[dict[str, Any]] = Field(default_factory=list)
    created: float | None = None
    files: list[str] = Field(default_factory=list)
    refinement: Refinement | None = None

    @property
    def base_title(self) -> str:
        return _VERSION_SUFFIX.sub("", self.title)

    def recipe(self) -> str:
        """What makes two compositions the same: commission, cards and seed."""
        return recipe_key(self.commission_id, self.cards, self.seed)


def recipe_key(commission_id: str | None, cards: dict[str, str], seed: int) -> str:
    slots = ("style", "instrument", "mood", "gimmick")
    return "|".join([commission_id or "-", *(cards.get(s, "") for s in slots), str(int(seed))])


def version_title(base: str, version: int, label: str) -> str:
    """'Harbour Lights (v2, sadder)': a refined song reads as a version of its parent."""
    label = " ".join(label.split())[:40]
    return f"{base} (v{version}, {label})" if label else f"{base} (v{version})"
