"""Print songs as lead sheets: per bar the chords, the melody and the bass, note names and
durations in beats. For reading the music, not for scoring it.

    python -m eval.leadsheet --cards style=style_folk,instrument=instrument_nylon,mood=mood_tender,gimmick=gimmick_rain --seed 7
    python -m eval.leadsheet --random 5 --seed 3          # five random card combinations
    python -m eval.leadsheet --corpus essen --n 2         # real pieces printed the same way
"""

from __future__ import annotations

import argparse

from kotone.domain.theory import NOTE_NAMES
from kotone.music.types import Note


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _dur(d: float) -> str:
    return f"{d:g}" if abs(d * 4 - round(d * 4)) < 1e-6 else f"{d:.2f}"


def bar_line(notes: list[Note], t0: float, t1: float, top_only: bool = True) -> str:
    inside = sorted((n for n in notes if t0 - 1e-6 <= n.start < t1 - 1e-6), key=lambda n: (n.start, -n.pitch))
    if top_only:
        seen: dict[float, Note] = {}
        for n in inside:
            seen.setdefault(round(n.start, 3), n)
        inside = list(seen.values())
    out, t = [], t0
    for n in inside:
        if n.start - t > 0.2:
            out.append(f"r{_dur(n.start - t)}")
        out.append(f"{note_name(n.pitch)}:{_dur(n.dur)}")
        t = max(t, n.start + n.dur)
    return " ".join(out) or "-"


def print_sheet(title: str, bpb: float, total_beats: float, chords: list[tuple[float, str]],
                lines: dict[str, list[Note]], marks: dict[float, str] | None = None) -> str:
    """``chords``: (start beat, symbol); ``lines``: label -> notes; ``marks``: beat -> section label."""
    rows = [title]
    bars = int(round(total_beats / bpb + 0.49))
    for b in range(bars):
        t0, t1 = b * bpb, (b + 1) * bpb
        if marks and any(abs(t0 - m) < 1e-6 for m in marks):
            rows.append(f"  [{marks[next(m for m in marks if abs(t0 - m) < 1e-6)]}]")
        chs = [f"{s}" + (f"@{_dur(c - t0)}" if c - t0 > 1e-6 else "") for c, s in chords if t0 - 1e-6 <= c < t1 - 1e-6]
        cells = [f"{b + 1:>3} | {' '.join(chs) or '%':<18}"]
        for label, notes in lines.items():
            cells.append(f"{label}: {bar_line(notes, t0, t1, top_only=label != 'acc')}")
        rows.append(" | ".join(cells))
    return "\n".join(rows)


def song_sheet(song) -> str:
    from kotone.music.arranger import flatten

    plan = song.plan
    tracks = flatten(plan, song.parts)
    chords = [(s.start_beat + c.beat, c.symbol if not s.tonic_shift else f"{c.symbol}(+{s.tonic_shift})")
              for s in plan.sections for c in s.chords]
    marks = {s.start_beat: f"{s.section_id} {s.bars} bars" for s in plan.sections}
    lines = {"mel": tracks.get("melody", []), "bass": tracks.get("bass", [])}
    progs = ", ".join(f"{t.role}={t.program}({t.name})" for t in plan.tracks)
    title = (f"== {plan.cards} seed {plan.seed}\n   {plan.key_name}, {plan.meter}, {plan.tempo_bpm:.0f} bpm, "
             f"{plan.duration_s:.0f} s; {progs}")
    return print_sheet(title, plan.beats_per_bar, plan.total_beats, chords, lines, marks)


def corpus_sheets(which: str, n: int) -> list[str]:
    from training.build_corpus import convert, iter_works

    limits = {"bach": (n * 3, 0, 0), "essen": (0, n * 3, 0), "oneill": (0, 0, n * 3)}[which]
    style = {"bach": "chorale", "essen": "folk", "oneill": "fiddle"}[which]
    out = []
    for work_id, source, st, score in iter_works(*limits):
        if st != style:
            continue
        canon = convert(score, work_id, source, style)
        if canon is None or canon.track("melody") is None:
            continue
        lines = {"mel": canon.track("melody").notes}
        if canon.track("bass") is not None:
            lines["bass"] = canon.track("bass").notes
        chords = [(c.start, f"{NOTE_NAMES[c.root_pc]}{c.quality}") for c in canon.chords]
        out.append(print_sheet(f"== {work_id}", canon.beats_per_bar, canon.duration_beats, chords, lines))
        if len(out) >= n:
            break
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cards", help="style=ID,instrument=ID,mood=ID,gimmick=ID")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--random", type=int, default=0, help="this many random card combinations")
    ap.add_argument("--corpus", choices=("bach", "essen", "oneill"))
    ap.add_argument("--n", type=int, default=2)
    args = ap.parse_args(argv)
    if args.corpus:
        print("\n\n".join(corpus_sheets(args.corpus, args.n)))
        return 0
    from kotone.compose import parse_cards
    from kotone.pipeline import compose

    if args.cards:
        from kotone.domain.errors import KotoneError

        try:
            print(song_sheet(compose(parse_cards(args.cards), args.seed)))
        except KotoneError as exc:  # an unknown or misplaced card id: say so, no traceback
            ap.error(str(exc))
    if args.random:
        from eval.controllability import random_choices

        for k, choice in enumerate(random_choices(args.random, args.seed)):
            print(song_sheet(compose(choice, args.seed * 1000 + k)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
