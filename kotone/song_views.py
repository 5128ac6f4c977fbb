"""HTML for one song: the live piano roll (drawn in the browser from the notes), the score
with its coaching, the "why" view and the refinement summary. Everything on one 0-100 scale,
card names instead of ids, chords spelled in the song's key.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

from kotone.domain.cards import Catalog
from kotone.domain.params import DIMS
from kotone.domain.progress import Progress
from kotone.domain.song import SongRecord
from kotone.domain.spelling import chord_name, key_name, key_spelling
from kotone.views import DIM_COLORS, DIM_LABELS, RANK_COLORS, SLOT_ICONS, e

TRACK_COLORS = ("#f4a261", "#8ecae6", "#b5e48c", "#cdb4db", "#ffd166", "#ef476f", "#06d6a0", "#e9c46a",
                "#90be6d", "#f28482")
DRUM_COLOR = "#9aa5b1"
VERDICTS = {"S": "is delighted", "A": "is very happy with it", "B": "likes it", "C": "is not quite convinced",
            "D": "says it is not what they asked for"}


def plan_key(plan: Mapping[str, Any]) -> tuple[int, str]:
    return int(plan.get("tonic_pc", 0)), str(plan.get("scale", "major"))


def song_key_name(plan: Mapping[str, Any]) -> str:
    if "tonic_pc" in plan and "scale" in plan:
        return key_name(*plan_key(plan))
    return str(plan.get("key_name", ""))


# ---- the roll -------------------------------------------------------------------------

def roll_payload(record: SongRecord, tracks: list[dict[str, Any]]) -> dict[str, Any]:
    """The data the browser draws: tracks (colour per track, by order), notes, sections."""
    plan = record.plan
    spb = 60.0 / float(plan.get("tempo_bpm") or 120.0)
    bpb = float(plan.get("beats_per_bar") or 4.0)
    sections = [[round(float(s.get("start_beat", 0.0)) * spb, 3), str(s.get("section_type", ""))]
                for s in plan.get("sections", []) if "start_beat" in s]
    out_tracks = []
    for i, t in enumerate(tracks):
        color = DRUM_COLOR if t["is_drum"] else TRACK_COLORS[i % len(TRACK_COLORS)]
        out_tracks.append({"name": t["name"], "role": t.get("role", ""), "drum": t["is_drum"], "color": color,
                           "notes": t["notes"]})
    return {"song": record.song_id, "duration": round(max(record.duration_s, 0.1), 3), "beat": round(spb, 4),
            "bar": round(spb * bpb, 4), "sections": sections, "tracks": out_tracks}


def roll_html(record: SongRecord, payload: Mapping[str, Any], audio_url: str | None,
              downloads: list[tuple[str, str, str]]) -> str:
    """The roll: title, legend chips (click to hide/show a track), the canvas, a playhead that
    follows the audio element below it, and downloads named after the song."""
    chips = "".join(_legend_chip(i, t) for i, t in enumerate(payload["tracks"]))
    data = json.dumps(payload, separators=(",", ":"))
    audio = (f'<audio class="k-player" controls preload="metadata" src="{e(audio_url)}"></audio>' if audio_url
             else '<p class="k-meta">No audio for this song.</p>')
    links = " ".join(f'<a class="k-dl" href="{e(url)}" download="{e(fname)}">⬇ {e(label)}</a>'
                     for label, url, fname in downloads)
    head = song_head_html(record)
    return (f'<div class="k-roll" data-song="{e(record.song_id)}">{head}'
            f'<div class="k-legend" role="group" aria-label="tracks: click to hide or show">{chips}</div>'
            '<div class="k-roll-stage"><canvas class="k-roll-canvas" aria-label="piano roll"></canvas>'
            '<div class="k-playhead" data-t="0"></div></div>'
            f'{audio}<div class="k-downloads">{links}</div>'
            f'<div class="k-roll-data" hidden data-roll="{e(data)}"></div></div>')


def _legend_chip(i: int, track: Mapping[str, Any]) -> str:
    role = f" · {e(track['role'])}" if track.get("role") else ""
    return (f'<button type="button" class="k-legend-chip" data-roll-track="{i}" aria-pressed="true" '
            f'style="--chip:{e(track["color"])}"><span class="k-dot"></span>{e(track["name"])}{role}</button>')


def song_head_html(record: SongRecord) -> str:
    plan = record.plan
    client = record.client
    who = f"{e(client.portrait)} {e(client.name)}" if client else "A free composition"
    req = f'<div class="k-request">{who}: “{e(record.request)}”</div>' if record.request else f"<div>{who}</div>"
    cards = " · ".join(f"{SLOT_ICONS.get(s, '')} {e(n)}" for s, n in record.card_names.items())
    parent = (f' <a href="?song={e(record.parent)}" class="k-meta">(from the earlier version)</a>'
              if record.parent else "")
    meter = e(plan.get("meter", ""))
    return (f'<div class="k-song-head"><h2>{e(record.title)}{parent}</h2>'
            f'<div class="k-meta">{e(song_key_name(plan))} · {float(plan.get("tempo_bpm", 0)):.0f} bpm · {meter} · '
            f'{record.duration_s:.0f} s · seed {record.seed}</div><div class="k-meta">{cards}</div>{req}</div>')


# ---- the score ------------------------------------------------------------------------

def score_html(record: SongRecord, catalog: Catalog, progress: Progress | None = None,
               payout: str | None = None) -> str:
    score = record.score
    if score is None:
        dims = "".join(_dim_bar(d, record.measured.get(d, 0.0), None) for d in DIMS)
        return (f'<div class="k-score"><h3>What the music measured</h3>{dims}'
                '<p class="k-meta">A free composition has no wish to meet, so it is not scored.</p></div>')
    client = record.client.name if record.client else "The client"
    color = RANK_COLORS.get(score.rank, "#ccc")
    head = (f'<div class="k-score-head"><div class="k-rank" style="background:{color}">{e(score.rank)}</div>'
            f'<div><div class="k-total">{score.total:.0f}<small>/100</small></div>'
            f'<div class="k-verdict">{e(client)} {e(VERDICTS.get(score.rank, ""))}.</div></div></div>')
    pay = f'<div class="k-payout">{e(payout)}</div>' if payout else ""
    if record.refinement is not None:
        pay += ('<p class="k-meta">✏️ A refined version: coaching is about card choices, so it stays with the '
                "first take. Compare the two with A/B below.</p>")
    parts = (_part_bar("sound vs. wish", score.vector, "65%") + _part_bar("asked-for touches", score.tags, "20%")
             + _part_bar("client's taste", score.preference, "15%"))
    chem = ""
    if score.synergy or score.anti_synergy:
        chem = f'<div class="k-meta">card chemistry: +{score.synergy:.0f} / −{score.anti_synergy:.0f} points</div>'
    dims = "".join(_dim_bar(d, score.measured.get(d, 0.0), score.target.get(d)) for d in DIMS)
    return (f'<div class="k-score">{head}{pay}{coaching_html(record, catalog, progress)}'
            f'<h4>The song vs. the wish <small>(0–100; ▮ = what was wished for)</small></h4>{dims}'
            f'<h4>How it was judged</h4>{parts}{chem}{_notes(score.notes)}</div>')


def _notes(notes: list[str]) -> str:
    return ('<ul class="k-notes">' + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>") if notes else ""


def coaching_html(record: SongRecord, catalog: Catalog, progress: Progress | None) -> str:
    score = record.score
    if score is None or not score.coaching:
        return ""
    items = []
    suggestions = [c for c in score.coaching if c.suggest]
    for c in suggestions[:2]:
        lock = ""
        if progress is not None and c.suggest not in progress.unlocked and c.suggest in catalog:
            price = catalog.get(c.suggest).price
            lock = f' <span class="k-lock">🔒 locked — {price} coins in the shop</span>'
        items.append(f'<li class="k-suggest" data-slot="{e(c.slot)}" data-suggest="{e(c.suggest)}" '
                     f'data-gain="{c.expected_gain:.1f}">{SLOT_ICONS.get(c.slot, "")} {e(c.message)}{lock}</li>')
    if not suggestions:
        items.append('<li class="k-keep">🎯 Nothing to change: no card swap we composed scored higher.</li>')
    keeps = [c for c in score.coaching if not c.suggest]
    if suggestions and keeps:
        names = ", ".join(f"«{e(c.card_name)}»" for c in keeps)
        items.append(f'<li class="k-keep">Keep {names}.</li>')
    note = ('<p class="k-meta">Each suggestion was composed with this song’s seed and measured: '
            'follow it with the same seed and you get exactly that score.</p>') if suggestions else ""
    return f'<h4>Coaching</h4><ul class="k-coach">{"".join(items)}</ul>{note}'


def _part_bar(label: str, value: float, weight: str) -> str:
    v = max(0.0, min(100.0, float(value)))
    return (f'<div class="k-bar"><span class="k-bar-label">{e(label)} <small>{e(weight)}</small></span>'
            f'<span class="k-bar-track"><span class="k-bar-fill" style="width:{v:.0f}%;background:#7cc4ff"></span>'
            f'</span><span class="k-bar-val">{v:.0f}</span></div>')


def _dim_bar(dim: str, value: float, target: float | None) -> str:
    v = max(0.0, min(100.0, float(value)))
    marker = title = ""
    if target is not None:
        marker = (f'<span class="k-target" style="left:{float(target):.0f}%" '
                  f'title="wished for: {float(target):.0f}"></span>')
        title = f" · wished {float(target):.0f}"
    return (f'<div class="k-bar"><span class="k-bar-label">{e(DIM_LABELS[dim])}</span>'
            f'<span class="k-bar-track"><span class="k-bar-fill" style="width:{v:.0f}%;background:{DIM_COLORS[dim]}">'
            f'</span>{marker}</span><span class="k-bar-val">{v:.0f}<small>{e(title)}</small></span></div>')


# ---- why it sounds like this ----------------------------------------------------------

_NOTE_TOKEN = re.compile(r"\b([A-G])([#b])(?=$|[^a-z]|m|dim|aug|sus|maj|add)")
_NUMBER = re.compile(r"[-+]?\d*\.\d+|[-+]?\d+")


def respell(text: str, tonic_pc: int, scale: str) -> str:
    """Note names with accidentals in free text, respelled for the key (Ab -> G# in F# minor)."""
    key = key_spelling(tonic_pc, scale)
    natural = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

    def fix(m: re.Match) -> str:
        pc = (natural[m.group(1)] + (1 if m.group(2) == "#" else -1)) % 12
        return key.name(pc)

    return _NOTE_TOKEN.sub(fix, text)


def plain(text: str) -> str:
    """Small fixes for generated sentences: 'a Accordion' -> 'an Accordion', underscores."""
    text = re.sub(r"\b([Aa]) ([AEIOUaeiou])", lambda m: ("An " if m.group(1) == "A" else "an ") + m.group(2), text)
    return text.replace("_", " ")


def factor_text(factor: str, value: str) -> str:
    """'emotion.valence = 0.45' -> 'the section's mood 45/100': one 0-100 scale everywhere."""
    head, _, tail = factor.partition(".")
    words = {"intent": "the cards' ", "emotion": "the section's ", "critic": "the critic's ", "mood": "the mood's ",
             "style": "the style's ", "gimmick": "the gimmick's ", "instrument": "the instrument's "}
    label = (words.get(head, head.replace("_", " ") + " ") + tail.replace("_", " ")) if tail else head
    if head in ("emotion", "critic") or (head == "mood" and tail in ("valence", "tension", "intimacy", "motion")):
        value = _NUMBER.sub(lambda m: _to_100(m.group(0)), value)
    return f"{label} {_readable(value)}".strip()


def _readable(value: str) -> str:
    """A value that is a Python literal (a dict, a list) reads as words: 'bright: major, dark: minor'."""
    if not value.startswith(("{", "[", "(")):
        return value
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value
    if isinstance(parsed, dict):
        return ", ".join(f"{k}: {v}" for k, v in parsed.items())
    if isinstance(parsed, list | tuple):
        return ", ".join(str(v) for v in parsed)
    return value


def _to_100(num: str) -> str:
    x = float(num)
    return f"{x * 100:+.0f}" if num.startswith(("+", "-")) else f"{x * 100:.0f}" if abs(x) <= 1.5 else num


def why_html(record: SongRecord) -> str:
    plan = record.plan
    tonic, scale = plan_key(plan)
    rows = []
    for s in plan.get("sections", []):
        s_tonic = (tonic + int(s.get("tonic_shift", 0) or 0)) % 12
        s_scale = s.get("scale") or scale
        chords = " – ".join(chord_name(c.get("pcs", []), s_tonic, s_scale) for c in s.get("chords", []))
        rows.append(f"<li><b>{e(s.get('section_type', ''))}</b> <small>{e(key_name(s_tonic, s_scale))}</small>: "
                    f'<span class="k-chords">{e(chords)}</span></li>')
    chords_html = f'<h4>Chords, section by section</h4><ul class="k-chord-list">{"".join(rows)}</ul>' if rows else ""
    items = []
    for t in plan.get("traces", []):
        because = respell("; ".join(
            plain(factor_text(str(f.get("factor", "")), str(f.get("value", ""))))
            + (f" — {plain(str(f['implication']))}" if f.get("implication") else "")
            for f in t.get("because", [])), tonic, scale)
        decision = respell(plain(str(t.get("decision", ""))), tonic, scale)
        where = plain(" · ".join(str(x) for x in (t.get("section_id"), t.get("track")) if x))
        line = f"<b>{e(decision)}</b>" + (f" <small>({e(where)})</small>" if where else "")
        if because:
            line += f"<div>because {e(because)}.</div>"
        if t.get("principle"):
            line += f'<div class="k-principle">{e(plain(str(t["principle"])))}</div>'
        items.append(f"<li>{line}</li>")
    traces = f'<h4>Decisions</h4><ul class="k-traces">{"".join(items)}</ul>' if items else ""
    intro = (f"<p>{e(record.title)} is in {e(song_key_name(plan))} at {float(plan.get('tempo_bpm', 0)):.0f} "
             "beats per minute. Every number below is on the same 0–100 scale as the score.</p>")
    return intro + chords_html + (traces or "<p>No decisions were recorded for this song.</p>")


# ---- refinement -----------------------------------------------------------------------

def refine_html(record: SongRecord, before_url: str | None, after_url: str | None) -> str:
    """What was understood, three lines on what changed, and A/B players (old, new)."""
    r = record.refinement
    if r is None:
        return ""
    heard = "understood: " + ", ".join(r.understood)
    if r.not_understood:
        heard += " · didn't understand: " + ", ".join(f"“{w}”" for w in r.not_understood)
    lines = "".join(f"<li>{e(line)}</li>" for line in r.summary[:3])
    ab = ""
    if before_url and after_url:
        ab = ('<div class="k-ab"><label>A · before <audio controls preload="none" '
              f'src="{e(before_url)}"></audio></label><label>B · after <audio controls preload="none" '
              f'src="{e(after_url)}"></audio></label></div>')
    return (f'<div class="k-refined"><div class="k-heard">✏️ {e(heard)}</div><ul>{lines}</ul>{ab}</div>')
