"""A --smoke training run end to end: corpus -> train -> ONNX -> load -> generate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kotone.music.experts.generators import load_expert
from training.train_experts import TrainConfig, parse_args, ship, train


def test_smoke_training_run_produces_a_loadable_expert(tmp_path) -> None:
    cfg, do_ship = parse_args(["--role", "bass", "--smoke", "--corpus", str(tmp_path / "none.jsonl"),
                               "--out-dir", str(tmp_path / "runs")])
    assert cfg.size == "debug" and cfg.max_steps == 20 and not do_ship
    metrics = train(cfg)
    assert metrics["steps"] == 20 and np.isfinite(metrics["best_valid_nll"])
    run = tmp_path / "runs" / "bass" / "gru"
    for name in ("model.onnx", "model.pt", "config.json", "train_config.json", "vocab.json", "metrics.json", "checkpoint.pt"):
        assert (run / name).exists(), name
    assert json.loads((run / "train_config.json").read_text())["seed"] == 0
    out = ship(cfg, tmp_path / "assets")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.onnx", "train_config.json", "train_metrics.json", "vocab.json"]
    expert = load_expert("bass", "gru", tmp_path / "assets")
    assert expert is not None and expert.name == "expert-gru-onnx"


def test_train_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.from_dict({"role": "bass", "learning_rate": 1})
