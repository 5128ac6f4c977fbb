"""Inference back ends: one step at a time, batch 1, CPU.

``OnnxGRURunner`` runs an exported GRU step graph with onnxruntime (the default for
shipped GRU experts); ``TorchRunner`` runs any expert in torch (used for the transformer
and as the parity reference). Both expose ``start() -> StepFn``: a closure that feeds one
token and returns the next-token logits as a float64 numpy array.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

StepFn = Callable[[int], np.ndarray]


class TorchRunner:
    def __init__(self, model: object, threads: int = 1) -> None:
        import torch

        torch.set_num_threads(threads)
        self.model = model
        self.model.eval()  # type: ignore[attr-defined]
        self._torch = torch

    def start(self) -> StepFn:
        torch = self._torch
        state: list = [None]
        buf = torch.zeros(1, 1, dtype=torch.long)

        def step(token: int) -> np.ndarray:
            buf[0, 0] = token
            with torch.inference_mode():
                logits, state[0] = self.model(buf, state[0])  # type: ignore[operator]
            return logits[0, -1].double().numpy()

        return step


def export_gru_onnx(model: object, path: Path) -> None:
    """Export a ``GRUExpert`` as a one-step graph: (token[1,1] int64, state) -> (logits, state)."""
    import torch

    from kotone.music.experts.models import GRUStep

    step = GRUStep(model).eval()  # type: ignore[arg-type]
    cfg = model.cfg  # type: ignore[attr-defined]
    token = torch.zeros(1, 1, dtype=torch.long)
    state = torch.zeros(cfg.layers, 1, cfg.hidden)
    torch.onnx.export(
        step,
        (token, state),
        str(path),
        input_names=["token", "state"],
        output_names=["logits", "next_state"],
        opset_version=17,
        dynamo=False,
    )


class OnnxGRURunner:
    def __init__(self, path: Path, layers: int, hidden: int, threads: int = 1) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.layers, self.hidden = layers, hidden

    def start(self) -> StepFn:
        state = [np.zeros((self.layers, 1, self.hidden), dtype=np.float32)]
        token = np.zeros((1, 1), dtype=np.int64)
        run = self.session.run

        def step(tok: int) -> np.ndarray:
            token[0, 0] = tok
            logits, state[0] = run(None, {"token": token, "state": state[0]})
            return logits[0].astype(np.float64)

        return step
