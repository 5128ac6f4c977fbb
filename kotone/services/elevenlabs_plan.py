"""Our song plan -> the ElevenLabs ``composition_plan`` body (the ``music_v1`` MusicPrompt).

No network and no key: this only reads the plan, the cards and the commission. The body
is checked against the SDK's own ``MusicPrompt`` type and against the limits its docs give
(section 3,000-120,000 ms, name 1-100 characters, at most 30 lines of 200 characters).

The plan is read from its JSON form (``SongPlan.model_dump(mode="json")`` or a saved
song's ``record["plan"]``) by its public fields only (tempo_bpm, meter, key_name, cards,
sections[] with section_type / bars / start_beat / emotion, tracks[] with role / name), so
fields added to the plan later change nothing here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kotone.domain.errors import InvalidInputError

MIN_SECTION_MS = 3_000
MAX_SECTION_MS = 120_000
MAX_TOTAL_MS = 600_000
MAX_NAME_CHARS = 100
MAX_STYLE_CHARS = 200
MAX_GLOBAL_STYLES = 24
BEATS_PER_BAR = {"4/4": 4.0, "3/4": 3.0, "6/8": 3.0}  # quarter-note beats, as the plan counts them

GROOVE_WORDS = {
    "swing": "swung eighths", "shuffle": "shuffle rhythm", "halftime": "half-time feel",
    "four_on_floor": "four-on-the-floor beat", "breakbeat": "breakbeat drums", "bossa": "bossa nova groove",
    "waltz": "waltz feel", "jig": "jig rhythm", "march": "march rhythm", "ballad": "slow ballad feel",
    "matsuri": "Japanese festival drums", "maqsum": "maqsum rhythm", "straight": "straight eighths",
}
HARMONY_WORDS = {
    "pop": "simple pop chords", "jazz": "jazz chords with sevenths", "folk": "folk chords",
    "modal": "modal harmony", "blues": "blues changes", "cinematic": "cinematic harmony",
    "ambient": "slow ambient harmony", "minimal": "minimal harmony",
}
EFFECT_WORDS = {
    "swing": "swing feel", "key_change": "key change up for the last chorus",
    "music_box_intro": "music box introduction", "echo": "echoing delay", "vinyl_crackle": "vinyl crackle",
    "rain": "soft rain ambience", "fade_out": "fade-out ending", "call_response": "call and response phrases",
    "bitcrush": "bitcrushed 8-bit texture", "birdsong": "birdsong ambience", "drone": "low drone",
    "canon": "melody in canon", "arpeggiator": "arpeggiated synth", "double_time": "double-time drums",
}
KIT_WORDS = {
    "standard": "drum kit", "brush": "brushed drums", "jazz": "jazz drums", "room": "soft room drums",
    "electronic": "electronic drums", "808": "808 drum machine", "hand": "hand percussion",
}
ROLE_WORDS = {"melody": "lead", "harmony": "chords", "bass": "bass", "counter": "counter-melody", "pad": "pad"}
SECTION_WORDS = {
    "intro": "gentle opening", "verse": "main theme", "chorus": "fuller refrain",
    "bridge": "contrasting bridge", "outro": "real ending, final cadence",
}
VOICE_WORDS = ("choir", "voice", "oohs", "aahs")
INSTRUMENTAL_NEGATIVES = ("lyrics", "spoken word", "lead vocals")


@dataclass
class Part:
    """One ElevenLabs section while it is being built (merged or split as needed)."""

    name: str
    duration_ms: int
    styles: list[str] = field(default_factory=list)
    avoid: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {"section_name": self.name[:MAX_NAME_CHARS], "positive_local_styles": _clean(self.styles),
                "negative_local_styles": _clean(self.avoid), "duration_ms": int(self.duration_ms), "lines": []}


def _clean(words: Iterable[str], limit: int | None = None) -> list[str]:
    """Non-empty, trimmed, de-duplicated (case-insensitively) style strings, in order."""
    out: list[str] = []
    seen: set[str] = set()
    for w in words:
        w = " ".join(str(w).split())[:MAX_STYLE_CHARS]
        if w and w.lower() not in seen:
            seen.add(w.lower())
            out.append(w)
    return out[:limit] if limit else out


def _as_json(obj: Any) -> Mapping[str, Any]:
    if obj is None:
        return {}
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, Mapping):
        return obj
    raise InvalidInputError(f"expected a song plan mapping, got {type(obj).__name__}")


def instrument_words(name: str) -> str:
    """A GM-style track name in plain words: 'Acoustic Guitar (nylon)' -> 'nylon acoustic guitar'."""
    low = name.lower()
    if any(v in low for v in VOICE_WORDS):
        return "wordless choir"
    if "(" in low and low.endswith(")"):
        base, kind = low[:-1].split("(", 1)
        base = " ".join(w for w in base.split() if not w.isdigit())
        return f"{kind.strip()} {base}".strip()
    return " ".join(w for w in low.split() if not w.isdigit())


def emotion_words(emotion: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(styles, styles to avoid) for a section's emotion vector (energy/tension/intimacy/motion 0-1,
    valence -1..1)."""
    e = {k: float(emotion.get(k, d)) for k, d in
         (("energy", 0.5), ("valence", 0.0), ("tension", 0.3), ("intimacy", 0.5), ("motion", 0.5))}
    styles: list[str] = []
    avoid: list[str] = []
    if e["energy"] < 0.3:
        styles.append("quiet and sparse")
        avoid.append("loud")
    elif e["energy"] > 0.7:
        styles.append("full and driving")
        avoid.append("sparse")
    else:
        styles.append("medium energy")
    if e["valence"] > 0.5:
        styles.append("bright and joyful")
    elif e["valence"] > 0.15:
        styles.append("hopeful")
    elif e["valence"] < -0.5:
        styles.append("sad, melancholic")
    elif e["valence"] < -0.15:
        styles.append("wistful")
    if e["tension"] > 0.6:
        styles.append("tense, building")
    elif e["tension"] < 0.25:
        styles.append("relaxed")
    if e["intimacy"] > 0.7:
        styles.append("intimate and close")
    elif e["intimacy"] < 0.3:
        styles.append("wide and distant")
    if e["motion"] > 0.7:
        styles.append("busy, moving rhythm")
    elif e["motion"] < 0.3:
        styles.append("slow-moving")
    return styles, avoid


def _cards(plan: Mapping[str, Any], catalog: Any) -> dict[str, Any]:
    out = {}
    for slot, card_id in dict(plan.get("cards") or {}).items():
        if card_id in catalog:
            out[slot] = catalog.get(card_id)
    return out


def _instruments(tracks: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """role -> plain words for the instrument playing it (drums as their kit; texture left out,
    it is the gimmick's sound and is described by the gimmick)."""
    out: dict[str, str] = {}
    for t in tracks:
        role, name = str(t.get("role", "")), str(t.get("name", ""))
        if role == "drums":
            kit = name[name.find("(") + 1:-1] if "(" in name and name.endswith(")") else ""
            out[role] = KIT_WORDS.get(kit, "drums")
        elif role in ROLE_WORDS and name:
            words = instrument_words(name)
            voice = words == "wordless choir" or ROLE_WORDS[role] in words.split()
            out[role] = words if voice else f"{words} {ROLE_WORDS[role]}"
    return out


def global_styles(plan: Mapping[str, Any], commission: Mapping[str, Any], catalog: Any) -> tuple[list[str], list[str]]:
    """(positive, negative) global styles: the cards, tempo, key and meter; the commission's
    forbidden tags and dislikes. Card names are the game's own words, never artists'."""
    cards = _cards(plan, catalog)
    pos: list[str] = ["instrumental"]
    style = cards.get("style")
    if style is not None:
        pos.append(f"{style.name.lower()} style")
        pos.append(GROOVE_WORDS.get(str(plan.get("groove") or style.music.groove), ""))
        pos.append(HARMONY_WORDS.get(style.music.progression_family, ""))
    instruments = _instruments(plan.get("tracks") or [])
    pos.extend(instruments[r] for r in ("melody", "harmony", "counter", "pad", "bass", "drums") if r in instruments)
    mood = cards.get("mood")
    if mood is not None:
        pos.append(f"{mood.name.lower()} mood")
    gimmick = cards.get("gimmick")
    if gimmick is not None:
        pos.append(EFFECT_WORDS.get(gimmick.music.effect, gimmick.name.lower()))
    if plan.get("tempo_bpm"):
        pos.append(f"{round(float(plan['tempo_bpm']))} bpm")
    if plan.get("key_name"):
        pos.append(f"in {plan['key_name']}")
    if plan.get("meter"):
        pos.append(f"{plan['meter']} time")
    for slot in ("style", "mood", "instrument"):
        if slot in cards:
            pos.extend(cards[slot].tags)
    pos = _clean(pos, MAX_GLOBAL_STYLES)
    tags = dict(commission.get("tags") or {})
    pref = dict(commission.get("preference") or {})
    neg = [*tags.get("forbidden", []), *pref.get("dislikes", []), *INSTRUMENTAL_NEGATIVES]
    if "drums" not in instruments:
        neg.append("drums")
    said = " ".join(pos).lower().split()
    return pos, [w for w in _clean(neg) if w.lower() not in said]


def section_parts(plan: Mapping[str, Any]) -> list[Part]:
    """One Part per plan section: its name, exact duration (rounded on the song's own time
    line, so the parts add up to the song's length) and local styles."""
    tempo = float(plan.get("tempo_bpm") or 0)
    sections = list(plan.get("sections") or [])
    if tempo <= 0 or not sections:
        raise InvalidInputError("the song plan needs a tempo and at least one section")
    bpb = float(plan.get("beats_per_bar") or BEATS_PER_BAR.get(str(plan.get("meter")), 4.0))
    instruments = _instruments(plan.get("tracks") or [])
    counts: dict[str, int] = {}
    for s in sections:
        counts[str(s.get("section_type"))] = counts.get(str(s.get("section_type")), 0) + 1
    seen: dict[str, int] = {}
    parts: list[Part] = []
    beat, last_ms, before = 0.0, 0, set()
    for i, s in enumerate(sections):
        kind = str(s.get("section_type") or "section")
        seen[kind] = seen.get(kind, 0) + 1
        name = kind.title() + (f" {seen[kind]}" if counts[kind] > 1 else "")
        beat += float(s.get("bars", 0)) * bpb
        end_ms = round(beat * 60_000 / tempo)
        styles, avoid = emotion_words(dict(s.get("emotion") or {}))
        behaviors = dict(s.get("track_behaviors") or {})
        active = {r for r in instruments if dict(behaviors.get(r) or {}).get("active", True)}
        entering = [instruments[r] for r in instruments if r in active and r not in before]
        if entering:
            styles.insert(0, ("starts with " if i == 0 else "enter: ") + ", ".join(_clean(entering)))
        styles.append(SECTION_WORDS.get(kind, ""))
        avoid.extend("drums" if r == "drums" else instruments[r] for r in instruments if r not in active)
        parts.append(Part(name, end_ms - last_ms, styles, avoid))
        last_ms, before = end_ms, active
    return parts


def _merge(a: Part, b: Part) -> Part:
    return Part(f"{a.name} + {b.name}"[:MAX_NAME_CHARS], a.duration_ms + b.duration_ms,
                _clean([*a.styles, *b.styles]), [w for w in a.avoid if w in b.avoid])


def fit_parts(parts: list[Part]) -> list[Part]:
    """Merge sections shorter than 3 s into a neighbour, split those over 120 s evenly."""
    parts = list(parts)
    while len(parts) > 1:
        short = [i for i, p in enumerate(parts) if p.duration_ms < MIN_SECTION_MS]
        if not short:
            break
        i = min(short, key=lambda k: parts[k].duration_ms)
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(parts)]
        j = min(neighbours, key=lambda k: parts[k].duration_ms)
        lo, hi = min(i, j), max(i, j)
        parts[lo:hi + 1] = [_merge(parts[lo], parts[hi])]
    total = sum(p.duration_ms for p in parts)
    if total < MIN_SECTION_MS or total > MAX_TOTAL_MS:
        raise InvalidInputError(f"the song is {total / 1000:.1f} s long; ElevenLabs takes 3-600 s")
    out: list[Part] = []
    for p in parts:
        n = math.ceil(p.duration_ms / MAX_SECTION_MS)
        if n == 1:
            out.append(p)
            continue
        base, extra = divmod(p.duration_ms, n)
        for k in range(n):
            out.append(Part(f"{p.name} (part {k + 1} of {n})"[:MAX_NAME_CHARS], base + (k < extra),
                            list(p.styles), list(p.avoid)))
    return out


def composition_plan(plan: Any, commission: Any = None, catalog: Any = None) -> dict[str, Any]:
    """The exact ``composition_plan`` body for ``client.music.compose`` (model ``music_v1``)."""
    if catalog is None:
        from kotone.assets import load_catalog

        catalog = load_catalog()
    data = _as_json(plan)
    pos, neg = global_styles(data, _as_json(commission), catalog)
    body = {"positive_global_styles": pos, "negative_global_styles": neg,
            "sections": [p.body() for p in fit_parts(section_parts(data))]}
    check_plan(body)
    return body


def check_plan(body: Mapping[str, Any]) -> Any:
    """Validate ``body`` with the SDK's own ``MusicPrompt`` type (field names and types) and the
    documented limits; returns the SDK object. Raises InvalidInputError naming what is wrong."""
    import pydantic
    from elevenlabs.types import MusicPrompt, SongSection

    unknown = set(body) - set(MusicPrompt.model_fields)
    for s in body.get("sections") or []:
        unknown |= set(s) - set(SongSection.model_fields) if isinstance(s, Mapping) else set()
    if unknown:
        raise InvalidInputError(f"composition plan has fields the SDK does not know: {sorted(unknown)}")
    try:
        prompt = MusicPrompt.model_validate(dict(body))
    except pydantic.ValidationError as exc:
        raise InvalidInputError(f"composition plan does not match the SDK's MusicPrompt: {exc}") from exc
    if not prompt.sections:
        raise InvalidInputError("composition plan has no sections")
    for s in prompt.sections:
        if not MIN_SECTION_MS <= s.duration_ms <= MAX_SECTION_MS:
            raise InvalidInputError(f"section {s.section_name!r} lasts {s.duration_ms} ms; the limit is 3000-120000")
        if not 1 <= len(s.section_name) <= MAX_NAME_CHARS:
            raise InvalidInputError(f"section name {s.section_name[:40]!r} must be 1-100 characters")
        if len(s.lines) > 30 or any(len(line) > 200 for line in s.lines):
            raise InvalidInputError(f"section {s.section_name!r} has more than 30 lines or a line over 200 characters")
    total = sum(s.duration_ms for s in prompt.sections)
    if total > MAX_TOTAL_MS:
        raise InvalidInputError(f"composition plan lasts {total} ms; the limit is {MAX_TOTAL_MS}")
    return prompt


def plan_duration_ms(body: Mapping[str, Any]) -> int:
    return sum(int(s["duration_ms"]) for s in body.get("sections", []))
