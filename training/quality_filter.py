"""Quality filter for teacher data: schema, ranges, duplicates, label consistency.

``filter_rows(rows, against=...)`` returns (kept, rejected-with-reasons). Checks:
- schema: id, text (3-500 chars), params with exactly the six dims, numbers 0-100,
  justification a non-empty string;
- exact duplicates (normalised text) and near duplicates (word-trigram Jaccard >= 0.8),
  also against a protected set (the frozen eval set, or data already kept), so nothing
  leaks into training and new batches do not repeat old ones;
- label consistency: strong, un-negated cue words bound a dim (e.g. "frantic" -> energy
  >= 50, "lullaby" -> energy <= 55, "synth" -> acousticness <= 60, "music box" ->
  nostalgia >= 55). Used by make_teacher_data.py, teacher_mistral.py and cycle.py.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from kotone.domain.params import DIMS

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NEG = {"not", "no", "nothing", "never", "without", "don't", "dont", "isn't", "shouldn't", "less",
        "hate", "hates", "avoid", "nor", "instead", "than"}

# (regex on a word or phrase, dim, lo, hi): an un-negated hit requires lo <= value <= hi
CONSISTENCY: list[tuple[str, str, float, float]] = [
    (r"explosive|frantic|furious|frenzied|mosh|rave|1[6-9]\d bpm|maximum energy", "energy", 50, 100),
    (r"lullaby|lullabies|bedtime|stillness|motionless", "energy", 0, 55),
    (r"icy|metallic|robotic|clinical", "warmth", 0, 60),
    (r"cozy|cosy|a hug", "warmth", 45, 100),
    (r"sparkling|radiant|glitter", "brightness", 45, 100),
    (r"ominous|sinister|gloomy|haunted", "brightness", 0, 60),
    (r"synth\w*|electronic|techno|drum machine|808|chiptune|edm", "acousticness", 0, 60),
    (r"acoustic|unplugged|solo piano|string quartet", "acousticness", 40, 100),
    (r"intricate|counterpoint|fugue|odd meter|7/8", "complexity", 50, 100),
    (r"one chord|minimal|barely anything", "complexity", 0, 50),
    (r"music box|vinyl|gramophone|old records|wax cylinder", "nostalgia", 55, 100),
    (r"futuristic|year 3000|spaceship|space station|cyberpunk|hologram", "nostalgia", 0, 50),
]
_RULES = [(re.compile(r"\b(?:" + pat + r")\b"), dim, lo, hi) for pat, dim, lo, hi in CONSISTENCY]


def normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def trigrams(text: str) -> set[tuple[str, ...]]:
    w = normalise(text).split()
    if len(w) < 3:
        return {tuple(w)}
    return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def schema_errors(row: object) -> list[str]:
    if not isinstance(row, dict):
        return ["not an object"]
    errs = []
    text = row.get("text")
    if not isinstance(text, str) or not 3 <= len(text.strip()) <= 500:
        errs.append("text must be a string of 3-500 characters")
    p = row.get("params")
    if not isinstance(p, dict) or set(p) != set(DIMS):
        errs.append(f"params must have exactly {list(DIMS)}")
    else:
        for d in DIMS:
            v = p[d]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                errs.append(f"{d} is not a number")
            elif not 0 <= v <= 100:
                errs.append(f"{d}={v} out of 0-100")
    j = row.get("justification")
    if not isinstance(j, str) or not j.strip():
        errs.append("justification missing")
    return errs


def _negated(text: str, start: int) -> bool:
    before = text[:start].split()[-4:]
    for w in reversed(before):
        w = w.strip(",.;:!?")
        if w in {"but", "yet", "and", "just"}:
            return False
        if w in _NEG:
            return True
    return False


def consistency_errors(row: dict) -> list[str]:
    text = row["text"].lower().replace("’", "'")
    errs = []
    for rx, dim, lo, hi in _RULES:
        for m in rx.finditer(text):
            if _negated(text, m.start()):
                continue
            v = row["params"][dim]
            if not lo <= v <= hi:
                errs.append(f"'{m.group(0)}' needs {dim} in {lo:.0f}-{hi:.0f}, label is {v}")
            break
    return errs


def filter_rows(rows: Iterable[dict], against: Iterable[dict] = (), near: float = 0.8):
    """Keep rows that pass every check; return (kept, rejected) with a reason per reject."""
    kept: list[dict] = []
    rejected: list[tuple[dict, str]] = []
    seen: dict[str, str] = {}
    protected = [(normalise(r["text"]), trigrams(r["text"])) for r in against]
    protected_exact = {n for n, _ in protected}
    kept_grams: list[set] = []
    for row in rows:
        errs = schema_errors(row)
        if errs:
            rejected.append((row, "schema: " + "; ".join(errs)))
            continue
        norm = normalise(row["text"])
        if norm in protected_exact:
            rejected.append((row, "duplicate of a protected item (frozen eval or existing data)"))
            continue
        if norm in seen:
            rejected.append((row, f"exact duplicate of {seen[norm]}"))
            continue
        grams = trigrams(row["text"])
        if any(jaccard(grams, g) >= near for _, g in protected):
            rejected.append((row, "near duplicate of a protected item (frozen eval or existing data)"))
            continue
        if len(grams) >= 4 and any(jaccard(grams, g) >= near for g in kept_grams[-3000:]):
            rejected.append((row, "near duplicate"))
            continue
        errs = consistency_errors(row)
        if errs:
            rejected.append((row, "consistency: " + "; ".join(errs)))
            continue
        seen[norm] = str(row.get("id"))
        kept_grams.append(grams)
        kept.append(row)
    return kept, rejected


def coverage(rows: Iterable[dict]) -> dict[str, dict[str, int]]:
    """How many rows per dim sit below 20 and above 80 (the rubric's ends)."""
    out = {d: {"lt20": 0, "gt80": 0} for d in DIMS}
    for r in rows:
        for d in DIMS:
            v = r["params"][d]
            out[d]["lt20"] += v < 20
            out[d]["gt80"] += v > 80
    return out


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m training.quality_filter FILE.jsonl [--against FROZEN.jsonl]")
        return 2
    rows = read_jsonl(Path(argv[0]))
    against = read_jsonl(Path(argv[argv.index("--against") + 1])) if "--against" in argv else []
    kept, rejected = filter_rows(rows, against)
    for row, why in rejected:
        print(f"reject {row.get('id')}: {why}")
    print(json.dumps({"kept": len(kept), "rejected": len(rejected), "coverage": coverage(kept)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
