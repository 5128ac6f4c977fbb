"""Leave-one-writer-out CV (training.writer_cv) and the shipped head's members (training.ship_embed).

The selection signal must never let a writer's rows inform its own answers: folds hold each
pass out once, calibration and mix weights are fitted on the other writers only, and the
ridge member is a plain ridge map the app's Head can run.
"""

from __future__ import annotations

import json

import numpy as np

from training.ship_embed import columns, fit_ridge, mix_cv, ridge_predict
from training.writer_cv import cv_predict, fit_calibration, folds, nested_calibration, pool_rows, score


def _toy(n_per: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    passes = np.repeat(np.asarray(["w1", "w2", "w3", "w4"]), n_per)
    x = rng.normal(size=(len(passes), 5)).astype(np.float32)
    w = rng.normal(size=(5, 6)).astype(np.float32) * 8
    y = np.clip(50 + x @ w + rng.normal(scale=2.0, size=(len(passes), 6)), 0, 100).astype(np.float32)
    return x, y, passes


def test_folds_hold_each_writer_out_once_and_cv_never_trains_on_it():
    _, y, passes = _toy()
    seen = []
    for held, tr, te in folds(passes):
        assert set(passes[te]) == {held} and held not in set(passes[tr])
        seen.append(held)
    assert seen == ["w1", "w2", "w3", "w4"]

    def fit_predict(tr, te):  # "model" = mean of the training rows' targets
        assert not set(tr) & set(te)
        return np.repeat(y[tr].mean(0, keepdims=True), len(te), 0)

    oof = cv_predict(fit_predict, passes)
    assert not np.isnan(oof).any()
    s = score(oof, y, passes)
    assert set(s["per_fold"]) == {"w1", "w2", "w3", "w4"}
    assert np.isclose(s["cv_mae"], np.mean(list(s["per_fold"].values())))


def test_pool_rows_never_reads_the_frozen_pass():
    rows = pool_rows()
    assert rows and {r["pass"] for r in rows} <= {f"w{i}" for i in range(1, 8)}


def test_linear_calibration_undoes_a_shrunken_model():
    _, y, passes = _toy()
    shrunk = 50 + 0.5 * (y - 50)  # under-confident at the extremes
    rule = np.full_like(y, 50.0)
    cal = fit_calibration(shrunk, rule, y, "linear")
    assert all(abs(b - 2.0) < 0.1 for _, b in cal.lines) and cal.blend == 0.0
    out, cals = nested_calibration(shrunk, rule, y, passes, "linear")
    assert len(cals) == 4 and np.abs(out - y).mean() < 0.5 * np.abs(shrunk - y).mean()


def test_ridge_member_recovers_a_linear_map_and_runs_as_stored():
    x, y, _ = _toy()
    n_cues = 2
    arrays = fit_ridge(x, y, 1e-3, n_cues)
    pred = ridge_predict(arrays, x)
    assert np.abs(pred - y).mean() < 3.0  # noise sd is 2
    assert arrays["W0"].shape == (5, 6) and np.allclose(arrays["sd"][:-n_cues], 1.0)
    json.dumps({k: v.tolist() for k, v in arrays.items()})  # plain arrays, as the npz stores them


def test_columns_pick_layers_and_keep_the_cues():
    cols = columns((1, 2, 3, 4, 5, 6), (4, 6), 13)
    assert len(cols) == 2 * 384 + 13
    assert cols[0] == 3 * 384 and cols[384] == 5 * 384 and cols[-1] == 6 * 384 + 12


def test_mix_weights_are_nested_and_prefer_the_better_member():
    _, y, passes = _toy()
    rng = np.random.default_rng(3)
    good = y + rng.normal(scale=2.0, size=y.shape).astype(np.float32)
    bad = y + rng.normal(scale=15.0, size=y.shape).astype(np.float32)
    rule = 100.0 - y  # a rule backend that is always wrong the other way
    cv = mix_cv(good, bad, rule, y, passes)  # MLP member = good, ridge member = bad
    assert cv["mix"] == 0.0 and cv["rule_blend"] == 0.0
    assert set(cv["fold_weights"]) == {"w1", "w2", "w3", "w4"}
    assert cv["mix_nested"]["cv_mae"] <= cv["ridge"]["cv_mae"]


def test_cv_report_keeps_the_latest_run_of_each_option(tmp_path, monkeypatch):
    import training.cv_report as rep

    dims = {d: 10.0 for d in ("energy", "warmth", "brightness", "acousticness", "complexity", "nostalgia")}
    fig = {"cv_mae": 10.0, "cv_sd": 0.5, "per_dim": dims}
    old = {"name": "ridge_a1", "seeds": 1, "raw": {**fig, "cv_mae": 12.0}, "none": fig, "linear": fig, "isotonic": fig}
    new = {**old, "raw": {**fig, "cv_mae": 9.5}}
    (tmp_path / "heads.jsonl").write_text(json.dumps(old) + "\n" + json.dumps(new) + "\n")
    monkeypatch.setattr(rep, "CV_DIR", tmp_path)
    out = tmp_path / "cv.md"
    assert rep.main(["--out", str(out)]) == 0
    text = out.read_text()
    assert "| ridge_a1 | 1 | 9.500 |" in text and "12.000" not in text
    assert "no complete seven-fold run" in text
