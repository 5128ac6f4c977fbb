"""Report card: what a listener hears, generated songs next to real corpora (music21's Bach
chorales, Essen folksongs and O'Neill's Irish tunes, repeats played), printed the same way.

    python -m eval.music [--n 100] [--corpus-n 40] [--seed 5] [--variety 30]

The listener table (one row per column of ``COLUMNS``): lead top-voice share (as heard, from
the MIDI file), lead minus the loudest accompaniment part (dB above 300 Hz, each track rendered
alone with the app's synth: ``eval.mixcheck``), melodic bar recurrence (of the tune as written,
like the scores), section return, ending (tonic, held length, bass, cadence), range violations,
distinct chords, groove consistency, harmony check, loudness of the file the player gets (LUFS);
then the bars of issue 9, met or not.
The variety table: melody bars shared after a mood swap and after a seed change.
Writes eval/results/music.json and music.md.

Adding a column is one line in ``COLUMNS``: a name, a function of a ``Piece`` (None where it
does not apply, e.g. audio columns for the corpora), and how to summarize it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from eval import music_metrics as mm
from eval.controllability import RESULTS, plan_scales, random_choices
from eval.mixcheck import LEAD_BAR_DB, LOUDNESS_TOLERANCE_LU, audio_columns
from kotone.assets import load_catalog
from kotone.domain.roles import ACCOMPANIMENT
from kotone.music import harmony_check as hc
from kotone.music.experts.canonical import Track, annotate_chords, annotate_key
from kotone.music.orchestration import program_range
from kotone.music.types import Note
from kotone.pipeline import Song, compose
from kotone.render.loudness import TARGET_LUFS


@dataclass
class Piece:
    """What the listener table reads from a generated song or a real work (times in beats)."""

    group: str
    name: str
    bpb: float
    melody: list[Note]  # as heard (a song's MIDI file)
    tune: list[Note]  # as written (a song's composed notes before the players' timing; a score's notes)
    bass: list[Note]
    accompaniment: list[Note] | None  # parts that must stay under the lead; None: a lone tune
    tonic_pc: int
    chord_roots: list[int]  # the written (songs) or annotated (corpora) chords, in order
    heard_chords: int  # distinct chords annotated from the notes (the same annotator for all)
    programs: list[tuple[int, list[Note]]] | None = None  # GM program and notes, per pitched track
    harmony_pass: float = float("nan")
    song: Song | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    name: str
    fn: Callable[[Piece], float | str | None]
    summary: str = "median"  # median | share (of 1s) | max | min | top (most common label)
    fmt: str = "{:.2f}"
    meets: Callable[[float], bool] | None = None  # a per-piece bar: the summary adds the share meeting it


def _range_violations(p: Piece) -> float | None:
    if p.programs is None:
        return None
    bad = 0
    for prog, notes in p.programs:
        lo, hi = program_range(prog)
        bad += sum(1 for n in notes if not lo <= n.pitch <= hi)
    return float(bad)


def _ending(p: Piece) -> dict:
    if "ending" not in p.extra:
        p.extra["ending"] = mm.ending(p.melody, p.bass, p.tonic_pc, p.chord_roots)
    return p.extra["ending"]


def _audio(p: Piece, key: str) -> float | None:
    """An audio column of a generated song (stems and the rendered file; None for a score)."""
    if p.song is None:
        return None
    if "audio" not in p.extra:
        p.extra["audio"] = audio_columns(p.song)
    return p.extra["audio"][key]


def _held_tonic(p: Piece) -> float:
    e = _ending(p)
    ok = e["tonic"] and e["held_beats"] >= 2.0 - 1e-6
    return float(ok and (e["bass_tonic"] != 0.0))


COLUMNS: list[Column] = [
    Column("lead_top_share", lambda p: None if p.accompaniment is None else mm.lead_top_share(p.melody, p.accompaniment)),
    Column("lead_minus_acc_db", lambda p: _audio(p, "lead_minus_acc_db"), "median", "{:+.1f}",
           meets=lambda v: v >= LEAD_BAR_DB),
    Column("bar_recurrence", lambda p: mm.bar_recurrence(p.tune, p.bpb)),
    Column("section_return", lambda p: float(mm.section_returns(p.tune, p.bpb)), "share"),
    Column("ends_on_tonic", lambda p: _ending(p)["tonic"], "share"),
    Column("final_note_beats", lambda p: _ending(p)["held_beats"], "median", "{:.1f}"),
    Column("bass_on_tonic", lambda p: None if not p.bass else _ending(p)["bass_tonic"], "share"),
    Column("held_tonic_ending", _held_tonic, "share"),
    Column("cadence", lambda p: _ending(p)["cadence"], "top", "{}"),
    Column("range_violations", _range_violations, "max", "{:.0f}"),
    Column("distinct_chords", lambda p: float(p.heard_chords), "min", "{:.0f}"),
    Column("groove", lambda p: mm.groove_consistency(p.tune, max(1, int(max((n.end for n in p.tune), default=0)
                                                                          // p.bpb)), p.bpb)),
    Column("harmony_pass", lambda p: p.harmony_pass, "share"),
    Column("loudness_lufs", lambda p: _audio(p, "loudness_lufs"), "median", "{:.2f}",
           meets=lambda v: abs(v - TARGET_LUFS) <= LOUDNESS_TOLERANCE_LU),
]


def to_beats(notes, spb: float) -> list[Note]:
    return [Note(n.start / spb, max(1e-3, (n.end - n.start) / spb), n.pitch, max(1, n.velocity)) for n in notes]


def heard_chord_count(melody: list[Note], others: list[Note], bass: list[Note], bpb: float) -> int:
    tracks = [Track("melody", "melody", melody)] + ([Track("harmony", "acc", others)] if others else []) + \
        ([Track("bass", "bass", bass)] if bass else [])
    end = max((n.end for t in tracks for n in t.notes), default=0.0)
    labels = annotate_chords(tracks, annotate_key(tracks), bpb, end)
    return len({(c.root_pc, c.quality) for c in labels})


def song_piece(song: Song) -> Piece:
    """A composed song as heard: the MIDI file's notes, each track's role from the plan."""
    plan = song.plan
    spb = 60.0 / plan.tempo_bpm
    by_role = {t.role: (t, inst) for t, inst in zip(plan.tracks, song.midi.instruments, strict=True)}
    notes = {role: to_beats(inst.notes, spb) for role, (_, inst) in by_role.items()}
    melody, bass = notes.get("melody", []), notes.get("bass", [])
    acc = [n for role, ns in notes.items() if role in ACCOMPANIMENT for n in ns]
    harmonic = [n for role, ns in notes.items() if role in ("harmony", "pad", "counter") for n in ns]
    chords = [(s.start_beat + c.beat, (c.root_pc + s.tonic_shift) % 12) for s in plan.sections for c in s.chords]
    pass_ = hc.check_harmony(song.midi, beats_per_bar=int(plan.beats_per_bar), scale_at=plan_scales(plan)).passed
    return Piece(
        group="generated", name=f"{plan.cards} seed {plan.seed}", bpb=plan.beats_per_bar, melody=melody,
        tune=_mel(song), bass=bass,
        accompaniment=acc, tonic_pc=plan.end_tonic_pc, chord_roots=[r for _, r in sorted(chords)],
        heard_chords=heard_chord_count(melody, harmonic, bass, plan.beats_per_bar),
        programs=[(t.program, notes[t.role]) for t, _ in by_role.values() if not t.is_drum],
        harmony_pass=float(pass_), song=song,
    )


def corpus_pieces(which: str, n: int, seed: int) -> list[Piece]:
    """``n`` works spread over the whole collection (repeats played as written)."""
    from music21 import corpus

    composer = {"bach": "bach", "essen": "essenFolksong", "oneill": "oneills1850"}[which]
    style = {"bach": "chorale", "essen": "folk", "oneill": "fiddle"}[which]
    paths = sorted(corpus.getComposer(composer))
    if which == "bach":
        paths = [p for p in paths if str(p).endswith((".mxl", ".xml", ".krn"))]
    rng = np.random.default_rng(seed)
    per_file = 1 if which == "bach" else 3
    files = [paths[i] for i in sorted(rng.choice(len(paths), size=min(len(paths), max(1, 2 * n // per_file)),
                                                 replace=False))]
    out: list[Piece] = []
    for path in files:
        try:
            parsed = corpus.parse(path)
        except Exception:
            continue
        scores = list(parsed.scores) if hasattr(parsed, "scores") else [parsed]
        picks = rng.choice(len(scores), size=min(per_file, len(scores)), replace=False)
        for i in sorted(picks):
            piece = _convert(scores[int(i)], f"{composer}/{path.stem}#{i}", style, which)
            if piece is not None:
                out.append(piece)
            if len(out) >= n:
                return out
    return out


def _convert(score, work_id: str, style: str, group: str) -> Piece | None:
    from training.build_corpus import convert

    with contextlib.suppress(Exception):  # a score whose repeats music21 cannot read is played as written
        score = score.expandRepeats()
    try:
        canon = convert(score, work_id, "music21", style)
    except Exception:
        return None
    if canon is None or canon.track("melody") is None or len(canon.track("melody").notes) < 8:
        return None
    melody = sorted(canon.track("melody").notes, key=lambda n: n.start)
    bass_t, harm_t = canon.track("bass"), canon.track("harmony")
    bass = bass_t.notes if bass_t else []
    acc = (harm_t.notes if harm_t else []) + bass if style == "chorale" else None
    pass_ = hc.check_harmony(_to_midi(canon), beats_per_bar=max(2, round(canon.beats_per_bar))).passed
    return Piece(
        group=group, name=work_id, bpb=canon.beats_per_bar, melody=melody, tune=melody, bass=bass, accompaniment=acc,
        tonic_pc=canon.key.tonic_pc, chord_roots=[c.root_pc for c in canon.chords],
        heard_chords=len({(c.root_pc, c.quality) for c in canon.chords}), harmony_pass=float(pass_),
    )


def _to_midi(canon):
    import pretty_midi

    spb = 60.0 / canon.tempo_map[0][1]
    pm = pretty_midi.PrettyMIDI(initial_tempo=canon.tempo_map[0][1])
    _, num, den = canon.meter_map[0]
    pm.time_signature_changes.append(pretty_midi.TimeSignature(num, den, 0.0))
    for t in canon.tracks:
        if t.is_drum:
            continue
        inst = pretty_midi.Instrument(program=0, name=t.name)
        inst.notes = [pretty_midi.Note(velocity=80, pitch=n.pitch, start=n.start * spb, end=n.end * spb)
                      for n in t.notes]
        pm.instruments.append(inst)
    return pm


def summarize(col: Column, pieces: list[Piece]) -> dict:
    vals = [v for v in (col.fn(p) for p in pieces) if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if not vals:
        return {"text": "-", "n": 0}
    if col.summary == "top":
        label, count = Counter(vals).most_common(1)[0]
        return {"text": f"{label} {count / len(vals):.0%}", "top": label, "share": count / len(vals), "n": len(vals)}
    arr = np.array(vals, dtype=float)
    out = {"median": float(np.median(arr)), "p10": float(np.percentile(arr, 10)), "p90": float(np.percentile(arr, 90)),
           "min": float(arr.min()), "max": float(arr.max()), "mean": float(arr.mean()), "n": len(vals)}
    if col.summary == "share":
        out["text"] = f"{arr.mean():.0%}"
    elif col.summary in ("max", "min"):
        out["text"] = f"{col.fmt.format(out['median'])} ({col.summary} {col.fmt.format(out[col.summary])})"
    else:
        out["text"] = f"{col.fmt.format(out['median'])} [{col.fmt.format(out['p10'])}-{col.fmt.format(out['p90'])}]"
    if col.meets is not None:
        out["meets"] = float(np.mean([col.meets(float(v)) for v in vals]))
        out["text"] += f" (bar met {out['meets']:.0%})"
    return out


def bars_of_issue(table: dict[str, dict[str, dict]]) -> list[tuple[str, bool, str]]:
    """Issue 9's symbolic bars, each (bar, met, figure)."""
    g = table["generated"]
    folk = [table[k]["bar_recurrence"].get("median", 0.0) for k in ("essen", "oneill") if k in table]
    rec_bar = max(folk) if folk else 0.0
    rows = [
        ("lead top-voice share median >= 0.90", g["lead_top_share"]["median"] >= 0.90,
         f"median {g['lead_top_share']['median']:.3f}"),
        ("lead top-voice share >= 0.75 in every song", g["lead_top_share"]["min"] >= 0.75,
         f"min {g['lead_top_share']['min']:.3f}"),
        ("bar recurrence median >= Essen/O'Neill median", g["bar_recurrence"]["median"] >= rec_bar,
         f"{g['bar_recurrence']['median']:.3f} vs {rec_bar:.3f}"),
        ("returning chorus / A section >= 95%", g["section_return"]["mean"] >= 0.95,
         f"{g['section_return']['mean']:.1%}"),
        ("100% end on a held tonic (>= 2 beats), bass on the tonic", g["held_tonic_ending"]["mean"] >= 1.0,
         f"{g['held_tonic_ending']['mean']:.1%}"),
        ("0 notes outside their instrument's range", g["range_violations"]["max"] == 0,
         f"max {g['range_violations']['max']:.0f} per song"),
        (">= 3 distinct chords in every song", g["distinct_chords"]["min"] >= 3,
         f"min {g['distinct_chords']['min']:.0f}"),
    ]
    lead, lufs = g["lead_minus_acc_db"], g["loudness_lufs"]
    if lead.get("n") and lufs.get("n"):
        dev = max(abs(lufs["min"] - TARGET_LUFS), abs(lufs["max"] - TARGET_LUFS))
        rows += [
            (f"lead >= {LEAD_BAR_DB:.0f} dB above the loudest accompaniment (stems) in >= 95% of songs",
             lead["meets"] >= 0.95, f"{lead['meets']:.0%} of {lead['n']}; median {lead['median']:+.1f} dB, "
             f"min {lead['min']:+.1f}"),
            (f"loudness within +-{LOUDNESS_TOLERANCE_LU} LU of {TARGET_LUFS:.0f} LUFS", lufs["meets"] >= 1.0,
             f"{lufs['meets']:.0%} of {lufs['n']}; {lufs['min']:.2f} .. {lufs['max']:.2f} LUFS, largest deviation {dev:.2f} LU"),
        ]
    return rows


def variety(n: int, seed: int) -> dict:
    """Melody bars of song A shared with B, B = A with another mood, or A with the next seed."""
    cat = load_catalog()
    moods = [c.id for c in cat.by_slot("mood")]
    rng = np.random.default_rng(seed + 99)
    swap, reseed = [], []
    for k, choice in enumerate(random_choices(n, seed + 1)):
        s = seed * 100_000 + 50_000 + k
        a = compose(choice, s)
        other = {**choice, "mood": str(rng.choice([m for m in moods if m != choice["mood"]]))}
        b, c = compose(other, s), compose(choice, s + 1)
        for dst, x in ((swap, b), (reseed, c)):
            dst.append(mm.melody_overlap(_mel(a), _mel(x), a.plan.beats_per_bar, a.plan.tonic_pc, x.plan.tonic_pc)
                       if x.plan.beats_per_bar == a.plan.beats_per_bar else 0.0)
    return {name: {"mean": float(np.mean(v)), "max": float(np.max(v)), "share_below_half": float(np.mean(np.array(v) < 0.5))}
            for name, v in (("mood swap", swap), ("seed change", reseed))}


def _mel(song: Song) -> list[Note]:
    """The tune as composed (before the players' swing and timing)."""
    return sorted((n for sec in song.plan.sections for n in song.parts[sec.section_id].get("melody", [])),
                  key=lambda n: n.start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--corpus-n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--variety", type=int, default=30)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    groups = {"generated": [song_piece(compose(ch, args.seed * 100_000 + k))
                            for k, ch in enumerate(random_choices(args.n, args.seed))]}
    for which in ("bach", "essen", "oneill"):
        groups[which] = corpus_pieces(which, args.corpus_n, args.seed)
    table = {g: {c.name: summarize(c, ps) for c in COLUMNS} for g, ps in groups.items()}
    names = list(groups)
    lines = [f"| listener | {' | '.join(f'{g} (n={len(groups[g])})' for g in names)} |", "|---|" + "---:|" * len(names)]
    for c in COLUMNS:
        lines.append(f"| {c.name} | {' | '.join(table[g][c.name]['text'] for g in names)} |")
    bars = bars_of_issue(table)
    lines += ["", "| issue 9 bar | met | figure |", "|---|---|---|"]
    lines += [f"| {b} | {'yes' if ok else 'NO'} | {fig} |" for b, ok, fig in bars]
    var = variety(args.variety, args.seed) if args.variety else {}
    if var:
        lines += ["", "| variety (melody bars of A also in B) | mean | max | pairs under half |", "|---|---:|---:|---:|"]
        lines += [f"| {k} | {v['mean']:.3f} | {v['max']:.3f} | {v['share_below_half']:.0%} |" for k, v in var.items()]
    notes = (f"\nmedian [p10-p90] unless marked; share = share of pieces; {args.n} generated songs (seed {args.seed}), "
             f"up to {args.corpus_n} works per corpus, repeats played; {time.perf_counter() - t0:.0f} s. "
             "Chords counted by the same annotator for all; cadence from the written (songs) or annotated "
             "(corpora) chords. Corpora tonic = the annotated key.")
    text = "\n".join(lines) + notes
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "music.md").write_text(text + "\n")
    (RESULTS / "music.json").write_text(json.dumps({"table": table, "bars": bars, "variety": var,
                                                    "n": args.n, "seed": args.seed}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
