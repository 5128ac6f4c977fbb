"""Train one neural MIDI expert (drums | bass | harmony | melody) on the canonical corpus.

    python -m training.train_experts --config training/configs/experts_melody.json
    python -m training.train_experts --role bass --arch gru --max-minutes 8
    python -m training.train_experts --role melody --smoke --out-dir /tmp/smoke   # ~30 s

Writes ``<out_dir>/<role>/<arch>/``: model.pt, config.json (model), train_config.json
(this run), vocab.json, model.onnx (GRU), metrics.json, checkpoint.pt. ``--ship`` copies
the inference files to ``space_assets/experts/<role>/<arch>/``. Seeds are fixed; W&B
logs offline unless ``--wandb-mode online``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from kotone.music.experts.canonical import CanonicalScore
from kotone.music.experts.memory import NgramFilter
from kotone.music.experts.models import (
    ExpertConfig,
    build_model,
    count_params,
    init_scale,
    preset,
)
from kotone.music.experts.runtime import export_gru_onnx
from kotone.music.experts.tokenizer import Vocab, encode_window

ROOT = Path(__file__).resolve().parents[1]
SHIP_DIR = ROOT / "space_assets" / "experts"
FORCED_PREFIXES = ("BOS_", "TimeSig_", "Key_", "Style_", "Density_", "Chord_", "PAD_")


@dataclass
class TrainConfig:
    role: str = "melody"
    arch: str = "gru"
    size: str = "seed"  # seed | debug
    corpus: str = "artifacts/corpus/works.jsonl"
    out_dir: str = "artifacts/experts"
    window_bars: int = 8
    hop_bars: int = 4
    transpositions: int = 3  # extra random transpositions per training window
    max_len: int = 400
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.01
    epochs: int = 8
    max_minutes: float = 8.0
    max_steps: int = 0  # 0 = no limit
    eval_every: int = 200
    warmup_steps: int = 200  # linear warm-up; short warm-ups destabilised the GRUs here
    seed: int = 0
    threads: int = 1
    style_dropout: float = 0.15
    wandb_mode: str = "offline"  # offline | online | disabled
    smoke: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown train config keys: {sorted(unknown)}")
        return cls(**d)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_corpus(path: Path) -> list[CanonicalScore]:
    with path.open(encoding="utf-8") as fh:
        return [CanonicalScore.from_dict(json.loads(line)) for line in fh]


def smoke_corpus(path: Path, works: int = 6) -> None:
    """A few Bach chorales from music21, enough for a smoke run of every role."""
    from music21 import corpus

    from training.build_corpus import convert

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for name in ("bwv66.6", "bwv269", "bwv347", "bwv153.1", "bwv86.6", "bwv267")[:works]:
            canon = convert(corpus.parse(f"bach/{name}"), f"bach/{name}", f"music21:bach/{name}", "chorale")
            if canon is not None:
                canon.metadata["split"] = "train"
                fh.write(json.dumps(canon.to_dict()) + "\n")


def windows(score: CanonicalScore, window: int, hop: int) -> list[tuple[int, int]]:
    bars = math.ceil(score.duration_beats / score.beats_per_bar - 1e-6)
    if bars < 4:
        return []
    if bars <= window:
        return [(0, bars)]
    return [(b, window) for b in range(0, bars - window + 1, hop)]


def encode_split(
    works: list[CanonicalScore], vocab: Vocab, cfg: TrainConfig, split: str, rng: random.Random
) -> list[list[int]]:
    seqs: list[list[int]] = []
    for w in works:
        if w.metadata.get("split", "train") != split:
            continue
        shifts = [0]
        if split == "train" and cfg.transpositions:
            shifts += rng.sample([s for s in range(-6, 6) if s != 0], cfg.transpositions)
        for s in shifts:
            ws = w.transposed(s) if s else w
            for b0, nb in windows(ws, cfg.window_bars, cfg.hop_bars):
                style = "any" if split == "train" and rng.random() < cfg.style_dropout else None
                ids = encode_window(vocab, ws, b0, nb, style)
                if ids is not None and len(ids) <= cfg.max_len:
                    seqs.append(ids)
    return seqs


def loss_weights(vocab: Vocab) -> torch.Tensor:
    """1 for tokens the model chooses, 0 for tokens the decoder always forces."""
    return torch.tensor([0.0 if t.startswith(FORCED_PREFIXES) else 1.0 for t in vocab.tokens])


def batches(seqs: list[list[int]], batch_size: int, pad: int, rng: random.Random, shuffle: bool):
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        rng.shuffle(groups)
    for g in groups:
        n = max(len(seqs[i]) for i in g)
        x = torch.full((len(g), n), pad, dtype=torch.long)
        for r, i in enumerate(g):
            x[r, : len(seqs[i])] = torch.tensor(seqs[i])
        yield x


def evaluate(model: nn.Module, seqs: list[list[int]], vocab: Vocab, batch_size: int = 64) -> float:
    """Mean negative log-likelihood (nats) per model-chosen token."""
    if not seqs:
        return float("nan")
    w = loss_weights(vocab)
    model.eval()
    total, count = 0.0, 0.0
    with torch.inference_mode():
        for x in batches(seqs, batch_size, vocab.pad, random.Random(0), shuffle=False):
            logits, _ = model(x[:, :-1])
            tgt = x[:, 1:]
            nll = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="none")
            mask = w[tgt.reshape(-1)]
            total += float((nll * mask).sum())
            count += float(mask.sum())
    model.train()
    return total / max(count, 1.0)


def _wandb(cfg: TrainConfig, run_dir: Path):
    if cfg.wandb_mode == "disabled":
        return None
    try:
        import wandb
    except ImportError:
        return None
    return wandb.init(
        project="kotone-experts",
        name=f"{cfg.role}-{cfg.arch}-{cfg.size}",
        mode=cfg.wandb_mode,
        dir=str(run_dir),
        config=asdict(cfg),
        reinit="finish_previous",
    )


def train(cfg: TrainConfig) -> dict:
    set_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    run_dir = Path(cfg.out_dir) / cfg.role / cfg.arch
    run_dir.mkdir(parents=True, exist_ok=True)
    corpus_path = Path(cfg.corpus)
    if cfg.smoke and not corpus_path.exists():
        corpus_path = run_dir / "smoke_corpus.jsonl"
        smoke_corpus(corpus_path)
    works = load_corpus(corpus_path)
    vocab = Vocab.build(cfg.role)
    rng = random.Random(cfg.seed)
    train_seqs = encode_split(works, vocab, cfg, "train", rng)
    valid_seqs = encode_split(works, vocab, cfg, "valid", rng) or train_seqs[: max(1, len(train_seqs) // 10)]
    if not train_seqs:
        raise ValueError(f"no training sequences for role {cfg.role!r} in {corpus_path}")
    mcfg: ExpertConfig = preset(cfg.role, len(vocab), cfg.size, cfg.arch)
    model = build_model(mcfg)
    init_scale(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_seqs) / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs if not cfg.max_steps else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    warmup = max(1, min(cfg.warmup_steps, total_steps // 5))

    def lr_at(i: int) -> float:  # linear warm-up, cosine decay to 5%
        if i < warmup:
            return (i + 1) / warmup
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, (i - warmup) / max(1, total_steps - warmup))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    w = loss_weights(vocab)
    run = _wandb(cfg, run_dir)
    t0, step, tokens = time.time(), 0, 0
    best = (float("inf"), None)
    log: list[dict] = []
    print(f"{cfg.role}/{cfg.arch}: {len(train_seqs)} train / {len(valid_seqs)} valid seqs, {count_params(model)} params")
    done = False
    for epoch in range(cfg.epochs):
        for x in batches(train_seqs, cfg.batch_size, vocab.pad, rng, shuffle=True):
            logits, _ = model(x[:, :-1])
            tgt = x[:, 1:]
            nll = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="none")
            mask = w[tgt.reshape(-1)]
            loss = (nll * mask).sum() / mask.sum().clamp(min=1.0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step + 1 < total_steps:
                sched.step()
            step += 1
            tokens += int(mask.sum())
            out_of_time = (time.time() - t0) / 60 > cfg.max_minutes
            if step % cfg.eval_every == 0 or step >= total_steps or out_of_time:
                vl = evaluate(model, valid_seqs, vocab)
                rec = {"step": step, "epoch": epoch, "train_loss": float(loss.detach()), "valid_nll": vl, "minutes": (time.time() - t0) / 60}
                log.append(rec)
                print(json.dumps(rec), flush=True)
                if run is not None:
                    run.log(rec, step=step)
                if vl < best[0]:
                    best = (vl, {k: v.detach().clone() for k, v in model.state_dict().items()})
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, run_dir / "checkpoint.pt")
            if step >= total_steps or out_of_time:
                done = True
                break
        if done:
            break
    if best[1] is None:
        best = (evaluate(model, valid_seqs, vocab), model.state_dict())
    model.load_state_dict(best[1])
    model.eval()
    torch.save(model.state_dict(), run_dir / "model.pt")
    mcfg.save(run_dir / "config.json")
    (run_dir / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))
    vocab.save(run_dir / "vocab.json")
    if cfg.arch == "gru":
        export_gru_onnx(model, run_dir / "model.onnx")
    metrics = {
        "role": cfg.role,
        "arch": cfg.arch,
        "params": count_params(model),
        "train_sequences": len(train_seqs),
        "valid_sequences": len(valid_seqs),
        "steps": step,
        "train_tokens": tokens,
        "minutes": round((time.time() - t0) / 60, 2),
        "best_valid_nll": best[0],
        "best_valid_ppl": math.exp(best[0]) if best[0] < 50 else float("inf"),
        "log": log,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if run is not None:
        run.summary.update({k: v for k, v in metrics.items() if k != "log"})
        run.finish()
    return metrics


NGRAM_FILTER_N = 6  # block any 7-note run equal (intervals + rhythm) to a training melody run


def build_ngram_filter(corpus: Path, n: int = NGRAM_FILTER_N) -> NgramFilter:
    """Hashed n-grams of the training-split melodies (units as in eval.music_metrics)."""
    melodies = []
    for w in load_corpus(corpus):
        t = w.track("melody")
        if t is None or w.metadata.get("split", "train") != "train":
            continue
        onsets: dict[float, int] = {}
        for note in t.notes:
            onsets[note.start] = max(onsets.get(note.start, 0), note.pitch)
        times = sorted(onsets)
        melodies.append([(onsets[b] - onsets[a], round((b - a) * 4)) for a, b in itertools.pairwise(times)])
    return NgramFilter.build(melodies, n)


def ship(cfg: TrainConfig, dest: Path = SHIP_DIR) -> Path:
    """Copy the inference files of a finished run into ``space_assets/experts``."""
    src = Path(cfg.out_dir) / cfg.role / cfg.arch
    out = dest / cfg.role / cfg.arch
    out.mkdir(parents=True, exist_ok=True)
    weights = ["model.onnx"] if cfg.arch == "gru" else ["model.pt"]
    for name in ["config.json", "train_config.json", "vocab.json", *weights]:
        shutil.copy2(src / name, out / name)
    if cfg.role == "melody" and Path(cfg.corpus).exists():
        build_ngram_filter(Path(cfg.corpus)).save(out / "train_ngrams.npy")
    m = json.loads((src / "metrics.json").read_text())
    m.pop("log", None)
    (out / "train_metrics.json").write_text(json.dumps(m, indent=2))
    return out


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, bool]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, help="JSON file with TrainConfig fields")
    for f in fields(TrainConfig):
        if f.name == "smoke":
            continue
        ap.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=None)
    ap.add_argument("--smoke", action="store_true", help="tiny model, few steps, a one-minute run")
    ap.add_argument("--ship", action="store_true", help="copy the result into space_assets/experts")
    args = ap.parse_args(argv)
    base = json.loads(args.config.read_text()) if args.config else {}
    for f in fields(TrainConfig):
        val = getattr(args, f.name, None)
        if val is not None and f.name != "smoke":
            base[f.name] = val
    if args.smoke:
        base.update(smoke=True, size="debug", epochs=100, max_steps=20, eval_every=10, batch_size=8,
                    transpositions=1, max_minutes=1.0, wandb_mode=base.get("wandb_mode", "disabled"))
    return TrainConfig.from_dict(base), args.ship


def main(argv: list[str] | None = None) -> None:
    cfg, do_ship = parse_args(argv)
    metrics = train(cfg)
    print(json.dumps({k: v for k, v in metrics.items() if k != "log"}, indent=2))
    if do_ship:
        print(f"shipped to {ship(cfg)}")


if __name__ == "__main__":
    main()
