"""The natural-request corpus: merge the blind labels, report agreement, write the splits.

    python -m training.natural_corpus [--src training/data/natural] [--valid-pass w7]

Reads ``requests/{w1..w7,e1}.jsonl`` (``{"id", "pass", "text"}``: w1..w7 are seven writer
passes for training, e1 a separate writer pass for the frozen evaluation set) and
``labels/*.jsonl`` (``{"id", six dims, "labeller"}``: two blind passes per row, a third where
the first two differ by more than 25 on a dimension). Prints the corpus size, the labellers'
agreement per dimension (MAE between the first two passes) next to the MAE of answering 50
everywhere, and writes into the same folder:

- ``train.jsonl`` / ``valid.jsonl``: the training pool, split **by writer pass** (valid = one
  whole pass, ``--valid-pass``). The requests the game will meet come from writers we never
  saw, so model selection must be judged on a writer the model did not train on; a random or
  stratified split would put each writer's habits (openings, favourite images, length) on
  both sides and flatter whatever memorises them.
- ``frozen_e1.jsonl``: the new frozen evaluation set (pass e1), never trained on, never used
  for selection. Training rows that near-duplicate a frozen row (word-trigram Jaccard >= 0.8)
  are dropped from training.
- ``stats.json``: sizes, agreement, the baseline, third-label counts.

Gold per dimension: the mean of the two passes. Where a third label exists, gold is the mean
of the two closest of the three labels (per dimension). The third label was asked for
because two labellers disagreed; the closest pair is the consensus and the odd one out is
treated as the slip. Unlike the median (one labeller's value), the mean of two keeps the
noise of every gold value at the level of a two-label row. ``stats.json`` also records how
far the median rule would move the gold (``third_label_rule_delta``), to show the choice
matters little.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from kotone.domain.params import DIMS
from training.quality_filter import jaccard, trigrams

ROOT = Path(__file__).resolve().parents[1]
NATURAL = ROOT / "training" / "data" / "natural"
TRAIN_PASSES = ("w1", "w2", "w3", "w4", "w5", "w6", "w7")
FROZEN_PASS = "e1"
DISAGREE = 25.0  # a third label is due where the first two differ by more than this
NEAR_DUP = 0.8


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def load_requests(src: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in sorted((src / "requests").glob("*.jsonl")):
        for r in read_jsonl(path):
            if r["id"] in out:
                raise ValueError(f"duplicate request id {r['id']!r} in {path.name}")
            out[r["id"]] = {"id": r["id"], "pass": r.get("pass", path.stem), "text": r["text"]}
    return out


def pass_of(labeller: str) -> str:
    """A labelling pass from a labeller name: trailing chunk digits dropped ("A2" -> "A")."""
    return re.sub(r"[-_]?\d+$", "", labeller) or labeller


def load_labels(src: Path) -> dict[str, list[dict]]:
    """id -> labels, the first two passes first: passes (labeller names without their chunk
    number) are ordered by how many rows they labelled -- the two full passes cover every
    row, an adjudicating pass only the disputes. One label per pass and row is kept."""
    raw: list[dict] = []
    for path in sorted((src / "labels").glob("*.jsonl")):
        for i, r in enumerate(read_jsonl(path)):
            vals = {d: float(r[d]) for d in DIMS}
            if not all(0.0 <= v <= 100.0 for v in vals.values()):
                raise ValueError(f"{path.name} line {i + 1}: a value outside 0-100")
            raw.append({"id": r["id"], "labeller": str(r.get("labeller", path.stem)), **vals})
    coverage: dict[str, int] = defaultdict(int)
    for r in raw:
        r["pass"] = pass_of(r["labeller"])
        coverage[r["pass"]] += 1
    by_id: dict[str, list[dict]] = defaultdict(list)
    for r in raw:
        if any(o["pass"] == r["pass"] for o in by_id[r["id"]]):
            continue  # one vote per pass and row (a repeated line is not a second opinion)
        by_id[r["id"]].append(r)
    for labels in by_id.values():
        labels.sort(key=lambda r: (-coverage[r["pass"]], r["pass"]))
    return dict(by_id)


def closest_pair_mean(values: Sequence[float]) -> float:
    """Mean of the two closest values (ties: the pair nearer the median)."""
    if len(values) < 3:
        return sum(values) / len(values)
    v = sorted(values[:3])
    lo, hi = v[1] - v[0], v[2] - v[1]
    if lo == hi:
        return v[1]  # equally spaced: no pair is closer; the median is both pairs' midpoint
    return (v[0] + v[1]) / 2 if lo < hi else (v[1] + v[2]) / 2


def gold_of(labels: Sequence[dict]) -> dict[str, float]:
    return {d: round(closest_pair_mean([lab[d] for lab in labels]), 2) for d in DIMS}


def needs_third(a: dict, b: dict) -> bool:
    return any(abs(a[d] - b[d]) > DISAGREE for d in DIMS)


def agreement(pairs: Sequence[tuple[dict, dict]], golds: Sequence[dict]) -> dict:
    """Per-dim MAE between pass 1 and pass 2, and of answering 50 against the gold."""
    n = max(1, len(pairs))
    between = {d: sum(abs(a[d] - b[d]) for a, b in pairs) / n for d in DIMS}
    fifty = {d: sum(abs(g[d] - 50.0) for g in golds) / max(1, len(golds)) for d in DIMS}
    return {"pairs": len(pairs),
            "mae_between_passes": {d: round(v, 2) for d, v in between.items()},
            "mae_between_passes_mean": round(sum(between.values()) / 6, 2),
            "mae_answer_50": {d: round(v, 2) for d, v in fifty.items()},
            "mae_answer_50_mean": round(sum(fifty.values()) / 6, 2)}


def merge(requests: dict[str, dict], labels: dict[str, list[dict]]) -> tuple[list[dict], dict]:
    """Rows with gold labels, plus what the merge found (missing, third labels, ...)."""
    rows, missing, pending_third, third = [], [], [], 0
    median_delta, n_dims = 0.0, 0
    for rid, req in sorted(requests.items()):
        labs = labels.get(rid, [])
        if len(labs) < 2:
            missing.append(rid)
            continue
        if needs_third(labs[0], labs[1]) and len(labs) < 3:
            pending_third.append(rid)
        used = labs[:3]
        third += len(used) == 3
        gold = gold_of(used)
        if len(used) == 3:
            for d in DIMS:
                med = sorted(lab[d] for lab in used)[1]
                median_delta += abs(med - gold[d])
                n_dims += 1
        rows.append({"id": rid, "text": req["text"], "params": gold, "source": f"natural_{req['pass']}",
                     "pass": req["pass"], "n_labels": len(used),
                     "labels": [{"labeller": lab["labeller"], **{d: lab[d] for d in DIMS}} for lab in used]})
    orphans = sorted(set(labels) - set(requests))
    info = {"missing_labels": len(missing), "pending_third_label": len(pending_third), "third_labels": third,
            "orphan_labels": len(orphans),
            "third_label_rule_delta": round(median_delta / n_dims, 2) if n_dims else 0.0}
    return rows, info


def drop_near_duplicates(train: list[dict], frozen: list[dict]) -> tuple[list[dict], int]:
    grams = [trigrams(r["text"]) for r in frozen]
    kept = [r for r in train if max((jaccard(trigrams(r["text"]), g) for g in grams), default=0.0) < NEAR_DUP]
    return kept, len(train) - len(kept)


def build(src: Path, valid_pass: str = "w7", out: Path | None = None) -> dict:
    out = out or src
    requests = load_requests(src)
    labels = load_labels(src)
    rows, info = merge(requests, labels)
    pool = [r for r in rows if r["pass"] in TRAIN_PASSES]
    frozen = [r for r in rows if r["pass"] == FROZEN_PASS]
    pool, dropped = drop_near_duplicates(pool, frozen)
    train = [r for r in pool if r["pass"] != valid_pass]
    valid = [r for r in pool if r["pass"] == valid_pass]
    pairs = [(labels[r["id"]][0], labels[r["id"]][1]) for r in rows]
    stats = {
        "requests": len(requests),
        "labelled": len(rows),
        "by_pass": {p: sum(r["pass"] == p for r in rows) for p in sorted({r["pass"] for r in rows})},
        "train": len(train), "valid": len(valid), "frozen_e1": len(frozen), "valid_pass": valid_pass,
        "dropped_near_duplicates_of_frozen": dropped,
        "labellers": sorted({lab["labeller"] for labs in labels.values() for lab in labs}),
        "passes": sorted({lab["pass"] for labs in labels.values() for lab in labs}),
        **info,
        "agreement_all": agreement(pairs, [r["params"] for r in rows]),
        "agreement_frozen_e1": agreement([(labels[r["id"]][0], labels[r["id"]][1]) for r in frozen],
                                         [r["params"] for r in frozen]),
        "gold_rule": "mean of the two passes; with a third label, per dim the mean of the two closest",
    }
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "train.jsonl", train)
    write_jsonl(out / "valid.jsonl", valid)
    write_jsonl(out / "frozen_e1.jsonl", frozen)
    (out / "stats.json").write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    return stats


def report(stats: dict) -> str:
    a = stats["agreement_all"]
    lines = [f"natural corpus: {stats['requests']} requests, {stats['labelled']} with gold labels "
             f"({stats['missing_labels']} without two labels yet, {stats['pending_third_label']} awaiting a third)",
             f"by pass: {stats['by_pass']}",
             f"splits: train {stats['train']} / valid {stats['valid']} (pass {stats['valid_pass']}) / "
             f"frozen e1 {stats['frozen_e1']}; {stats['dropped_near_duplicates_of_frozen']} training rows dropped "
             "as near-duplicates of frozen rows",
             f"third labels: {stats['third_labels']} rows (median instead of closest-pair mean would move gold by "
             f"{stats['third_label_rule_delta']} on average over their dims)",
             "", "labellers' agreement (MAE between the two blind passes) vs answering 50 everywhere:",
             f"{'dim':<13} {'between passes':>15} {'answer 50':>10}"]
    for d in DIMS:
        lines.append(f"{d:<13} {a['mae_between_passes'][d]:>15.2f} {a['mae_answer_50'][d]:>10.2f}")
    lines.append(f"{'mean':<13} {a['mae_between_passes_mean']:>15.2f} {a['mae_answer_50_mean']:>10.2f}")
    e = stats["agreement_frozen_e1"]
    lines.append(f"frozen e1 only: between passes {e['mae_between_passes_mean']:.2f}, "
                 f"answer 50 {e['mae_answer_50_mean']:.2f} ({e['pairs']} rows)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.natural_corpus", description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=str(NATURAL), help="folder with requests/ and labels/")
    ap.add_argument("--out", default=None, help="where the splits go (default: --src)")
    ap.add_argument("--valid-pass", default="w7", choices=TRAIN_PASSES)
    a = ap.parse_args(argv)
    src = Path(a.src)
    if not (src / "requests").is_dir():
        print(f"error: {src / 'requests'} not found", file=sys.stderr)
        return 2
    stats = build(src, a.valid_pass, Path(a.out) if a.out else None)
    print(report(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
