"""The lm backend's head mode: hidden states of a causal LM -> trained head -> six dims.

A tiny random Llama and an in-memory tokenizer stand in for SmolLM2 (nothing is loaded
from disk); the head is written in the backends' npz/json format and read back by the same
code the shipped head uses. Also checks which mode the registered backend picks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from kotone.domain.errors import DataError, InvalidInputError  # noqa: E402
from kotone.interpret import lm_head  # noqa: E402
from kotone.interpret.embed import HEAD_JSON, HEAD_NPZ, Head  # noqa: E402
from kotone.interpret.lm import LOCAL_BASE, LMSettings, lm_mode  # noqa: E402

TEXTS = ["Forty winters I kept the lighthouse.", "fast loud rave pls", "bread still warm, street asleep"]


@pytest.fixture(scope="module")
def encoder():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.train_from_iterator([lm_head.PREFIX, *TEXTS] * 2, trainers.WordLevelTrainer(special_tokens=["<pad>", "<unk>"]))
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", unk_token="<unk>")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=4,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128, pad_token_id=0)
    return lm_head.HiddenStateEncoder(LlamaForCausalLM(cfg).eval(), tok, layers=(2, 4), threads=1)


def test_pooling_ignores_padding_and_matches_single_texts(encoder):
    batch = encoder.encode_batch(TEXTS)
    assert batch.shape == (3, 2 * 16) and encoder.dim == 32
    for i, t in enumerate(TEXTS):
        assert np.abs(encoder.encode(t) - batch[i]).max() < 1e-4


def head_arrays(dim: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"mu": np.zeros(dim, np.float32), "sd": np.ones(dim, np.float32),
            "W0": rng.normal(0, 0.3, (dim, 8)).astype(np.float32), "b0": np.zeros(8, np.float32),
            "W1": rng.normal(0, 0.3, (8, 6)).astype(np.float32), "b1": np.zeros(6, np.float32)}


def test_head_mode_interprets_and_refuses_bad_text(encoder, tmp_path):
    np.savez(tmp_path / HEAD_NPZ, **head_arrays(encoder.dim))
    (tmp_path / HEAD_JSON).write_text(json.dumps({"head": "mlp", "layers": [2, 4], "stretch": 1.0}))
    backend = lm_head.LMHeadInterpreter(encoder, Head.load(tmp_path))
    res = backend.interpret("  Forty winters   I kept the lighthouse. ")
    vals = res.params.as_list()
    assert res.backend == "lm" and res.valid and all(0 <= v <= 100 for v in vals)
    assert len(set(vals)) > 1 and res.justification.startswith("Reads as ")
    assert json.loads(res.raw) == res.params.rounded(0)
    with pytest.raises(InvalidInputError):
        backend.interpret("  ")


def test_head_of_the_wrong_width_is_a_clear_error(tmp_path, monkeypatch, encoder):
    np.savez(tmp_path / HEAD_NPZ, **head_arrays(7))
    (tmp_path / HEAD_JSON).write_text(json.dumps({"head": "mlp", "layers": [2, 4]}))
    monkeypatch.setattr(lm_head.HiddenStateEncoder, "load", classmethod(lambda cls, *a, **k: encoder))
    with pytest.raises(DataError, match="features"):
        lm_head.LMHeadInterpreter.load(tmp_path)


def test_mode_head_only_for_the_local_base_with_a_head(monkeypatch, tmp_path):
    monkeypatch.setattr(lm_head, "head_available", lambda: True)
    assert lm_mode(LMSettings(), env={}) == "head"
    assert lm_mode(LMSettings(base="mistralai/Ministral-3-3B-Instruct-2512"), env={}) == "generate"
    assert lm_mode(LMSettings(adapter="/some/adapter"), env={}) == "generate"
    assert lm_mode(LMSettings(), env={"KOTONE_LM_MODE": "generate"}) == "generate"
    monkeypatch.setattr(lm_head, "head_available", lambda: False)
    assert lm_mode(LMSettings(base=LOCAL_BASE), env={}) == "generate"
    assert lm_mode(LMSettings(), env={"KOTONE_LM_MODE": "head"}) == "head"


def test_cue_features_and_rule_blend_follow_the_head_config(encoder, tmp_path):
    from kotone.interpret.rule import cue_features, rule_params

    n_cues = len(cue_features("x"))
    np.savez(tmp_path / HEAD_NPZ, **head_arrays(encoder.dim + n_cues, seed=3))
    (tmp_path / HEAD_JSON).write_text(json.dumps({"head": "mlp", "layers": [2, 4], "cue_features": True,
                                                  "rule_blend": 1.0}))
    backend = lm_head.LMHeadInterpreter(encoder, Head.load(tmp_path))
    text = "a frantic explosive rave"
    assert backend.interpret(text).params.rounded(3) == rule_params(text)[0].rounded(3)  # blend 1.0 = rule
