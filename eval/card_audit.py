"""Audit the cards' six-dim labels against what each card actually does to the music.

    python -m eval.card_audit [--n 600] [--seed 2] [--apply] [--max-shift 12]

Composes N songs with random cards (a calibration seed that eval.controllability does not
use) and models each song's residual (measured - blended label) per dimension as the sum of
its four cards' label errors, weighted by the slot weights: r = sum_slot w[slot, dim] *
e[card, dim]. The per-card errors e are solved by ridge regression. Printed: the cards whose
label disagrees most with their sound. With --apply, each label moves by e (at most
--max-shift points) in space_assets/cards.json, so a card says what it plays.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from eval.controllability import random_choices
from kotone.assets import ASSETS_DIR, load_catalog
from kotone.domain.params import DIMS
from kotone.domain.scoring import SLOT_WEIGHTS
from kotone.pipeline import compose


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--ridge", type=float, default=3.0)
    ap.add_argument("--max-shift", type=float, default=12.0)
    ap.add_argument("--apply", action="store_true")
    args = ap.parse_args(argv)
    cat = load_catalog()
    ids = [c.id for c in cat]
    index = {c: i for i, c in enumerate(ids)}
    songs = []
    for k, choice in enumerate(random_choices(args.n, args.seed)):
        s = compose(choice, args.seed * 100_000 + k)
        songs.append((choice, s.plan.intent.as_dict(), s.measured.as_dict()))
    shifts: dict[str, dict[str, float]] = {c: {} for c in ids}
    for d in DIMS:
        X = np.zeros((len(songs), len(ids)))
        y = np.zeros(len(songs))
        for r, (choice, intent, measured) in enumerate(songs):
            for slot, cid in choice.items():
                X[r, index[cid]] = SLOT_WEIGHTS[d][slot]
            y[r] = measured[d] - intent[d]
        e = np.linalg.solve(X.T @ X + args.ridge * np.eye(len(ids)), X.T @ y)
        for cid, v in zip(ids, e, strict=True):
            shifts[cid][d] = float(np.clip(v, -args.max_shift, args.max_shift))
    flat = sorted(((abs(v), cid, d, v) for cid, dd in shifts.items() for d, v in dd.items()), reverse=True)
    print(f"card label vs sound over {args.n} songs (seed {args.seed}); largest disagreements:")
    for _, cid, d, v in flat[:20]:
        print(f"  {cid:<28}{d:<14}{v:+6.1f}")
    if args.apply:
        path = ASSETS_DIR / "cards.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        for row in data["cards"]:
            prof = row["profile"]
            for d in DIMS:
                prof[d] = int(round(float(np.clip(prof[d] + shifts[row["id"]][d], 0, 100))))
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"applied to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
