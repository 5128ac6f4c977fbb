"""Phrases: where a section's tune is fixed in advance and where a generator fills it in.

An 8-bar section is a period: the basic idea (bars 1-2, a motif), a continuation, a half
cadence held on a tone of the cadence chord (bar 4), the basic idea again (bars 5-6), a
continuation and the full cadence on the tonic (bar 8). A 4-bar section is one phrase that
closes; a 12-bar blues chorus states its idea, restates it over the IV chord and answers.
The song's last note is the tonic held for the whole last bar. Between the fixed notes the
generator (rule or expert) fills only the spans listed here; everything else is rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from kotone.domain.theory import nearest_pitch
from kotone.music.motifs import chord_tone_near, fit_pitch
from kotone.music.types import Note, SectionContext


@dataclass(frozen=True)
class Cadence:
    bar: int
    kind: str  # "half" (on the cadence chord) or "full" (on the tonic)
    hold: float  # beats


@dataclass(frozen=True)
class PhraseLayout:
    ideas: tuple[int, ...]  # bars where the basic idea starts
    fills: tuple[tuple[float, float], ...]  # (start, end) in beats from the section start
    cadences: tuple[Cadence, ...]


def pickup(bar: int, bpb: float, compound: bool) -> tuple[float, float]:
    """The last beat of a cadence bar (the last dotted quarter in 6/8) leads into what follows."""
    start = bar * bpb + (1.5 if compound else bpb - 1.0)
    return start, (bar + 1) * bpb


def layout(kind: str, bars: int, bpb: float, *, compound: bool, final: bool, pickups: bool = True) -> PhraseLayout:
    """The period plan of one section (see the module docstring)."""
    hold = bpb if final else (1.5 if compound else 2.0)
    inner_hold = 1.5 if compound else 2.0

    def span(a: float, b: float) -> tuple[float, float]:
        return a * bpb, b * bpb

    def tail(bar: int) -> list[tuple[float, float]]:
        return [pickup(bar, bpb, compound)] if pickups else []

    if kind == "intro":
        return PhraseLayout((), (), ())
    if kind == "outro":
        if bars >= 4:
            return PhraseLayout((0,), (span(2, bars - 1),), (Cadence(bars - 1, "full", hold),))
        return PhraseLayout((), (span(0, bars - 1),), (Cadence(bars - 1, "full", hold),))
    if bars >= 12:
        fills = (span(2, 4), span(6, 8), span(8, 10), *tail(10))
        return PhraseLayout((0, 4), fills, (Cadence(10, "full", inner_hold if not final else hold),))
    if bars >= 8:
        fills = (span(2, 3), *tail(3), span(6, 7), *([] if final else tail(7)))
        return PhraseLayout((0, 4), fills, (Cadence(3, "half", inner_hold), Cadence(7, "full", hold)))
    if bars >= 4:
        return PhraseLayout((0,), (span(2, 3), *([] if final else tail(3))), (Cadence(3, "full", hold),))
    return PhraseLayout((), (span(0, bars - 1),), (Cadence(bars - 1, "full", hold),))


def cadence_notes(lay: PhraseLayout, ctx: SectionContext, ideas: list[Note], vel: int) -> list[Note]:
    """The held notes that close each phrase: a tone of the cadence chord, then the tonic."""
    lo, hi = ctx.register
    ref = ideas[0].pitch if ideas else (lo + hi) // 2
    out = []
    for cad in lay.cadences:
        t = ctx.start_beat + cad.bar * ctx.beats_per_bar
        chord = ctx.chord_at(t)
        before = [n for n in ideas if n.start < t]
        near = before[-1].pitch if before else ref
        if cad.kind == "full":
            tonic = ctx.tonic_pc
            p = fit_pitch(nearest_pitch(tonic, ref, lo, hi), lo, hi)
        else:
            p = chord_tone_near(near, chord.pcs, ctx.melody_scale_over(chord), lo, hi)
        dur = min(cad.hold, ctx.end_beat - t)
        out.append(Note(round(t, 4), round(dur, 4), int(p), vel))
    return out
