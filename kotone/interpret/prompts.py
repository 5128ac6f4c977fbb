"""The one fixed prompt of the ``lm`` backend, shared by training, evaluation and inference.

A chat of two messages: a system message (instructions + a compact summary of the SPEC §2
rubric) and the request as the user message. The answer the model is taught to write is

    Justification: <one sentence>
    ```json
    {"energy": 20, "warmth": 80, "brightness": 55, "acousticness": 80, "complexity": 25, "nostalgia": 85}
    ```

Integers, the six keys in the rubric order, on one line (fewer tokens to generate).
Changing any text here changes what a trained adapter sees: bump ``PROMPT_VERSION`` and
retrain.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from kotone.domain.params import DIMS, clamp

PROMPT_VERSION = "kotone-lm-v1"

SYSTEM_PROMPT = (
    "Rate the music a townsperson asks for on six dimensions, each 0-100: "
    "energy (0 still, 100 explosive), warmth (0 icy, 100 cozy), "
    "brightness (0 dark, 100 sparkling), acousticness (0 electronic, 100 unplugged), "
    "complexity (0 minimal, 100 intricate), nostalgia (0 futuristic, 100 long ago). "
    "Anything the request does not mention is 50. "
    "Reply 'Justification: <one sentence>' then a ```json block with the six keys."
)

# Used when a tokenizer has no chat template of its own (the tiny test tokenizer); the
# same ChatML layout SmolLM2 uses.
FALLBACK_TEMPLATE_OPEN = "<|im_start|>{role}\n{content}<|im_end|>\n"
GENERATION_PREFIX = "<|im_start|>assistant\n"

_CUES = re.compile(r"\s*\(cues?:[^)]*\)")
_UNMENTIONED = re.compile(r"[;,.]?\s*unmentioned dims? stay near 50\.?", re.IGNORECASE)
_QUOTED_LEAD = re.compile(r"^.*?\bmakes? it\s+", re.IGNORECASE)
_LABEL_PREFIX = re.compile(r"^\s*(hand|teacher|grammar|auto)\s+label\s*:\s*", re.IGNORECASE)
MAX_JUSTIFICATION_WORDS = 24


def build_messages(text: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Request: {text}"},
    ]


def render_prompt(tokenizer: Any, text: str) -> str:
    """The prompt string up to where the model starts its answer."""
    messages = build_messages(text)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    body = "".join(FALLBACK_TEMPLATE_OPEN.format(**m) for m in messages)
    return body + GENERATION_PREFIX


def shared_prefix(tokenizer: Any) -> str:
    """The part of every prompt before the request (system message and user-turn header).

    Cut at a line end, so that it tokenizes the same alone and inside a full prompt; the
    backend caches its keys/values once instead of recomputing them for every request.
    """
    a, b = render_prompt(tokenizer, "a"), render_prompt(tokenizer, "b")
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[: a.rfind("\n", 0, n) + 1]


def clean_justification(text: str, params: Mapping[str, float] | None = None) -> str:
    """One short sentence: strip labelling boilerplate ('Hand label:', '(cues: ...)')."""
    s = _LABEL_PREFIX.sub("", text or "")
    s = _CUES.sub("", s)
    s = _UNMENTIONED.sub("", s)
    s = _QUOTED_LEAD.sub("", s)  # "'cue'; 'cue' make it X (dim v)" -> "X (dim v)"
    s = " ".join(s.split())
    if not s and params is not None:
        hi = max(DIMS, key=lambda d: abs(float(params[d]) - 50.0))
        s = f"The request mostly sets {hi} ({int(round(float(params[hi])))})."
    words = s.split()
    if len(words) > MAX_JUSTIFICATION_WORDS:
        s = " ".join(words[:MAX_JUSTIFICATION_WORDS]).rstrip(",;") + "."
    if s and s[-1] not in ".!?":
        s += "."
    return s[:1].upper() + s[1:]


def params_json(params: Mapping[str, float]) -> str:
    return json.dumps({d: int(round(clamp(float(params[d])))) for d in DIMS})


def format_response(justification: str, params: Mapping[str, float]) -> str:
    """The exact answer text the model is trained to produce."""
    return f"Justification: {clean_justification(justification, params)}\n```json\n{params_json(params)}\n```"


def split_justification(output: str) -> str:
    """The justification line of a model answer ('' when there is none)."""
    m = re.search(r"Justification:\s*(.+)", output or "")
    return m.group(1).strip()[:300] if m else ""
