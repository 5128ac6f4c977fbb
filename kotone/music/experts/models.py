"""Small autoregressive experts: a GRU language model and a tiny causal transformer.

Each model rebuilds itself from an ``ExpertConfig`` (saved as JSON beside its weights).
``debug`` configs are tiny so tests run without trained weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from kotone.music.experts.config import ROLES, SEED_SIZES, ExpertConfig, preset

__all__ = ["ROLES", "SEED_SIZES", "ExpertConfig", "GRUExpert", "GRUStep", "TransformerExpert", "build_model", "preset"]


class GRUExpert(nn.Module):
    """Token embedding -> stacked GRU -> vocabulary logits."""

    def __init__(self, cfg: ExpertConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.emb)
        self.gru = nn.GRU(cfg.emb, cfg.hidden, cfg.layers, batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)

    def forward(self, tokens: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (B, T) -> logits (B, T, V), state (layers, B, hidden)."""
        out, state = self.gru(self.drop(self.embed(tokens)), state)
        return self.head(self.drop(out)), state

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(self.cfg.layers, batch, self.cfg.hidden)


class GRUStep(nn.Module):
    """One decoding step, for ONNX export: (token (1,1) int64, state) -> (logits (1,V), state)."""

    def __init__(self, model: GRUExpert) -> None:
        super().__init__()
        self.model = model

    def forward(self, token: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, new_state = self.model(token, state)
        return logits[:, -1, :], new_state


class _Block(nn.Module):
    def __init__(self, cfg: ExpertConfig) -> None:
        super().__init__()
        d = cfg.hidden
        self.heads = cfg.heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        causal = cache is None
        att = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal and t > 1)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, t, d)))
        x = x + self.drop(self.mlp(self.ln2(x)))
        return x, (k, v)


class TransformerExpert(nn.Module):
    """Tiny pre-norm causal transformer with a key/value cache for incremental decoding."""

    def __init__(self, cfg: ExpertConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.pos = nn.Embedding(cfg.max_len, cfg.hidden)
        self.blocks = nn.ModuleList(_Block(cfg) for _ in range(cfg.layers))
        self.ln = nn.LayerNorm(cfg.hidden)
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)
        self.drop = nn.Dropout(cfg.dropout)
        nn.init.normal_(self.pos.weight, std=0.02)

    def forward(self, tokens: torch.Tensor, state: list | None = None) -> tuple[torch.Tensor, list]:
        """tokens (B, T) -> logits (B, T, V), state (per-layer key/value cache)."""
        offset = 0 if not state else state[0][0].shape[2]
        t = tokens.shape[1]
        if offset + t > self.cfg.max_len:
            raise ValueError(f"sequence of {offset + t} tokens exceeds max_len {self.cfg.max_len}")
        pos = torch.arange(offset, offset + t, device=tokens.device)
        x = self.drop(self.embed(tokens) + self.pos(pos))
        new_state = []
        for i, blk in enumerate(self.blocks):
            x, kv = blk(x, state[i] if state else None)
            new_state.append(kv)
        return self.head(self.ln(x)), new_state

    def initial_state(self, batch: int = 1) -> list:
        return []


def build_model(cfg: ExpertConfig) -> nn.Module:
    return GRUExpert(cfg) if cfg.arch == "gru" else TransformerExpert(cfg)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def init_scale(model: nn.Module) -> None:
    """Scaled init of output projections (GPT-2 style) for the transformer."""
    if isinstance(model, TransformerExpert):
        for blk in model.blocks:
            nn.init.normal_(blk.proj.weight, std=0.02 / math.sqrt(2 * model.cfg.layers))
