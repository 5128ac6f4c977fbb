"""Neural experts by role, loaded once when their weights ship in space_assets/experts/."""

from __future__ import annotations

from functools import lru_cache

from kotone.music.types import PartGenerator


@lru_cache(maxsize=1)
def _loaded() -> dict[str, PartGenerator]:
    try:
        from kotone.music.experts import load_experts  # type: ignore[attr-defined]
    except ImportError:
        return {}
    return load_experts()


def expert_for(role: str, name: str) -> PartGenerator | None:
    gen = _loaded().get(role)
    return gen if gen is not None and gen.name == name else None


def default_generators() -> dict[str, str]:
    """role -> generator name chosen by the report card (selection.json), else nothing."""
    try:
        from kotone.music.experts import selection  # type: ignore[attr-defined]
    except ImportError:
        return {}
    return {role: name for role, name in selection().items() if role in _loaded()}
