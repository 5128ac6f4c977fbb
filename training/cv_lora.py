"""LoRA fine-tuning of MiniLM under leave-one-writer-out CV (w1..w7; e1 never read).

    python -m training.cv_lora [--epochs 4] [--rank 8] [--tuned 2] [--feature-layers 4,6] ...

Takes ``training.finetune_minilm``'s options. For each of the seven writer passes, a fresh
model (same seed) is fine-tuned on the other six for ``--epochs`` epochs and, after every
epoch, predicts the held-out pass, so one run gives the CV curve over epoch counts and the
refit on all seven passes can use the best count without ever having looked at its own
data. After the last epoch the shipped head's members (``training.ship_embed``: a seed-stacked
MLP and a ridge map, mixed with the rule backend) are refitted on the fine-tuned features, so
the figure compares with the frozen encoder's. Use ``--feature-layers 1,2,3,4,5,6`` for the
members' layers. The frozen layers' outputs are cached once for all folds.

Out-of-fold predictions go to ``artifacts/cv/lora_<tag>.npz``; one JSON line per run to
``artifacts/cv/lora.jsonl`` (CV MAE per epoch count, calibration kinds, seconds).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from kotone.interpret.rule import cue_features
from training.cv_heads import CV_DIR, rule_matrix
from training.finetune_minilm import Model, feature_layers, fit_epochs, parse_args, predict, set_embedding_stats
from training.ship_embed import Members, mix_cv, ridge_predict
from training.ship_embed import parse as ship_parse
from training.train_embed import predict as head_predict
from training.writer_cv import calibration_report, dumps, folds, passes_of, pool_rows, score, short, targets


def fine_tuned_features(model: Model, texts: list[str], bs: int = 64) -> np.ndarray:
    import torch

    model.train(False)
    with torch.no_grad():
        return np.concatenate([model.embed(texts[i : i + bs]).numpy() for i in range(0, len(texts), bs)])


def main(argv: list[str] | None = None) -> int:
    import torch

    args = parse_args(argv)
    torch.set_num_threads(int(os.environ.get("KOTONE_TORCH_THREADS", "2")))
    t0 = time.time()
    rows = pool_rows()
    texts = [r["text"] for r in rows]
    y, passes = targets(rows), passes_of(rows)
    cues = np.asarray([cue_features(t) for t in texts], np.float32)
    rule = rule_matrix(texts)
    fl = feature_layers(args)
    tag = f"r{args.rank}_t{args.tuned}_L{args.layers}_f{'-'.join(map(str, fl))}_e{args.epochs}_lr{args.lr}"
    oof = np.full((args.epochs, len(rows), 6), np.nan, np.float32)
    refit = np.full((2, len(rows), 6), np.nan, np.float32)  # the shipped members: MLP, ridge
    members = Members(ship_parse([]), fl, cues.shape[1])
    shared: dict = {}
    for held, tr, te in folds(passes):
        cue_mu, cue_sd = cues[tr].mean(0), cues[tr].std(0) + 1e-4
        model = Model(args.layers, args.tuned, args.rank, args.alpha, args.hidden, args.dropout, cue_mu, cue_sd,
                      args.seed, fl, bottom_cache=shared)
        tr_texts = [texts[i] for i in tr]
        te_texts = [texts[i] for i in te]
        set_embedding_stats(model, tr_texts)

        def on_epoch(epoch: int, losses: list[float], model=model, te=te, te_texts=te_texts, held=held) -> None:
            oof[epoch - 1, te] = predict(model, te_texts, cues[te])
            mae = float(np.abs(oof[epoch - 1, te] - y[te]).mean())
            print(f"fold {held} epoch {epoch}: held-out MAE {mae:.3f} ({time.time() - t0:.0f}s)", flush=True)

        fit_epochs(model, tr_texts, y[tr], cues[tr], np.ones(len(tr), np.float32), args, on_epoch)
        x = np.concatenate([fine_tuned_features(model, texts), cues], 1)
        mlp = members.fit_mlp(x[tr], y[tr])
        ridge = members.fit_ridge(x[tr], y[tr])
        refit[0, te] = head_predict(mlp, x[te][:, members.mlp_cols])
        refit[1, te] = ridge_predict(ridge, x[te][:, members.ridge_cols])
    CV_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(CV_DIR / f"lora_{tag}.npz", oof=oof, refit=refit)
    per_epoch = [short(score(oof[e], y, passes)) for e in range(args.epochs)]
    best = int(np.argmin([p["cv_mae"] for p in per_epoch]))
    rec = {"name": f"lora_{tag}", "args": {k: v for k, v in vars(args).items() if k not in ("out", "natural")},
           "per_epoch": per_epoch, "best_epochs": best + 1,
           "calibration_at_best": {k: short(v) for k, v in calibration_report(oof[best], rule, y, passes).items()},
           "refit_members": mix_cv(refit[0], refit[1], rule, y, passes),
           "seconds": round(time.time() - t0, 1)}
    line = dumps(rec)
    print(line, flush=True)
    with (CV_DIR / "lora.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
