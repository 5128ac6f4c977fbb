"""Measured checks, one per style idiom a style card may claim (gimmick effects: ``gimmicks``).

Each check reads a composed song (its plan, the composed parts, and the notes as played
after humanization, all in beats) and answers (holds, what was measured). The tests run
every style card's idioms through these.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kotone.domain.plan import SongPlan
from kotone.domain.theory import scale_pcs
from kotone.music.types import Note

KICK, SNARES = 36, (38, 39, 40)


@dataclass
class Heard:
    """A song as the checks read it: the plan, the composed notes and the played notes per role."""

    plan: SongPlan
    composed: dict[str, list[Note]]  # role -> notes before humanization
    played: dict[str, list[Note]]  # role -> notes after humanization

    @property
    def bpb(self) -> float:
        return self.plan.beats_per_bar

    def bars_of(self, role: str, sections: tuple[str, ...] | None = None, skip_last: bool = True) -> list[list[float]]:
        """Onsets within the bar (beats), per bar in which ``role`` plays, optionally only in
        the given section types; the song's last bar (the held ending) left out."""
        out: dict[int, list[float]] = {}
        last = int(round(self.plan.total_beats / self.bpb)) - 1
        for n in self.composed.get(role, []):
            b = int(np.floor(n.start / self.bpb + 1e-6))
            if (skip_last and b == last) or (sections and self.section_at(n.start) not in sections):
                continue
            out.setdefault(b, []).append(round(n.start - b * self.bpb, 3))
        return [sorted(set(v)) for _, v in sorted(out.items())]

    def section_at(self, beat: float) -> str:
        for s in self.plan.sections:
            if s.start_beat <= beat < s.start_beat + s.bars * self.bpb:
                return s.section_type
        return self.plan.sections[-1].section_type


Check = Callable[[Heard], tuple[bool, str]]


def share_of(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else 0.0


def _bars_with(h: Heard, role: str, want: set[float], exact: bool = False, at_least: float = 0.8,
               sections: tuple[str, ...] | None = None) -> tuple[bool, str]:
    """Share of the role's bars whose onsets hold ``want`` (``exact``: fall only on ``want``;
    a hit may rest where nothing fits under the tune)."""
    bars = h.bars_of(role, sections)
    flags = [set(b) <= want if exact else want <= set(b) for b in bars]
    share = share_of(flags)
    return share >= at_least, f"{share:.0%} of {len(bars)} {role} bars {'fall only on' if exact else 'hold'} {sorted(want)}"


def _main_sections(h: Heard) -> tuple[str, ...]:
    """Section types whose drums keep the style's groove (a double-time section does not)."""
    from kotone.music.generators import double_time_section

    kinds = ("intro", "verse", "chorus", "bridge", "outro")
    if "double_time" in h.plan.effects:
        return tuple(k for k in kinds if k != double_time_section(h.plan))
    return kinds


def _comp_free(h: Heard) -> bool:
    return "arpeggiator" in h.plan.effects


# ---------------------------------------------------------------- form


def _labels(h: Heard) -> str:
    return "".join(s.label for s in h.plan.sections)


def returns_note_for_note(h: Heard, kinds: tuple[str, ...]) -> bool:
    by_id = {s.section_id: s for s in h.plan.sections}
    mel = h.composed.get("melody", [])
    ok = False
    for s in h.plan.sections:
        if s.repeat_of is None or s.section_type not in kinds:
            continue
        src = by_id[s.repeat_of]
        shift, dt = s.tonic_shift - src.tonic_shift, s.start_beat - src.start_beat

        def inside(sec):
            return [(round(n.start - sec.start_beat, 3), n.pitch) for n in mel
                    if sec.start_beat <= n.start < sec.start_beat + sec.bars * h.bpb]
        a = [(t, p + shift) for t, p in inside(src)]
        b = inside(s)
        if a and a == b and dt > 0:
            ok = True
        elif a != b:
            return False
    return ok


def verse_chorus_form(h: Heard) -> tuple[bool, str]:
    ok = "AB" in _labels(h) and returns_note_for_note(h, ("chorus",))
    return ok, f"form {_labels(h)}; the chorus returns note for note: {ok}"


def aabb_strains(h: Heard) -> tuple[bool, str]:
    lab = _labels(h)
    ok = ("AABB" in lab or "ABA" in lab) and returns_note_for_note(h, ("verse", "chorus"))
    return ok, f"form {lab}"


def aaba_form(h: Heard) -> tuple[bool, str]:
    lab = _labels(h)
    ok = ("AABA" in lab or "ABA" in lab) and returns_note_for_note(h, ("verse",))
    return ok, f"form {lab}"


def twelve_bar_blues(h: Heard) -> tuple[bool, str]:
    """Every chorus: I IV I I / IV IV I I / V IV I, all major (dominant where they carry a 7th),
    the V and the I of bar 4 dominant sevenths."""
    want = (0, 5, 0, 0, 5, 5, 0, 0, 7, 5, 0)
    choruses = [s for s in h.plan.sections if s.bars == 12]
    good = 0
    for s in choruses:
        bars = []
        for c in s.chords:
            bars += [c] * int(round(c.beats / h.bpb))
        roots = tuple((c.root_pc - h.plan.tonic_pc) % 12 for c in bars[:11])
        major = all((c.root_pc + 4) % 12 in c.pcs and (len(c.pcs) < 4 or (c.root_pc + 10) % 12 in c.pcs) for c in bars)
        dom = all(len(bars[i].pcs) == 4 for i in (3, 8))
        good += roots == want and major and dom
    return bool(choruses) and good == len(choruses), f"{good}/{len(choruses)} choruses I-IV-I-I7 IV-IV-I-I V7-IV-I"


# ---------------------------------------------------------------- meter and parts


def compound_meter(h: Heard) -> tuple[bool, str]:
    """6/8: every tune onset on the eighth grid; no note crosses the middle of the bar unless
    it starts on it (groups of three eighths)."""
    mel = h.composed.get("melody", [])
    on_grid = [abs(n.start * 2 - round(n.start * 2)) < 1e-3 for n in mel]
    crossing = []
    for n in mel:
        pos = (n.start % h.bpb)
        end = pos + n.dur
        crossing.append(0 < pos < 1.5 - 1e-3 and end > 1.5 + 0.05)
    ok = h.plan.meter == "6/8" and share_of(on_grid) == 1.0 and share_of(crossing) <= 0.05
    return ok, f"meter {h.plan.meter}; {share_of(on_grid):.0%} on the eighth grid; {share_of(crossing):.0%} cross the pulse"


def dotted_quarter_comp(h: Heard) -> tuple[bool, str]:
    if _comp_free(h):
        return True, "arpeggiator gimmick: comping replaced"
    bars = h.bars_of("harmony") + h.bars_of("bass")
    ok = share_of([set(b) <= {0.0, 1.5} for b in bars])
    return ok >= 0.9, f"{ok:.0%} of comp/bass bars on the two dotted quarters only"


def waltz_comp(h: Heard) -> tuple[bool, str]:
    if _comp_free(h):
        return True, "arpeggiator gimmick: comping replaced"
    ok, why = _bars_with(h, "harmony", {1.0, 2.0}, exact=True, at_least=0.85)
    bass_ok, bass_why = _bars_with(h, "bass", {0.0}, at_least=0.85)
    return ok and bass_ok, f"{why}; {bass_why}"


def oom_pah(h: Heard) -> tuple[bool, str]:
    if _comp_free(h):
        return True, "arpeggiator gimmick: comping replaced"
    ok, why = _bars_with(h, "harmony", {1.0, 3.0}, exact=True, at_least=0.85)
    bass_ok, bass_why = _bars_with(h, "bass", {0.0, 2.0}, exact=True, at_least=0.85)
    return ok and bass_ok, f"{why}; {bass_why}"


def walking_bass(h: Heard) -> tuple[bool, str]:
    beats = {float(b) for b in range(int(h.bpb))}
    bars = h.bars_of("bass")
    share = share_of([set(b) == beats for b in bars])
    return share >= 0.8, f"{share:.0%} of {len(bars)} bass bars walk in quarter notes"


def bossa_groove(h: Heard) -> tuple[bool, str]:
    bass_ok, bass_why = _bars_with(h, "bass", {0.0, 1.5}, at_least=0.85)
    if _comp_free(h):
        return bass_ok, bass_why
    comp = share_of([bool({1.5, 3.5} & set(b)) for b in h.bars_of("harmony")])
    return bass_ok and comp >= 0.8, f"{bass_why}; {comp:.0%} of comp bars syncopated (1.5 / 3.5)"


def four_on_the_floor(h: Heard) -> tuple[bool, str]:
    bars: dict[int, set[float]] = {}
    for n in h.composed.get("drums", []):
        if n.pitch == KICK and h.section_at(n.start) in _main_sections(h):
            b = int(n.start // h.bpb)
            bars.setdefault(b, set()).add(round(n.start - b * h.bpb, 3))
    last = int(round(h.plan.total_beats / h.bpb)) - 1
    flags = [{0.0, 1.0, 2.0, 3.0} <= v for b, v in bars.items() if b != last]
    return share_of(flags) >= 0.8, f"kick on every beat in {share_of(flags):.0%} of {len(flags)} bars"


def _snare_bars(h: Heard) -> list[set[float]]:
    bars: dict[int, set[float]] = {}
    last = int(round(h.plan.total_beats / h.bpb)) - 1
    for n in h.composed.get("drums", []):
        b = int(n.start // h.bpb)
        if n.pitch in SNARES and b != last and h.section_at(n.start) in _main_sections(h):
            bars.setdefault(b, set()).add(round(n.start - b * h.bpb, 3))
    return list(bars.values())


def backbeat(h: Heard) -> tuple[bool, str]:
    flags = [{1.0, 3.0} <= b for b in _snare_bars(h)]
    return share_of(flags) >= 0.8, f"snare on 2 and 4 in {share_of(flags):.0%} of {len(flags)} bars"


def halftime_groove(h: Heard) -> tuple[bool, str]:
    flags = [b == {2.0} for b in _snare_bars(h)]
    return share_of(flags) >= 0.8, f"snare on 3 alone in {share_of(flags):.0%} of {len(flags)} bars"


def _offbeat_position(notes: list[Note]) -> float:
    fr = np.array([n.start % 1.0 for n in notes])
    off = fr[(fr > 0.4) & (fr < 0.8)]
    return float(np.median(off)) if len(off) >= 8 else 0.5


def swing_eighths(h: Heard) -> tuple[bool, str]:
    played = [n for r in ("melody", "harmony", "drums", "bass") for n in h.played.get(r, [])]
    pos = _offbeat_position(played)
    return h.plan.swing > 0.05 and pos > 0.54, f"swing {h.plan.swing:.2f}; off-beat eighths at {pos:.2f} of the beat"


def straight_eighths(h: Heard) -> tuple[bool, str]:
    if "swing" in h.plan.effects:
        return True, "the Swing gimmick swings it on purpose"
    played = [n for r in ("melody", "harmony", "drums", "bass") for n in h.played.get(r, [])]
    pos = _offbeat_position(played)
    return h.plan.swing == 0 and abs(pos - 0.5) < 0.04, f"swing {h.plan.swing:.2f}; off-beat eighths at {pos:.2f}"


def pedal_bass(h: Heard) -> tuple[bool, str]:
    bass = h.composed.get("bass", [])
    by_sec = {s.section_id: (h.plan.tonic_pc + s.tonic_shift) % 12 for s in h.plan.sections}
    ok = [n.pitch % 12 == by_sec[_section_id(h, n.start)] for n in bass]
    return share_of(ok) >= 0.9, f"{share_of(ok):.0%} of bass notes on the tonic"


def _section_id(h: Heard, beat: float) -> str:
    for s in h.plan.sections:
        if s.start_beat <= beat < s.start_beat + s.bars * h.bpb:
            return s.section_id
    return h.plan.sections[-1].section_id


def _intervals(notes: list[Note]) -> list[int]:
    """Moves between consecutive notes of a line."""
    seq = sorted(notes, key=lambda n: n.start)
    return [b.pitch - a.pitch for a, b in itertools.pairwise(seq)]


def octave_bass(h: Heard) -> tuple[bool, str]:
    iv = _intervals(h.composed.get("bass", []))
    share = share_of([abs(i) == 12 for i in iv])
    return share >= 0.5, f"{share:.0%} of bass moves are octave leaps"


def alternating_bass(h: Heard) -> tuple[bool, str]:
    iv = _intervals(h.composed.get("bass", []))
    share = share_of([abs(i) in (5, 7) for i in iv])
    return share >= 0.4, f"{share:.0%} of bass moves are root-fifth alternations"


def syncopated_bass(h: Heard) -> tuple[bool, str]:
    bass = h.composed.get("bass", [])
    share = share_of([abs(n.start - round(n.start)) > 0.1 for n in bass])
    return share >= 0.2, f"{share:.0%} of bass notes start off the beat"


def arpeggiated_comp(h: Heard) -> tuple[bool, str]:
    notes = h.composed.get("harmony", [])
    onsets: dict[float, int] = {}
    for n in notes:
        onsets[round(n.start, 3)] = onsets.get(round(n.start, 3), 0) + 1
    single = share_of([v == 1 for v in onsets.values()])
    per_bar = len(onsets) / max(1.0, h.plan.total_beats / h.bpb)
    return single >= 0.85 and per_bar >= 4, f"{single:.0%} single-note onsets, {per_bar:.1f} per bar"


def final_seventh(h: Heard) -> tuple[bool, str]:
    last = h.plan.sections[-1].chords[-1]
    return len(last.pcs) >= 4, f"final chord {last.symbol}"


def _cadence(h: Heard, rel: int, name: str) -> tuple[bool, str]:
    chords = h.plan.sections[-1].chords
    if len(chords) < 2:
        return False, "one chord in the last section"
    got = (chords[-2].root_pc - chords[-1].root_pc) % 12
    tonic_ok = chords[-1].root_pc == h.plan.tonic_pc
    return got == rel and tonic_ok, f"{chords[-2].symbol} - {chords[-1].symbol} ({name} wanted)"


def culture_percussion(h: Heard) -> tuple[bool, str]:
    track = h.plan.track("percussion")
    notes = h.composed.get("percussion", [])
    return track is not None and len(notes) >= 8, (f"{track.name if track else 'no'} percussion, {len(notes)} strokes")


def pentatonic_melody(h: Heard) -> tuple[bool, str]:
    mel = h.composed.get("melody", [])
    ok = True
    for s in h.plan.sections:
        tonic, scale = h.plan.section_scale(s)
        allowed = set(scale_pcs(tonic, scale))
        inside = [n for n in mel if s.start_beat <= n.start < s.start_beat + s.bars * h.bpb]
        ok &= len(allowed) == 5 and all(n.pitch % 12 in allowed for n in inside)
    return ok, f"tune in the {h.plan.scale.replace('_', ' ')} scale: {ok}"


def no_drums(h: Heard) -> tuple[bool, str]:
    return h.plan.track("drums") is None, "no drum kit"


IDIOM_CHECKS: dict[str, Check] = {
    "verse_chorus_form": verse_chorus_form, "aabb_strains": aabb_strains, "aaba_form": aaba_form,
    "twelve_bar_blues": twelve_bar_blues, "compound_meter": compound_meter, "dotted_quarter_comp": dotted_quarter_comp,
    "waltz_comp": waltz_comp, "oom_pah": oom_pah, "walking_bass": walking_bass, "bossa_groove": bossa_groove,
    "four_on_the_floor": four_on_the_floor, "swing_eighths": swing_eighths, "straight_eighths": straight_eighths,
    "pedal_bass": pedal_bass, "octave_bass": octave_bass, "alternating_bass": alternating_bass,
    "syncopated_bass": syncopated_bass, "arpeggiated_comp": arpeggiated_comp, "halftime_groove": halftime_groove,
    "backbeat": backbeat, "final_seventh": final_seventh,
    "authentic_cadence": lambda h: _cadence(h, 7, "V-I"), "plagal_cadence": lambda h: _cadence(h, 5, "IV-I"),
    "modal_cadence": lambda h: _cadence(h, 10, "bVII-I"), "phrygian_cadence": lambda h: _cadence(h, 1, "bII-I"),
    "culture_percussion": culture_percussion, "pentatonic_melody": pentatonic_melody, "no_drums": no_drums,
}


def heard(song) -> Heard:
    """A composed ``pipeline.Song`` as the checks read it."""
    from kotone.music.arranger import flatten

    return Heard(plan=song.plan, composed=flatten(song.plan, song.parts), played=song.tracks)
