"""Neural experts by role, loaded once when their weights ship in space_assets/experts/.

``selection.json`` names the expert the report card chose per role and, under
``idiom_rules``, the style idioms an expert did not learn: for a style with one of those,
the rule generator plays that role instead.
"""

from __future__ import annotations

import json
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


@lru_cache(maxsize=1)
def idiom_rules() -> dict[str, frozenset[str]]:
    """role -> style idiom tokens (bass figures, meters ...) the role's expert does not play."""
    try:
        from kotone.music.experts.generators import DEFAULT_DIR
    except ImportError:
        return {}
    path = DEFAULT_DIR / "selection.json"
    if not path.exists():
        return {}
    rules = json.loads(path.read_text()).get("idiom_rules", {})
    return {role: frozenset(r.get("rule_for", [])) for role, r in rules.items()}


def default_generators(*style_tokens: str) -> dict[str, str]:
    """role -> generator name chosen by the report card, except where the style asks for an
    idiom that role's expert never learned (the rule generator then plays it)."""
    try:
        from kotone.music.experts import selection  # type: ignore[attr-defined]
    except ImportError:
        return {}
    tokens = set(style_tokens)
    rules = idiom_rules()
    return {role: name for role, name in selection().items()
            if role in _loaded() and not (rules.get(role, frozenset()) & tokens)}
