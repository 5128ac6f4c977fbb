"""More teacher data from the Mistral API (only when MISTRAL_API_KEY is set).

Two steps per batch, both through kotone.interpret.api (plain HTTPS, key never logged):
1. ask the teacher model to *write* varied townsperson requests for a brief (speaker,
   directness, length, which dims to push), as a JSON object {"requests": [...]};
2. ask it to *label* each request on the SPEC §2 rubric ({justification, six dims}); labels
   are extracted/validated/clamped by kotone.interpret.jsonio; invalid answers are dropped
   and counted (never silently replaced by rule labels: this is teacher data).
The result passes training/quality_filter.py (against the frozen set) and is appended to
training/data/teacher_mistral.jsonl.

    MISTRAL_API_KEY=... python -m training.teacher_mistral --n 200 [--focus energy:low,warmth:high]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from kotone.interpret.api import MistralInterpreter
from kotone.interpret.jsonio import InvalidOutput, extract_json, parse_params
from training.quality_filter import filter_rows, read_jsonl

DATA = Path(__file__).resolve().parent / "data"
OUT = DATA / "teacher_mistral.jsonl"

SPEAKERS = ["a child", "an old fisherman", "a shy teenager", "a busy shopkeeper", "a retired soldier",
            "a grandmother", "a street musician", "a programmer", "a farmer", "a nun", "a DJ", "a poet"]
STYLES = ["purely emotional, no musical words", "mixed feelings and a scene", "with one explicit musical hint",
          "with a negation (what they do NOT want)", "with a contrast (X but Y)",
          "culture-flavoured (a place or tradition)", "very short (under 8 words)", "long and rambling (40+ words)"]

WRITE_PROMPT = """Write {k} different requests that townspeople bring to a music workshop in a cozy game.
Each is what {speaker} might say, {style}. {focus}
Vary wording a lot; no numbering. Answer as JSON: {{"requests": ["...", "..."]}}"""


def focus_text(focus: dict[str, str]) -> str:
    if not focus:
        return ""
    parts = [f"{d} {'very low' if lvl == 'low' else 'very high'}" for d, lvl in focus.items()]
    return "The music they imagine should be " + ", ".join(parts) + " (without naming these words)."


def write_requests(teacher: MistralInterpreter, k: int, rng: random.Random, focus: dict[str, str]) -> list[str]:
    prompt = WRITE_PROMPT.format(k=k, speaker=rng.choice(SPEAKERS), style=rng.choice(STYLES), focus=focus_text(focus))
    raw = teacher.chat([{"role": "user", "content": prompt}], temperature=0.9)
    try:
        obj = extract_json(raw)
    except InvalidOutput:
        return []
    reqs = obj.get("requests", [])
    return [r.strip() for r in reqs if isinstance(r, str) and 3 <= len(r.strip()) <= 500]


def label(teacher: MistralInterpreter, text: str) -> dict | None:
    res = teacher.interpret(text)
    if not res.valid:
        return None
    try:
        parsed = parse_params(res.raw) if res.raw else None
    except InvalidOutput:
        return None
    just = (parsed.justification if parsed else res.justification) or "Teacher label."
    return {"text": text, "params": {d: round(v) for d, v in res.params.as_dict().items()}, "justification": just}


def generate(teacher: MistralInterpreter, n: int, seed: int = 0, focus: dict[str, str] | None = None,
             batch: int = 8) -> tuple[list[dict], dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    stats = {"asked": 0, "written": 0, "label_invalid": 0}
    while len(rows) < n and stats["asked"] < n * 3:
        texts = write_requests(teacher, batch, rng, focus or {})
        stats["asked"] += batch
        stats["written"] += len(texts)
        for t in texts:
            lab = label(teacher, t)
            if lab is None:
                stats["label_invalid"] += 1
                continue
            rows.append({"id": f"mistral_{seed}_{len(rows):05d}", **lab, "source": "teacher_mistral"})
            if len(rows) >= n:
                break
    frozen = read_jsonl(DATA / "frozen_eval.jsonl") if (DATA / "frozen_eval.jsonl").exists() else []
    kept, rejected = filter_rows(rows, against=frozen)
    stats.update({"labelled": len(rows), "kept": len(kept), "rejected": len(rejected),
                  "cost_usd": round(teacher.cost_usd(), 4)})
    return kept, stats


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--focus", default="", help="e.g. energy:low,warmth:high")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    try:
        teacher = MistralInterpreter.from_env()
    except Exception as exc:
        print(f"teacher unavailable: {exc}")
        return 2
    focus = dict(f.split(":") for f in a.focus.split(",") if f)
    kept, stats = generate(teacher, a.n, a.seed, focus)
    with open(a.out, "a", encoding="utf-8") as fh:
        for r in kept:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
