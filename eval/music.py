"""Report card: generated songs next to real corpora that ship with music21.

    python -m eval.music [--n 40] [--corpus-n 40] [--seed 5]

For the melody of each piece: pitch-class entropy, in-scale ratio, chord-tone ratio on
strong beats, groove consistency, motif recurrence (and the same after shuffling the
melody's pitches, a control that keeps the rhythm), repetition (zlib compression ratio of
the melodic intervals). Plus the harmony check (kotone.music.harmony_check, same thresholds)
on every piece. Real corpora: Bach chorales and Essen folksongs (music21's corpus), chords
and key annotated by the experts' canonical-format builder. Writes eval/results/music.json
and music.md.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pretty_midi

from eval import music_metrics as mm
from eval.controllability import RESULTS, plan_scales, random_choices
from kotone.domain.theory import scale_pcs
from kotone.music import harmony_check as hc
from kotone.music.experts.theory import QUALITIES, scale_of_key
from kotone.music.types import ChordSpan, Note
from kotone.pipeline import compose

METRICS = ("pc_entropy", "in_scale", "chord_tone_strong", "groove", "motif_recurrence",
           "motif_recurrence_shuffled", "compression", "harmony_pass")


def melody_metrics(melody: list[Note], chords: list[ChordSpan], scale: set[int], bpb: float, bars: int,
                   rng: np.random.Generator) -> dict[str, float]:
    shuffled_pitches = rng.permutation([n.pitch for n in melody])
    shuffled = [Note(n.start, n.dur, int(p), n.velocity) for n, p in zip(melody, shuffled_pitches, strict=True)]
    units = mm.melodic_units(melody)
    return {
        "pc_entropy": mm.pitch_class_entropy(melody),
        "in_scale": mm.in_scale_ratio(melody, scale),
        "chord_tone_strong": mm.chord_tone_ratio(melody, chords, bpb),
        "groove": mm.groove_consistency(melody, bars, bpb),
        "motif_recurrence": mm.motif_recurrence(melody),
        "motif_recurrence_shuffled": mm.motif_recurrence(shuffled),
        "compression": mm.compression_ratio(units),
    }


def generated_rows(n: int, seed: int) -> list[dict[str, float]]:
    rows = []
    rng = np.random.default_rng(seed)
    for k, choice in enumerate(random_choices(n, seed)):
        song = compose(choice, seed * 100_000 + k)
        plan = song.plan
        melody, chords, scale = [], [], set()
        for s in plan.sections:
            melody += song.parts[s.section_id].get("melody", [])
            tonic, name = plan.section_scale(s)
            scale |= set(scale_pcs(tonic, name))
            shift = s.tonic_shift
            chords += [ChordSpan(s.start_beat + c.beat, c.beats, (c.root_pc + shift) % 12,
                                 tuple((p + shift) % 12 for p in c.pcs), c.symbol, c.degree) for c in s.chords]
        melody.sort(key=lambda x: x.start)
        bars = int(plan.total_beats // plan.beats_per_bar)
        row = melody_metrics(melody, chords, scale, plan.beats_per_bar, bars, rng)
        row["harmony_pass"] = float(hc.check_harmony(song.midi, beats_per_bar=int(plan.beats_per_bar),
                                                     scale_at=plan_scales(plan)).passed)
        rows.append(row)
    return rows


def corpus_rows(style: str, n: int, seed: int) -> list[dict[str, float]]:
    from training.build_corpus import convert, iter_works

    rng = np.random.default_rng(seed)
    limits = {"chorale": (n * 2, 0, 0), "folk": (0, n * 2, 0)}[style]
    rows = []
    for work_id, source, st, score in iter_works(*limits):
        if st != style:
            continue
        try:
            canon = convert(score, work_id, source, style)
        except Exception:
            canon = None
        if canon is None:
            continue
        mel = canon.track("melody")
        if mel is None or len(mel.notes) < 8:
            continue
        chords = [ChordSpan(c.start, c.dur, c.root_pc, tuple((c.root_pc + i) % 12 for i in QUALITIES[c.quality]),
                            c.quality, 1) for c in canon.chords]
        scale = set(scale_of_key(canon.key.tonic_pc, canon.key.mode))
        bpb = canon.beats_per_bar
        bars = max(1, int(canon.duration_beats // bpb))
        row = melody_metrics(sorted(mel.notes, key=lambda x: x.start), chords, scale, bpb, bars, rng)
        row["harmony_pass"] = float(hc.check_harmony(to_midi(canon), beats_per_bar=max(2, round(bpb))).passed)
        rows.append(row)
        if len(rows) >= n:
            break
    return rows


def to_midi(canon) -> pretty_midi.PrettyMIDI:
    bpm = canon.tempo_map[0][1]
    spb = 60.0 / bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    _, num, den = canon.meter_map[0]
    pm.time_signature_changes.append(pretty_midi.TimeSignature(num, den, 0.0))
    for t in canon.tracks:
        if t.is_drum:
            continue
        inst = pretty_midi.Instrument(program=0, name=t.name)
        inst.notes = [pretty_midi.Note(velocity=80, pitch=n.pitch, start=n.start * spb, end=n.end * spb) for n in t.notes]
        pm.instruments.append(inst)
    return pm


def summarize(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    out = {}
    for m in METRICS:
        v = np.array([r[m] for r in rows])
        out[m] = {"mean": float(v.mean()), "p10": float(np.percentile(v, 10)), "p90": float(np.percentile(v, 90))}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--corpus-n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    groups = {
        "generated": summarize(generated_rows(args.n, args.seed)),
        "bach chorales": summarize(corpus_rows("chorale", args.corpus_n, args.seed)),
        "essen folksongs": summarize(corpus_rows("folk", args.corpus_n, args.seed)),
    }
    names = list(groups)
    lines = [f"| metric (melody) | {' | '.join(names)} |", "|---|" + "---:|" * len(names)]
    for m in METRICS:
        cells = [f"{groups[g][m]['mean']:.3f} [{groups[g][m]['p10']:.2f}–{groups[g][m]['p90']:.2f}]" for g in names]
        lines.append(f"| {m} | {' | '.join(cells)} |")
    real_lo = {m: min(groups[g][m]["p10"] for g in names[1:]) for m in METRICS}
    real_hi = {m: max(groups[g][m]["p90"] for g in names[1:]) for m in METRICS}
    gen = groups["generated"]
    verdicts = {m: real_lo[m] <= gen[m]["mean"] <= real_hi[m] for m in ("in_scale", "chord_tone_strong")}
    control = gen["motif_recurrence_shuffled"]["mean"]
    lift_text = (f"{gen['motif_recurrence']['mean'] / control:.1f}x the shuffled-pitch control" if control > 1e-3
                 else f"{gen['motif_recurrence']['mean']:.3f} against {control:.4f} for the shuffled-pitch control")
    table = "\n".join(lines)
    notes = (f"\nmean [p10–p90]; {args.n} generated songs (seed {args.seed}), {args.corpus_n} works per corpus; "
             f"{time.perf_counter() - t0:.0f} s.\n"
             f"generated mean inside the real corpora's p10–p90 range: "
             + ", ".join(f"{m} {'yes' if ok else 'NO'}" for m, ok in verdicts.items())
             + f"; motif recurrence is {lift_text}.\n"
             f"harmony check thresholds: strong-beat out-of-scale <= {hc.OUT_OF_SCALE_MAX:.0%}, "
             f"cross-part semitone clashes <= {hc.CLASH_MAX:.0%} (real corpora judged in their local key).")
    print(table + notes)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "music.md").write_text(table + "\n" + notes + "\n")
    (RESULTS / "music.json").write_text(json.dumps({"groups": groups, "verdicts": verdicts, "motif": lift_text},
                                                   indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
