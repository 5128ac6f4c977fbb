"""Neural MIDI experts (seed 004): canonical format, tokenizers, models, constrained decoding.

Public entry points for the app:
  ``load_experts()`` -> {role: generator} for every role whose weights ship in space_assets;
  ``selection()``    -> {role: generator name} the report card chose as default.
"""

from __future__ import annotations

import json
from pathlib import Path

from kotone.music.experts.generators import (
    DEFAULT_DIR,
    ExpertGenerator,
    load_expert,
    load_experts,
)


def selection(assets_dir: Path | None = None) -> dict[str, str]:
    """Roles whose expert beat the rules on the report card (``selection.json``), by name."""
    path = (assets_dir or DEFAULT_DIR) / "selection.json"
    if not path.exists():
        return {}
    chosen = json.loads(path.read_text()).get("default", {})
    return {role: name for role, name in chosen.items() if name != "rule"}


__all__ = ["ExpertGenerator", "load_expert", "load_experts", "selection"]
