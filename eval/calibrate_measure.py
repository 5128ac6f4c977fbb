"""Fit the measurement's per-dimension feature weights (space_assets/measure_calibration.json).

    python -m eval.calibrate_measure [--n 300] [--seed 1]

Each dimension is measured from a fixed set of rubric features of the MIDI file (SPEC §2:
energy = tempo, density, loudness, drums; warmth = warm timbres, legato, low-mids, soft
attacks; ...). This script composes N songs with random cards (a calibration seed that
eval.controllability does not use) and fits non-negative weights + an offset per dimension
by least squares against the cards' blended intent, so the measured numbers land on the
rubric scale. Only the weights are learned; the features are what the music is.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.optimize import nnls

from eval.controllability import random_choices
from kotone.assets import ASSETS_DIR
from kotone.domain.params import DIMS
from kotone.music.measure import FEATURES_BY_DIM, feature_vector
from kotone.pipeline import compose

# Weights the rubric fixes regardless of the fit: a full major <-> minor swing (majorness
# moves by about 0.4) is worth about 12 brightness points.
RUBRIC_FLOORS = {("brightness", "majorness"): 30.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    feats, intents = [], []
    for k, choice in enumerate(random_choices(args.n, args.seed)):
        song = compose(choice, args.seed * 100_000 + k)
        feats.append(feature_vector(song.features))
        intents.append(song.plan.intent.as_dict())
    out = {}
    for d in DIMS:
        names = FEATURES_BY_DIM[d]
        X = np.array([[f[n] for n in names] for f in feats])
        y = np.array([i[d] for i in intents])
        fixed = np.array([RUBRIC_FLOORS.get((d, n), 0.0) for n in names])
        y = y - X @ fixed
        mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-9
        Z = (X - mu) / sd
        w, _ = nnls(np.hstack([Z, np.ones((len(Z), 1))]), y - y.min() + 1.0)  # offset kept >= 0 by shift
        weights = w[:-1] / sd
        offset = w[-1] + y.min() - 1.0 - float(np.dot(weights, mu))
        weights = weights + fixed
        y = y + X @ fixed
        pred = X @ weights + offset
        r = float(np.corrcoef(pred, y)[0, 1])
        out[d] = {"weights": dict(zip(names, map(float, weights))), "offset": float(offset), "fit_r": r}
        print(f"{d:<14} r={r:.3f}  " + ", ".join(f"{n}={v:.3g}" for n, v in zip(names, weights)))
    data = {"fitted_on": {"n": args.n, "seed": args.seed}, "dims": out}
    (ASSETS_DIR / "measure_calibration.json").write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
