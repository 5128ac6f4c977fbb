"""Refinement requests in words -> what to change: the six qualities, how much, where.

"make it warmer and a bit sadder in the chorus" reads as two phrases (warmer; sadder at half
strength) on the chorus. Each phrase carries a direction on the six game dimensions
(``dims``, -1..1 per step) and the section emotion deltas the arranger regenerates with
(``delta``: energy, valence, tension, intimacy, motion). Words that are neither a phrase, a
section, a strength nor filler are reported back as not understood.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kotone.domain.errors import InvalidInputError
from kotone.domain.params import DIMS

MAX_COMMAND_CHARS = 200


@dataclass(frozen=True)
class Phrase:
    dims: dict[str, float]  # six-dim direction: +1 = more of that quality
    delta: dict[str, float]  # section emotion deltas


def _p(dims: str, **delta: float) -> Phrase:
    d = {}
    for part in dims.split():
        d[part.lstrip("+-")] = -1.0 if part.startswith("-") else 1.0
    return Phrase(d, delta)


# phrase -> quality direction and emotion deltas (seed 002's refinement table, extended to all six)
PHRASES: dict[str, Phrase] = {
    "sadder": _p("-brightness", valence=-0.45, energy=-0.1),
    "darker": _p("-brightness", valence=-0.45),
    "happier": _p("+brightness", valence=0.45, energy=0.05),
    "brighter": _p("+brightness", valence=0.45),
    "more intense": _p("+energy", energy=0.25, tension=0.2),
    "more energetic": _p("+energy", energy=0.3, motion=0.15),
    "louder": _p("+energy", energy=0.25),
    "faster": _p("+energy", energy=0.3, motion=0.2),
    "calmer": _p("-energy", energy=-0.3, tension=-0.2, motion=-0.2),
    "softer": _p("-energy", energy=-0.25, intimacy=0.1),
    "quieter": _p("-energy", energy=-0.3),
    "gentler": _p("-energy", energy=-0.25, tension=-0.15),
    "slower": _p("-energy", energy=-0.3, motion=-0.2),
    "more driving": _p("+energy", motion=0.3, energy=0.15),
    "warmer": _p("+warmth", intimacy=0.3, tension=-0.1),
    "more intimate": _p("+warmth", intimacy=0.3, energy=-0.1),
    "colder": _p("-warmth", intimacy=-0.3, tension=0.1),
    "busier": _p("+complexity", motion=0.3, energy=0.1),
    "richer": _p("+complexity", motion=0.2, tension=0.15),
    "sparser": _p("-complexity", motion=-0.3, energy=-0.1),
    "simpler": _p("-complexity", motion=-0.25, tension=-0.1),
    "more acoustic": _p("+acousticness"),
    "more electronic": _p("-acousticness"),
    "more nostalgic": _p("+nostalgia"),
    "more modern": _p("-nostalgia"),
    "more tense": _p("", tension=0.3),
    "resolve it": _p("", tension=-0.4, valence=0.1),
    "more relaxed": _p("-energy", tension=-0.3, energy=-0.15),
}
SYNONYMS: dict[str, str] = {
    # bare adjectives and other words for the same phrase
    "sad": "sadder", "melancholic": "sadder", "more melancholic": "sadder", "gloomier": "darker", "dark": "darker",
    "moodier": "darker", "happy": "happier", "cheerful": "happier", "more cheerful": "happier", "joyful": "happier",
    "more joyful": "happier", "sunnier": "brighter", "bright": "brighter", "more sparkling": "brighter",
    "intense": "more intense", "bigger": "more intense", "epic": "more intense", "more epic": "more intense",
    "energetic": "more energetic", "livelier": "more energetic", "more lively": "more energetic",
    "punchier": "more energetic", "loud": "louder", "fast": "faster", "quicker": "faster",
    "calm": "calmer", "relaxing": "calmer", "peaceful": "calmer", "more peaceful": "calmer", "soft": "softer",
    "quiet": "quieter", "gentle": "gentler", "slow": "slower", "sleepier": "calmer",
    "driving": "more driving",
    "warm": "warmer", "cozier": "warmer", "cosier": "warmer", "more cozy": "warmer", "cozy": "warmer",
    "intimate": "more intimate", "tender": "warmer", "more tender": "warmer",
    "cold": "colder", "cooler": "colder", "icier": "colder", "more distant": "colder", "more clinical": "colder",
    "busy": "busier", "more complex": "richer", "complex": "richer", "more intricate": "richer",
    "jazzier": "richer", "fancier": "richer", "rich": "richer", "sparse": "sparser", "simple": "simpler",
    "plainer": "simpler", "more minimal": "simpler", "minimal": "simpler",
    "acoustic": "more acoustic", "unplugged": "more acoustic", "more organic": "more acoustic",
    "more natural": "more acoustic", "electronic": "more electronic", "synthier": "more electronic",
    "more synthetic": "more electronic", "more digital": "more electronic", "more synth": "more electronic",
    "nostalgic": "more nostalgic", "more retro": "more nostalgic", "retro": "more nostalgic",
    "more vintage": "more nostalgic", "vintage": "more nostalgic", "older": "more nostalgic",
    "more old fashioned": "more nostalgic", "old fashioned": "more nostalgic",
    "modern": "more modern", "newer": "more modern", "more futuristic": "more modern",
    "futuristic": "more modern", "fresher": "more modern", "more contemporary": "more modern",
    "tense": "more tense", "more tension": "more tense", "relaxed": "more relaxed", "resolved": "resolve it",
}
OPPOSITES: dict[str, str] = {
    "sadder": "happier", "darker": "brighter", "more intense": "calmer", "more energetic": "calmer",
    "louder": "quieter", "faster": "slower", "softer": "louder", "calmer": "more energetic",
    "warmer": "colder", "more intimate": "colder", "colder": "warmer", "busier": "sparser", "richer": "simpler",
    "sparser": "busier", "simpler": "richer", "more acoustic": "more electronic", "more electronic": "more acoustic",
    "more nostalgic": "more modern", "more modern": "more nostalgic", "more tense": "more relaxed",
    "more relaxed": "more tense", "happier": "sadder", "brighter": "darker", "quieter": "louder",
    "gentler": "more intense", "slower": "faster", "more driving": "calmer",
}
SECTION_WORDS = {
    "intro": "intro", "beginning": "intro", "opening": "intro", "start": "intro",
    "verse": "verse", "verses": "verse", "chorus": "chorus", "refrain": "chorus", "bridge": "bridge",
    "middle": "bridge", "outro": "outro", "ending": "outro", "end": "outro", "finale": "outro",
}
SOFTER_WORDS = ("a little bit", "a tiny bit", "a little", "a bit", "a touch", "slightly", "somewhat", "little")
STRONGER_WORDS = ("a lot", "much", "way", "very", "really", "far", "even", "lots", "so much")
FILLER = frozenset((
    "make", "it", "the", "a", "an", "please", "song", "music", "tune", "piece", "track", "part", "parts", "section",
    "sections", "this", "that", "its", "be", "to", "feel", "sound", "sounds", "more", "and", "also", "in", "on",
    "at", "during", "of", "for", "with", "can", "you", "could", "would", "i", "want", "like", "id", "just", "little",
    "bit", "lot", "let", "s", "do", "give", "me", "us", "over", "throughout", "whole", "all", "entire", "everything",
    "everywhere", "keep", "rest", "same", "while", "but", "then", "plus", "too", "so", "kind", "sort", "now",
    "thanks", "thank", "again", "version", "one",
))
EXAMPLES = ("warmer", "a bit sadder", "calmer ending", "more intense chorus", "richer", "more acoustic",
            "more nostalgic", "brighter and simpler")


@dataclass
class ParsedWords:
    matched: list[str] = field(default_factory=list)  # what was understood, e.g. "a bit sadder"
    phrases: list[str] = field(default_factory=list)  # the phrases applied, canonical
    unknown: list[str] = field(default_factory=list)  # the words not understood
    dims: dict[str, float] = field(default_factory=dict)
    delta: dict[str, float] = field(default_factory=dict)
    section_kinds: list[str] = field(default_factory=list)


def _vocabulary() -> list[tuple[str, str]]:
    """(words, canonical phrase), longest first, so 'more intense' wins over 'intense'."""
    pairs = [(p, p) for p in PHRASES] + list(SYNONYMS.items())
    return sorted(pairs, key=lambda x: (-len(x[0].split()), -len(x[0]), x[0]))


_VOCAB = _vocabulary()
_CLAUSE_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bbut\b|\bthen\b|\bplus\b|&|\+)\s*")


def check_command(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("say how to change the song, e.g. “make it sadder” or “calmer ending”")
    if len(text) > MAX_COMMAND_CHARS:
        raise InvalidInputError(f"refinement requests are limited to {MAX_COMMAND_CHARS} characters")
    return " ".join(text.split())


def parse_words(text: object) -> ParsedWords:
    """Read a refinement request; raises when nothing in it is understood."""
    cleaned = check_command(text)
    lowered = re.sub(r"[^a-z,;&+ ]+", " ", cleaned.lower().replace("-", " ").replace("'", ""))
    out = ParsedWords()
    for clause in _CLAUSE_SPLIT.split(lowered):
        _parse_clause(clause.split(), out)
    if not out.phrases:
        shown = re.sub(r"^(please )?make it ", "", cleaned[:60], flags=re.IGNORECASE)
        raise InvalidInputError(
            f"I don't know how to make it “{shown}”. Try: " + ", ".join(EXAMPLES)
            + " — optionally with a section (intro, verse, chorus, bridge, ending).")
    return out


def _parse_clause(words: list[str], out: ParsedWords) -> None:
    i, leftover = 0, []
    scale_next = 1.0
    negate_next = False
    while i < len(words):
        strength = _match_any(words, i, SOFTER_WORDS), _match_any(words, i, STRONGER_WORDS)
        if strength[0]:
            scale_next, i = 0.5, i + strength[0]
            continue
        if strength[1]:
            scale_next, i = 1.5, i + strength[1]
            continue
        if words[i] in ("less", "not", "no", "never"):
            negate_next, i = True, i + 1
            continue
        hit = next(((w, p) for w, p in _VOCAB if words[i:i + len(w.split())] == w.split()), None)
        if hit is not None:
            _apply(OPPOSITES.get(hit[1], hit[1]) if negate_next else hit[1], scale_next, out)
            scale_next, negate_next, i = 1.0, False, i + len(hit[0].split())
            continue
        if words[i] in SECTION_WORDS:
            kind = SECTION_WORDS[words[i]]
            if kind not in out.section_kinds:
                out.section_kinds.append(kind)
        elif words[i] not in FILLER:
            leftover.append(words[i])
        i += 1
    if leftover:
        out.unknown.append(" ".join(leftover))


def _match_any(words: list[str], i: int, options: tuple[str, ...]) -> int:
    for opt in sorted(options, key=lambda o: -len(o.split())):
        n = len(opt.split())
        if words[i:i + n] == opt.split() and i + n < len(words):
            return n
    return 0


def _apply(phrase: str, scale: float, out: ParsedWords) -> None:
    label = {0.5: "a bit ", 1.5: "much "}.get(scale, "") + phrase
    if phrase in out.phrases:
        return
    out.phrases.append(phrase)
    out.matched.append(label)
    spec = PHRASES[phrase]
    for dim, v in spec.dims.items():
        out.dims[dim] = round(out.dims.get(dim, 0.0) + v * scale, 3)
    for axis, v in spec.delta.items():
        out.delta[axis] = round(out.delta.get(axis, 0.0) + v * scale, 3)


SUMMARY_WORDS = {"energy": "energy", "warmth": "warmth", "brightness": "brightness", "acousticness": "acoustic",
                 "complexity": "richness", "nostalgia": "nostalgia"}


def refine_summary(diff: Mapping[str, Any], before: Mapping[str, float], after: Mapping[str, float]) -> list[str]:
    """Three plain lines: which sections were regenerated, what changed musically, what the
    measurement of the whole song says moved."""
    sections = diff.get("sections", [])
    changed = [s["section"] for s in sections if s.get("changed")]
    kept = [s["section"] for s in sections if not s.get("changed")]
    line1 = ("Regenerated: " + ", ".join(changed) if changed else "Nothing was regenerated")
    line1 += ("; kept note for note: " + ", ".join(kept)) if kept and changed else ""
    musical = [f"the {i['role']} is now played on {i['after']} (was {i['before']})" for i in diff.get("instruments", [])]
    for s in sections:
        if s.get("scale"):
            musical.append(f"the {s['section']} moves from {s['scale']['before'].replace('_', ' ')} to "
                           f"{s['scale']['after'].replace('_', ' ')}")
    feel = {k: b - a for s in sections for k, (a, b) in (s.get("feel") or {}).items()}
    if not musical and feel:
        words = {"legato": ("play more legato", "play more detached"),
                 "timing_spread": ("sit looser around the beat", "sit tighter on the beat")}
        musical.append("the players " + " and ".join(words[k][0 if v > 0 else 1] for k, v in sorted(feel.items())))
    if not musical:
        notes = [(role, t["before"]["notes"], t["after"]["notes"]) for s in sections for role, t in
                 s.get("tracks", {}).items() if not t.get("identical")]
        before_n, after_n = sum(n[1] for n in notes), sum(n[2] for n in notes)
        musical.append(f"{before_n} notes became {after_n} in the regenerated parts" if notes else "no note changed")
    moved = [f"{SUMMARY_WORDS[d]} {before[d]:.0f} → {after[d]:.0f}" for d in DIMS
             if d in before and d in after and abs(after[d] - before[d]) >= 1.5]
    line3 = "Measured: " + (", ".join(moved) if moved else "no quality moved by 2 points or more")
    return [line1 + ".", musical[0][0].upper() + musical[0][1:] + ".", line3 + "."]
