"""Measured checks, one per gimmick effect: what each gimmick card says it does, read back
from the composed song (see ``idioms.Heard``)."""

from __future__ import annotations

import itertools

import numpy as np

from kotone.music.idioms import Check, Heard, arpeggiated_comp, returns_note_for_note, share_of, swing_eighths
from kotone.music.types import Note


def _lead_silent(lead: list[Note], t: float) -> bool:
    return not any(n.start - 1e-3 <= t < n.end - 1e-3 for n in lead)


def g_swing(h: Heard) -> tuple[bool, str]:
    ok, why = swing_eighths(h)
    return ok and h.plan.swing >= 0.12, why


def g_echo(h: Heard) -> tuple[bool, str]:
    lead, echo = h.composed.get("melody", []), h.composed.get("texture", [])
    answered = [any(m.pitch == n.pitch and 0 < n.start - m.start <= 4 * h.bpb for m in lead)
                and _lead_silent(lead, n.start) for n in echo]
    ok = len(echo) >= 6 and share_of(answered) >= 0.9 and "echo" in h.plan.audio_fx
    return ok, f"{len(echo)} echo notes, {share_of(answered):.0%} repeat a lead note in its rest"


def _velocity_in(h: Heard, t0: float, t1: float) -> float:
    v = [n.velocity for ns in h.played.values() for n in ns if t0 <= n.start < t1]
    return float(np.mean(v)) if v else 0.0


def g_fade_out(h: Heard) -> tuple[bool, str]:
    last = h.plan.sections[-1]
    first = _velocity_in(h, last.start_beat, last.start_beat + h.bpb)
    end = _velocity_in(h, h.plan.total_beats - h.bpb, h.plan.total_beats)
    return end <= 0.5 * first, f"velocity {first:.0f} at the start of the {last.section_type}, {end:.0f} in its last bar"


def g_music_box_intro(h: Heard) -> tuple[bool, str]:
    intro = h.plan.sections[0]
    t1 = intro.start_beat + intro.bars * h.bpb
    box = h.plan.track("texture")
    inside = {r: [n for n in ns if n.start < t1] for r, ns in h.composed.items()}
    total = sum(len(v) for v in inside.values())
    mine = len(inside.get("texture", []))
    theme = h.plan.motifs[0].rhythm_pattern if h.plan.motifs else []
    onsets = sorted(n.start for n in inside.get("texture", []))
    iois = [round(b - a, 3) for a, b in itertools.pairwise(onsets)][: len(theme) - 1]
    ok = (intro.section_type == "intro" and box is not None and box.program == 10 and total and mine / total >= 0.9
          and iois == [round(d, 3) for d in theme[: len(iois)]] and len(iois) >= 2)
    return bool(ok), f"{mine}/{total} intro notes on the music box; the theme's rhythm: {iois == theme[:len(iois)]}"


def g_rain(h: Heard) -> tuple[bool, str]:
    drops = h.composed.get("texture", [])
    bars = h.plan.total_beats / h.bpb
    high = share_of([n.pitch >= 79 and n.velocity <= 45 for n in drops])
    return len(drops) >= bars / 2 and high == 1.0 and "rain" in h.plan.audio_fx, (
        f"{len(drops)} soft high droplets over {bars:.0f} bars; rain in the audio effects")


def g_vinyl(h: Heard) -> tuple[bool, str]:
    return "vinyl_crackle" in h.plan.audio_fx, f"audio effects {h.plan.audio_fx}"


def g_birdsong(h: Heard) -> tuple[bool, str]:
    t = h.plan.track("texture")
    chirps = h.composed.get("texture", [])
    return t is not None and t.program == 123 and len(chirps) >= 8 and all(n.dur <= 0.5 for n in chirps), (
        f"{len(chirps)} chirps on program {t.program if t else '-'}")


def g_call_response(h: Heard) -> tuple[bool, str]:
    lead, answer = h.composed.get("melody", []), h.composed.get("counter", [])
    in_rests = share_of([_lead_silent(lead, n.start) and _lead_silent(lead, n.start + n.dur * 0.9) for n in answer])
    bars = h.plan.total_beats / h.bpb
    return len(answer) >= bars / 4 and in_rests >= 0.95, f"{len(answer)} answer notes, {in_rests:.0%} in the lead's rests"


def g_drone(h: Heard) -> tuple[bool, str]:
    drone = h.composed.get("texture", [])
    held = sum(n.dur for n in drone if n.pitch % 12 == h.plan.tonic_pc % 12)
    share = held / h.plan.total_beats
    return share >= 0.9, f"the tonic held {share:.0%} of the song"


def g_bitcrush(h: Heard) -> tuple[bool, str]:
    lead = h.plan.track("melody")
    return lead is not None and lead.program == 80 and "bitcrush" in h.plan.audio_fx, (
        f"lead program {lead.program if lead else '-'}; audio effects {h.plan.audio_fx}")


def g_arpeggiator(h: Heard) -> tuple[bool, str]:
    ok, why = arpeggiated_comp(h)
    per_bar = len({round(n.start, 3) for n in h.composed.get("harmony", [])}) / max(1.0, h.plan.total_beats / h.bpb)
    return ok and per_bar >= 2 * h.bpb, why


def g_key_change(h: Heard) -> tuple[bool, str]:
    lifted = [s for s in h.plan.sections if s.tonic_shift > 0]
    if not lifted:
        return False, "no section rises"
    first = lifted[0]
    ok = first.repeat_of is not None and returns_note_for_note(h, (first.section_type,))
    ends = h.plan.end_tonic_pc == (h.plan.tonic_pc + first.tonic_shift) % 12
    return ok and ends, f"{first.section_id} rises {first.tonic_shift}: the theme note for note up a step: {ok}"


def g_canon(h: Heard) -> tuple[bool, str]:
    lead, voice = h.composed.get("melody", []), h.composed.get("counter", [])
    lag = h.bpb
    starts = {(round(n.start + lag, 3), n.pitch - 12) for n in lead}
    share = share_of([(round(n.start, 3), n.pitch) in starts for n in voice])
    return len(voice) >= 8 and share >= 0.95, f"{share:.0%} of {len(voice)} counter notes are the lead a bar later, an octave down"


def g_double_time(h: Heard) -> tuple[bool, str]:
    def rate(kind: str) -> float:
        hits = [n for n in h.composed.get("drums", []) if h.section_at(n.start) == kind]
        beats = sum(s.bars * h.bpb for s in h.plan.sections if s.section_type == kind
                    and s.track_behaviors.get("drums") and s.track_behaviors["drums"].active)
        return len(hits) / beats if beats else 0.0
    from kotone.music.generators import double_time_section

    kind = double_time_section(h.plan)
    verse, doubled = rate("verse"), rate(kind)
    return verse > 0 and doubled >= 1.6 * verse, f"{doubled:.2f} drum hits per beat in the {kind}, {verse:.2f} in the verse"


GIMMICK_CHECKS: dict[str, Check] = {
    "swing": g_swing, "echo": g_echo, "fade_out": g_fade_out, "music_box_intro": g_music_box_intro,
    "vinyl_crackle": g_vinyl, "rain": g_rain, "birdsong": g_birdsong, "call_response": g_call_response,
    "drone": g_drone, "bitcrush": g_bitcrush, "arpeggiator": g_arpeggiator, "key_change": g_key_change,
    "canon": g_canon, "double_time": g_double_time,
}


