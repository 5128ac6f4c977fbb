"""Build the teacher data set: hand-written requests + grammar requests, filtered and split.

Inputs (all in training/data/hand/, lines ``E W B A C N | request``, labels on SPEC §2):
- frozen_eval.txt   hand-written, natural style; the frozen evaluation set, never trained on
- natural_valid.txt hand-written natural requests used for validation / model selection
- train_*.txt       hand-written training requests
plus N requests from the grammar in kotone/interpret/commission_gen.py (labels computed
from the parts). Outputs in training/data/:
- frozen_eval.jsonl, train.jsonl, valid.jsonl, test.jsonl, rejected.jsonl, stats.json
Every row: id, text, params (six dims), justification, source.

    python -m training.make_teacher_data [--n-grammar 1800] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from kotone.domain.params import DIMS, Params
from kotone.interpret.commission_gen import describe, generate
from kotone.interpret.rule import find_cues
from training.quality_filter import coverage, filter_rows, write_jsonl

DATA = Path(__file__).resolve().parent / "data"
HAND = DATA / "hand"


def parse_hand(path: Path, source: str) -> list[dict]:
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        nums, _, text = line.partition("|")
        vals = [float(x) for x in nums.split()]
        if len(vals) != 6 or not text.strip():
            raise ValueError(f"{path.name}:{lineno}: expected 6 numbers | text")
        params = Params.from_list(vals)
        cues = []
        for h in find_cues(text):
            word = " ".join(h.cue.words)
            cues.append(("not " if h.negated else "") + word)
        cue_txt = f" (cues: {', '.join(dict.fromkeys(cues[:4]))})" if cues else ""
        rows.append({
            "id": f"{source}_{path.stem}_{lineno:03d}",
            "text": text.strip(),
            "params": {d: int(v) for d, v in zip(DIMS, vals, strict=True)},
            "justification": f"Hand label: {describe(params)}{cue_txt}.",
            "source": source,
        })
    return rows


def grammar_rows(n: int, seed: int, prefix: str = "gram") -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        g = generate(rng)
        rows.append({"id": f"{prefix}_{seed}_{i:05d}", "text": g.text,
                     "params": {d: int(v) for d, v in g.params.rounded(0).items()},
                     "justification": g.justification, "source": "grammar"})
    return rows


def build(n_grammar: int = 1800, seed: int = 7) -> dict:
    frozen = parse_hand(HAND / "frozen_eval.txt", "frozen")
    natural_valid = parse_hand(HAND / "natural_valid.txt", "hand_valid")
    hand_train = [r for p in sorted(HAND.glob("train_*.txt")) for r in parse_hand(p, "hand")]
    frozen_kept, frozen_rej = filter_rows(frozen)
    if frozen_rej:
        raise SystemExit(f"frozen set fails the filter: {frozen_rej[:3]}")
    gram = grammar_rows(n_grammar, seed)
    candidates = hand_train + natural_valid + gram
    kept, rejected = filter_rows(candidates, against=frozen_kept)
    rng = random.Random(seed)
    valid = [r for r in kept if r["source"] == "hand_valid"]
    hand = [r for r in kept if r["source"] == "hand"]
    grams = [r for r in kept if r["source"] == "grammar"]
    rng.shuffle(hand)
    rng.shuffle(grams)
    n_hand_test = max(20, len(hand) // 10)
    n_gram_test = len(grams) // 10
    n_gram_valid = len(grams) // 20
    test = hand[:n_hand_test] + grams[:n_gram_test]
    valid += grams[n_gram_test : n_gram_test + n_gram_valid]
    train = hand[n_hand_test:] + grams[n_gram_test + n_gram_valid :]
    write_jsonl(DATA / "frozen_eval.jsonl", frozen_kept)
    write_jsonl(DATA / "train.jsonl", train)
    write_jsonl(DATA / "valid.jsonl", valid)
    write_jsonl(DATA / "test.jsonl", test)
    write_jsonl(DATA / "rejected.jsonl", [{**r, "reject_reason": why} for r, why in rejected])
    stats = {
        "seed": seed, "n_grammar_generated": n_grammar,
        "candidates": len(candidates), "kept": len(kept), "rejected": len(rejected),
        "train": len(train), "valid": len(valid), "test": len(test), "frozen_eval": len(frozen_kept),
        "hand_written": {"train_and_test": len(hand), "valid": sum(r["source"] == "hand_valid" for r in valid),
                         "frozen": len(frozen_kept)},
        "coverage_all_kept": coverage(kept + frozen_kept),
        "coverage_train": coverage(train),
    }
    (DATA / "stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    return stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-grammar", type=int, default=1800)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    print(json.dumps(build(a.n_grammar, a.seed), indent=1))


if __name__ == "__main__":
    main()
