"""Leave-one-writer-out cross-validation over the natural corpus's seven writer passes.

The requests the game meets come from writers no model saw, so every choice about the
interpreter (features, head regularisation, LoRA settings, calibration, the blend with the
rule lexicon) is judged by training on six writer passes and scoring the seventh, seven
times (w1..w7). The frozen set e1 is never read here.

- ``pool_rows``: the whole training pool, w1..w7 (``train.jsonl`` + ``valid.jsonl`` of
  ``training.natural_corpus``), with each row's writer pass.
- ``folds`` / ``cv_predict``: out-of-fold (OOF) predictions for any ``fit_predict``.
- ``score``: the selection signal -- the mean over the seven folds of each fold's vector MAE
  (every writer counts the same), its spread across folds, and the pooled per-dim MAE.
- ``Calibration``: a per-dimension monotone stretch of a model's output (``linear``: LAD fit
  of ``a + b * p``; ``isotonic``) and a blend weight with the rule backend, fitted on OOF
  predictions. ``nested_calibration`` scores it honestly: for each writer, the map is fitted
  on the other six writers' OOF predictions and applied to the held-out writer's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kotone.domain.params import DIMS
from training.quality_filter import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
NATURAL = ROOT / "training" / "data" / "natural"
PASSES = ("w1", "w2", "w3", "w4", "w5", "w6", "w7")
BLENDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)


def pool_rows(natural: Path = NATURAL) -> list[dict]:
    """Every row of writer passes w1..w7, ordered by id (the frozen pass e1 is not read)."""
    rows = read_jsonl(natural / "train.jsonl") + read_jsonl(natural / "valid.jsonl")
    rows = [r for r in rows if r["pass"] in PASSES]
    return sorted(rows, key=lambda r: r["id"])


def targets(rows: Sequence[dict]) -> np.ndarray:
    return np.asarray([[r["params"][d] for d in DIMS] for r in rows], dtype=np.float32)


def passes_of(rows: Sequence[dict]) -> np.ndarray:
    return np.asarray([r["pass"] for r in rows])


def folds(passes: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(held-out pass, train indices, test indices), one fold per writer pass present."""
    return [(p, np.flatnonzero(passes != p), np.flatnonzero(passes == p)) for p in sorted(set(passes.tolist()))]


def cv_predict(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], passes: np.ndarray,
               n_out: int = 6) -> np.ndarray:
    """OOF predictions: ``fit_predict(train_idx, test_idx) -> [len(test_idx), n_out]`` per fold."""
    oof = np.full((len(passes), n_out), np.nan, dtype=np.float32)
    for _, tr, te in folds(passes):
        oof[te] = fit_predict(tr, te)
    return oof


def score(pred: np.ndarray, y: np.ndarray, passes: np.ndarray) -> dict:
    """Mean of the per-writer MAEs (the selection signal), their spread, per fold and per dim."""
    err = np.abs(pred - y)
    per_fold = {p: float(err[te].mean()) for p, _, te in folds(passes)}
    vals = np.asarray(list(per_fold.values()))
    per_dim = {d: float(np.mean([err[te, k].mean() for _, _, te in folds(passes)])) for k, d in enumerate(DIMS)}
    return {"cv_mae": float(vals.mean()), "cv_sd": float(vals.std()), "per_fold": per_fold, "per_dim": per_dim,
            "worst_dim": max(per_dim.values())}


def _lad_line(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-absolute-deviation fit y ~ a + b p (Nelder-Mead from the least-squares line)."""
    from scipy.optimize import minimize

    b0, a0 = np.polyfit(p, y, 1)
    res = minimize(lambda ab: float(np.abs(ab[0] + ab[1] * p - y).mean()), x0=[a0, b0], method="Nelder-Mead",
                   options={"xatol": 1e-3, "fatol": 1e-4, "maxiter": 400})
    return float(res.x[0]), float(res.x[1])


def _isotonic(p: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """A monotone map as knots (x, y) for np.interp: the isotonic fit of y on p."""
    from scipy.optimize import isotonic_regression

    order = np.argsort(p, kind="stable")
    fit = isotonic_regression(y[order].astype(np.float64), increasing=True).x
    xs, ys = p[order].astype(np.float64), fit
    keep = np.r_[True, np.diff(ys) != 0] | np.r_[np.diff(ys) != 0, True]  # ends of each flat step
    return xs[keep].round(3).tolist(), ys[keep].round(3).tolist()


@dataclass
class Calibration:
    """Per-dim monotone map of the model's output, then ``(1 - blend) * mapped + blend * rule``."""

    kind: str = "none"  # none | linear | isotonic
    lines: list[tuple[float, float]] = field(default_factory=list)  # linear: (a, b) per dim
    knots: list[tuple[list[float], list[float]]] = field(default_factory=list)  # isotonic: (xs, ys) per dim
    blend: float | list[float] = 0.0  # one weight, or one per dim

    def map(self, p: np.ndarray) -> np.ndarray:
        if self.kind == "linear":
            out = np.stack([a + b * p[:, k] for k, (a, b) in enumerate(self.lines)], 1)
        elif self.kind == "isotonic":
            out = np.stack([np.interp(p[:, k], xs, ys) for k, (xs, ys) in enumerate(self.knots)], 1)
        else:
            out = p
        return np.clip(out, 0.0, 100.0)

    def apply(self, p: np.ndarray, rule: np.ndarray) -> np.ndarray:
        a = np.asarray(self.blend, dtype=np.float32)
        return (1.0 - a) * self.map(p) + a * rule

    def to_json(self) -> dict:
        return {"kind": self.kind, "lines": self.lines, "knots": self.knots, "blend": self.blend}

    @classmethod
    def from_json(cls, d: dict) -> Calibration:
        b = d.get("blend", 0.0)
        return cls(d.get("kind", "none"), [tuple(x) for x in d.get("lines", [])],
                   [tuple(x) for x in d.get("knots", [])], [float(v) for v in b] if isinstance(b, list) else float(b))


def fit_calibration(p: np.ndarray, rule: np.ndarray, y: np.ndarray, kind: str,
                    blends: Sequence[float] = BLENDS) -> Calibration:
    """The map of ``kind`` per dim, then the rule blend weight, both by MAE on these rows.
    ``kind`` ending in ``+dimblend``: one blend weight per dim instead of one for all."""
    kind, _, per_dim = kind.partition("+")
    cal = Calibration(kind)
    if kind == "linear":
        cal.lines = [_lad_line(p[:, k], y[:, k]) for k in range(p.shape[1])]
    elif kind == "isotonic":
        cal.knots = [_isotonic(p[:, k], y[:, k]) for k in range(p.shape[1])]
    mapped = cal.map(p)
    if per_dim:
        cal.blend = [min(blends, key=lambda a, k=k: float(np.abs((1 - a) * mapped[:, k] + a * rule[:, k]
                                                              - y[:, k]).mean())) for k in range(p.shape[1])]
    else:
        cal.blend = min(blends, key=lambda a: float(np.abs((1 - a) * mapped + a * rule - y).mean()))
    return cal


def nested_calibration(oof: np.ndarray, rule: np.ndarray, y: np.ndarray, passes: np.ndarray, kind: str,
                       blends: Sequence[float] = BLENDS) -> tuple[np.ndarray, list[Calibration]]:
    """Calibrated OOF predictions, each writer's from a map fitted on the other six writers."""
    out = np.empty_like(oof)
    cals = []
    for _, tr, te in folds(passes):
        cal = fit_calibration(oof[tr], rule[tr], y[tr], kind, blends)
        out[te] = cal.apply(oof[te], rule[te])
        cals.append(cal)
    return out, cals


def calibration_report(oof: np.ndarray, rule: np.ndarray, y: np.ndarray, passes: np.ndarray) -> dict:
    """CV score of each calibration kind (nested), blend included, next to the raw OOF score."""
    out = {"raw": score(oof, y, passes)}
    for kind in ("none", "none+dimblend", "linear", "isotonic"):
        cal_oof, cals = nested_calibration(oof, rule, y, passes, kind)
        out[kind] = {**score(cal_oof, y, passes), "blends": [c.blend for c in cals]}
    return out


def short(s: dict) -> dict:
    """The figures worth a log line."""
    return {"cv_mae": round(s["cv_mae"], 3), "cv_sd": round(s["cv_sd"], 3),
            "per_dim": {d: round(v, 2) for d, v in s["per_dim"].items()}}


def dumps(obj: dict) -> str:
    return json.dumps(obj, default=float)
