"""The cross-validation figures of every interpreter option tried, as one Markdown table.

    python -m training.cv_report [--out eval/results/interpreter_cv.md]

Reads what ``training.cv_heads`` (``artifacts/cv/heads.jsonl``), ``training.cv_lora``
(``artifacts/cv/lora.jsonl``) and ``training.ship_embed`` (the shipped head's config) logged:
leave-one-writer-out CV over w1..w7, the mean of the seven writers' vector MAE. Columns:
the model's own answers; with the rule blend picked on the other six writers (nested); with
a per-dim linear or isotonic stretch (nested); the worst dimension after the blend.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kotone.interpret.embed import ASSETS, HEAD_JSON
from training.writer_cv import ROOT

CV_DIR = ROOT / "artifacts" / "cv"


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            out[rec["name"]] = rec  # the latest run of each option
    return list(out.values())


def head_lines(recs: list[dict]) -> list[str]:
    lines = ["| option (frozen MiniLM features) | seeds | CV MAE | + rule blend | + linear | + isotonic | worst dim |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in recs:
        worst = max(r["none"]["per_dim"].items(), key=lambda kv: kv[1])
        lines.append(f"| {r['name']} | {r['seeds']} | {r['raw']['cv_mae']:.3f} | {r['none']['cv_mae']:.3f} | "
                     f"{r['linear']['cv_mae']:.3f} | {r['isotonic']['cv_mae']:.3f} | {worst[0]} {worst[1]:.2f} |")
    return lines


def lora_lines(recs: list[dict]) -> list[str]:
    lines = ["| LoRA option | joint head, CV MAE after epoch 1..n | refitted members (nested mix) | worst dim |",
             "|---|---|---:|---:|"]
    for r in recs:
        curve = " / ".join(f"{p['cv_mae']:.3f}" for p in r["per_epoch"])
        m = r.get("refit_members", {}).get("mix_nested")
        worst = max(m["per_dim"].items(), key=lambda kv: kv[1]) if m else ("-", float("nan"))
        lines.append(f"| {r['name']} | {curve} | {m['cv_mae']:.3f} | {worst[0]} {worst[1]:.2f} |" if m else
                     f"| {r['name']} | {curve} | - | - |")
    return lines


def shipped_lines(cfg: dict) -> list[str]:
    cv = cfg.get("cv")
    if not cv:
        return ["The shipped head's config holds no CV figures."]
    m = cv["mix_nested"]
    dims = ", ".join(f"{d} {v:.2f}" for d, v in m["per_dim"].items())
    return [f"Shipped (`{cfg.get('head')}`, int8 ONNX features, refitted on all of w1..w7): MLP alone "
            f"{cv['mlp']['cv_mae']:.3f}, ridge alone {cv['ridge']['cv_mae']:.3f}, mixed (ridge weight {cv['mix']}, "
            f"rule blend {cv['rule_blend']}; weights nested) **{m['cv_mae']:.3f}** (sd over writers {m['cv_sd']:.3f}); "
            f"per dim {dims}."]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.cv_report")
    ap.add_argument("--out", default=str(ROOT / "eval" / "results" / "interpreter_cv.md"))
    a = ap.parse_args(argv)
    cfg_path = ASSETS / HEAD_JSON
    cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    md = ["# Interpreter options under leave-one-writer-out CV (w1..w7; e1 never read)", "",
          "Mean over the seven writer passes of the held-out writer's vector MAE (0-100 scale). "
          "Commands: `python -m training.cv_heads`, `python -m training.cv_lora`, `python -m training.ship_embed`; "
          "this table: `python -m training.cv_report`.", "", *shipped_lines(cfg), "",
          *head_lines(_rows(CV_DIR / "heads.jsonl")), ""]
    lora = _rows(CV_DIR / "lora.jsonl")
    md += [*lora_lines(lora), ""] if lora else [
        "LoRA fine-tunes: no complete seven-fold run is logged (`artifacts/cv/lora.jsonl`); one fold of "
        "`training.cv_lora` takes ~25 min on this shared 2-core CPU.", ""]
    Path(a.out).write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
