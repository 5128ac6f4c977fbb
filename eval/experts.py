"""Report card: neural experts vs the rule generators, on contexts from the test split.

    python -m eval.experts                      # full card, writes space_assets/experts/
    python -m eval.experts --contexts 20 --no-write   # quicker look

For every role it builds ``SectionContext``s from held-out works (their key, meter,
annotated chords, density; for the melody also a variant with the work's first bar locked
as a motif), runs the shipped expert and the rule generator on the same contexts and
seeds, and prints side by side: perplexity on the test split, musical metrics, a
memorization check, per-token latency (p95, batch 1), per-section time and model size.
The real test music is printed as a reference column. The app uses an expert by default
only where it beats the rules on the criteria in ``CRITERIA``; that decision and the
numbers are written to ``space_assets/experts/selection.json`` and ``report.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from eval import music_metrics as mm
from kotone.music.experts.canonical import CanonicalScore
from kotone.music.experts.generators import DEFAULT_DIR, ExpertGenerator, load_expert
from kotone.music.experts.theory import QUALITIES, scale_of_key
from kotone.music.experts.tokenizer import STEPS_PER_BEAT, density_bin, encode_window
from kotone.music.types import (
    ChordSpan,
    EmotionVector,
    Note,
    PartGenerator,
    SectionContext,
)

ROLES = ("drums", "bass", "harmony", "melody")
REGISTERS = {"melody": (60, 84), "bass": (36, 55), "harmony": (48, 72), "drums": (35, 81)}
BARS = 8
LATENCY_BAR_MS = 1.0
SIZE_BAR_MB = 10.0
TIE = 0.005  # gaps below this are noise: not a win, not a loss; both at the 1.0 ceiling = not worse

# role -> [(metric, rule)]. "beat": expert > rules + TIE (smaller gaps are noise), or both
# within TIE of the 1.0 ceiling; "keep": expert >= rules - TIE; "beat-one": a group "a|b" of
# metrics the expert must keep on all and beat by more than TIE on at least one (chord-tone
# ratio on strong beats can saturate at 1.0 for both generators; then the all-notes ratio
# decides). Every criterion must hold.
CRITERIA: dict[str, list[tuple[str, str]]] = {
    "melody": [("chord_tone_ratio|chord_tone_ratio_all", "beat-one"), ("phrase_coherence", "beat"), ("in_scale_ratio", "keep")],
    "bass": [("chord_tone_ratio|chord_tone_ratio_all", "beat-one"), ("phrase_coherence", "beat"), ("in_scale_ratio", "keep")],
    "harmony": [("chord_tone_ratio", "beat"), ("in_scale_ratio", "keep"), ("key_consistency", "beat")],
    "drums": [("groove_consistency", "beat")],
}


# ---------------------------------------------------------------------------- contexts
def chord_spans(work: CanonicalScore, lo: float, hi: float) -> list[ChordSpan]:
    scale = scale_of_key(work.key.tonic_pc, work.key.mode)
    out = []
    for c in work.chords:
        s, e = max(c.start, lo), min(c.end, hi)
        if e - s <= 1e-6:
            continue
        pcs = tuple((c.root_pc + t) % 12 for t in QUALITIES[c.quality])
        degree = scale.index(c.root_pc) + 1 if c.root_pc in scale else 1
        out.append(ChordSpan(s, e - s, c.root_pc, pcs, f"{c.root_pc}{c.quality}", degree))
    return out


def fit_register(notes: list[Note], register: tuple[int, int]) -> list[Note] | None:
    """Move a motif by octaves into the register, or None if it cannot fit."""
    if not notes:
        return None
    lo, hi = register
    for shift in (0, 12, -12, 24, -24):
        if all(lo <= n.pitch + shift <= hi for n in notes):
            return [Note(n.start, n.dur, n.pitch + shift, n.velocity) for n in notes]
    return None


def make_contexts(works: list[CanonicalScore], role: str, limit: int, motif: bool = False) -> list[tuple[SectionContext, list[Note]]]:
    """(context, real notes of the role in that window) from the first 8 bars of test works."""
    out: list[tuple[SectionContext, list[Note]]] = []
    for w in works:
        if len(out) >= limit:
            break
        track = w.track(role)
        bpb = w.beats_per_bar
        if track is None or w.duration_beats < BARS * bpb or bpb * STEPS_PER_BEAT not in (8, 12, 16, 24):
            continue
        hi = BARS * bpb
        real = [n for n in track.notes if n.start < hi]
        chords = chord_spans(w, 0.0, hi)
        if not chords or len(real) < BARS:
            continue
        onsets = (len(real) if role == "drums" else len({n.start for n in real})) / hi
        locked: list[Note] = []
        if motif:
            first = [Note(n.start, min(n.dur, bpb - n.start), n.pitch, 90) for n in real if n.start < bpb]
            fitted = fit_register(first, REGISTERS[role])
            if fitted is None:
                continue
            locked = fitted
        ctx = SectionContext(
            section_id=w.work_id,
            section_type="verse",
            start_beat=0.0,
            bars=BARS,
            beats_per_bar=bpb,
            tonic_pc=w.key.tonic_pc,
            scale_pcs=scale_of_key(w.key.tonic_pc, w.key.mode),
            chords=chords,
            emotion=EmotionVector(),
            density=(density_bin(role, onsets) + 0.5) / 4,
            register=REGISTERS[role],
            style_family=w.style,
            groove="waltz" if bpb == 3 else "straight",
            motif_notes=locked,
        )
        out.append((ctx, real))
    return out


def rule_generator(role: str, i: int) -> PartGenerator:
    """The lead's rule generators, cycling through their styles so every style is tested."""
    from kotone.music.generators.bass import RuleBass
    from kotone.music.generators.drums import RuleDrums
    from kotone.music.generators.harmony import RuleHarmony
    from kotone.music.generators.melody import RuleMelody

    if role == "melody":
        return RuleMelody()
    if role == "bass":
        return RuleBass(style=("root", "root_fifth", "walking", "arpeggio", "octave")[i % 5])
    if role == "harmony":
        return RuleHarmony(comp=("block", "strum", "pad", "arpeggio")[i % 4])
    return RuleDrums(kit="standard")


# ---------------------------------------------------------------------------- metrics
def section_metrics(notes: list[Note], ctx: SectionContext, role: str, real: list[Note]) -> dict[str, float]:
    bpb, origin = ctx.beats_per_bar, ctx.start_beat
    mode = "minor" if (ctx.scale_pcs[2] - ctx.tonic_pc) % 12 == 3 else "major"
    beats = ctx.bars * bpb
    m: dict[str, float] = {
        "notes_per_beat": mm.note_density(notes, beats),
        "groove_consistency": mm.groove_consistency(notes, ctx.bars, bpb, origin),
    }
    if role == "drums":
        real_density = len(real) / beats
        m["hits_per_beat"] = len(notes) / beats
        m["onset_density_match"] = 1.0 - min(1.0, abs(len(notes) / beats - real_density) / max(real_density, 1e-6))
        return m
    units = mm.melodic_units(notes)
    m.update(
        chord_tone_ratio=_ratio_or_nan(notes, ctx, strong_only=True),
        chord_tone_ratio_all=_ratio_or_nan(notes, ctx, strong_only=False),
        in_scale_ratio=mm.in_scale_ratio(notes, ctx.scale_pcs),
        pitch_class_entropy=mm.pitch_class_entropy(notes),
        key_consistency=mm.key_consistency(notes, ctx.tonic_pc, mode),
        phrase_coherence=mm.phrase_coherence(notes, ctx.bars, bpb, origin),
        motif_recurrence=mm.motif_recurrence(notes, 3),
        compression_ratio=mm.compression_ratio(units),
    )
    return m


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean per metric over sections; NaN entries (metric undefined there) are skipped."""
    keys = rows[0].keys() if rows else []
    return {k: float(np.nanmean([r[k] for r in rows])) for k in keys}


def _ratio_or_nan(notes: list[Note], ctx: SectionContext, strong_only: bool) -> float:
    counted = [n for n in notes if not strong_only or mm.is_strong_beat(n.start, ctx.beats_per_bar, ctx.start_beat)]
    if not counted:
        return float("nan")  # no note on a strong beat: the ratio is undefined, not 0
    return mm.chord_tone_ratio(counted, ctx.chords, ctx.beats_per_bar, ctx.start_beat, strong_only=False)


class TimedRunner:
    """Wraps an expert's runner: records the interval between model calls (= per-token cost,
    including masking and sampling) during decoding."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.intervals: list[float] = []

    def start(self) -> Callable[[int], np.ndarray]:
        step = self.inner.start()  # type: ignore[attr-defined]
        last = [time.perf_counter()]

        def timed(tok: int) -> np.ndarray:
            out = step(tok)
            now = time.perf_counter()
            self.intervals.append(now - last[0])
            last[0] = now
            return out

        return timed


def run_generator(gen: PartGenerator, contexts: list[tuple[SectionContext, list[Note]]], role: str, seeds: int
                  ) -> tuple[list[dict[str, float]], list[float], list[list[Note]]]:
    rows, times, outs = [], [], []
    for i, (ctx, real) in enumerate(contexts):
        for s in range(seeds):
            t0 = time.perf_counter()
            notes = gen.generate(ctx, np.random.default_rng(1000 * i + s))
            times.append(time.perf_counter() - t0)
            rows.append(section_metrics(notes, ctx, role, real))
            outs.append(notes)
    return rows, times, outs


def perplexity(expert: ExpertGenerator, works: list[CanonicalScore], max_seqs: int = 150) -> tuple[float, int]:
    """Test-split perplexity over model-chosen tokens (forced conditioning tokens excluded)."""
    from training.train_experts import FORCED_PREFIXES

    v = expert.vocab
    forced = np.array([t.startswith(FORCED_PREFIXES) for t in v.tokens])
    nll, count, seqs = 0.0, 0, 0
    for w in works:
        if seqs >= max_seqs:
            break
        ids = encode_window(v, w, 0, BARS)
        if ids is None:
            continue
        seqs += 1
        step = expert.runner.start()
        for a, b in itertools.pairwise(ids):
            logits = step(a)
            if forced[b]:
                continue
            z = logits - logits.max()
            nll += float(np.log(np.exp(z).sum()) - z[b])
            count += 1
    return (math.exp(nll / count) if count else float("nan")), count


def memorization(gen_melodies: list[list[Note]], real_test: list[list[Note]], train_works: list[CanonicalScore]) -> dict:
    """Longest n-gram (in melodic units: interval + inter-onset steps) shared with the
    training melodies, and the highest 4-shingle Jaccard against any training melody.
    Threshold = the smaller of (a) the median of the same statistic for real held-out 8-bar
    melodies (folk corpora hold tune families, so unseen real tunes share long formulas with
    the training set: a generated melody must share less than a typical unseen tune) and
    (b) a third of the median real 8-bar melody length in notes (a longer identical run is
    a recognisable quotation of about three bars)."""
    train_units = [mm.melodic_units(t.notes)[1:] for w in train_works if (t := w.track("melody"))]
    index = mm.NgramIndex(train_units)

    def stats(melodies: list[list[Note]]) -> tuple[list[int], list[float]]:
        lsn, shing = [], []
        for notes in melodies:
            u = mm.melodic_units(notes)[1:]
            lsn.append(index.longest_shared(u))
            shing.append(mm.max_shingle_similarity(u, train_units, k=4))
        return lsn, shing

    real_lsn, real_sh = stats(real_test)
    gen_lsn, gen_sh = stats(gen_melodies)
    median_real = float(np.median(real_lsn)) if real_lsn else 12.0
    len_third = int(np.median([len(m) for m in real_test]) // 3) if real_test else 9
    threshold = int(min(median_real, len_third))
    return {
        "unit": "melodic unit = (interval, inter-onset 16ths)",
        "threshold_longest_shared": threshold,
        "threshold_rule": f"min(median real held-out LSN = {median_real:g}, a third of the median real 8-bar melody = {len_third} notes)",
        "real_test_lsn_percentiles": {p: float(np.percentile(real_lsn, p)) for p in (25, 50, 75, 95)} if real_lsn else {},
        "real_test": {"longest_shared_max": max(real_lsn, default=0), "longest_shared_median": float(np.median(real_lsn)) if real_lsn else 0.0,
                      "shingle4_max": max(real_sh, default=0.0), "shingle4_mean": float(np.mean(real_sh)) if real_sh else 0.0},
        "generated": {"longest_shared_max": max(gen_lsn, default=0), "longest_shared_median": float(np.median(gen_lsn)) if gen_lsn else 0.0,
                      "shingle4_max": max(gen_sh, default=0.0), "shingle4_mean": float(np.mean(gen_sh)) if gen_sh else 0.0,
                      "n": len(gen_lsn)},
        "pass": max(gen_lsn, default=0) < threshold,
    }


def compare(role: str, expert: dict[str, float], rule: dict[str, float]) -> tuple[bool, dict[str, str]]:
    verdicts = {}
    ok = True
    for metric, kind in CRITERIA[role]:
        names = metric.split("|")
        pairs = [(expert[m], rule[m]) for m in names]
        kept = all(e >= r - TIE for e, r in pairs)
        strictly = [e > r + TIE for e, r in pairs]
        if kind == "beat":
            e, r = pairs[0]
            won = e > r + TIE or (e >= 1 - TIE and r >= 1 - TIE)
        elif kind == "beat-one":
            won = kept and any(strictly)
        else:
            won = kept
        shown = ", ".join(f"{m} {e:.3f} vs {r:.3f}" for m, (e, r) in zip(names, pairs))
        verdicts[metric] = f"{kind}: expert vs rules: {shown} -> {'yes' if won else 'NO'}"
        ok &= won
    return ok, verdicts


def compose_p95(selected: dict[str, str], runs: int = 10) -> dict[str, float]:
    """Wall time of pipeline planning + generation + MIDI + measurement, experts on."""
    from kotone.assets import load_catalog
    from kotone.music.arranger import arrange
    from kotone.music.planner import plan_song
    from kotone.pipeline import finish_song

    cat = load_catalog()
    slots = {s: [c.id for c in cat.by_slot(s)] for s in ("style", "instrument", "mood", "gimmick")}
    times = []
    for i in range(runs):
        choice = {s: ids[(i * 7 + k) % len(ids)] for k, (s, ids) in enumerate(slots.items())}
        cards = cat.resolve(choice)
        t0 = time.perf_counter()
        plan = plan_song(cards, i)
        for tr in plan.tracks:
            if tr.role in selected:
                tr.generator = selected[tr.role]
        parts = arrange(plan)
        finish_song(plan, parts, cards, None, {}, t0)
        times.append(time.perf_counter() - t0)
    return {"runs": runs, "p50_s": float(np.percentile(times, 50)), "p95_s": float(np.percentile(times, 95))}


# ---------------------------------------------------------------------------- model cards
DATA = {
    "melody": "Melodies of the music21 corpus (offline, public domain): Essen folksongs, O'Neill's 1850 "
              "fiddle tunes, Bach chorale sopranos (work list: training/configs/experts_corpus_manifest.json). Chords were not annotated in the sources: "
              "they are estimated per half bar (even meters) or bar by triad template matching with a "
              "confidence, from the melody alone for monophonic tunes.",
    "bass": "Bass voices of the Bach chorales in the music21 corpus; chords estimated from all four voices "
            "(bass note weighted) by triad template matching with a confidence.",
    "harmony": "Alto and tenor voices of the Bach chorales in the music21 corpus (two-voice inner texture), "
               "conditioned on chords estimated from all four voices.",
    "drums": "NO real drum corpus is available offline. This expert learned from drum tracks DERIVED from "
             "real music by a fixed rule (training/build_corpus.py: derive_drums): kick on every downbeat "
             "and on bass (or melody) onsets at mid-bar, snare on melody onsets on the back beats, closed "
             "hat on melody onsets on the 8th grid, for chorales, folksongs and fiddle tunes. It has "
             "learned real onset rhythms mapped to a three-piece kit, not how drummers play.",
}
LIMITS = {
    "melody": "Style is limited to European folk, fiddle and chorale idioms; other style cards map to the "
              "'any' style token. Tempo and dynamics were not in the data (velocity is set from energy). "
              "Its key consistency and pitch-class entropy are lower than the rules' and real music's: the "
              "chord masks and the phrase form favour chord tones and restatement over scale colour.",
    "bass": "Learned chorale bass motion (mostly quarter notes); pop/funk bass figures are not in the data.",
    "harmony": "Two-voice chorale texture only; no strumming or comping patterns (those stay with the rules).",
    "drums": "Only kick/snare/closed hat appear in the data; fills, toms, cymbals are absent.",
}


def write_model_cards(card: dict, assets: Path) -> None:
    for role, e in card["roles"].items():
        folder = assets / role / "gru"
        tm = json.loads((folder / "train_metrics.json").read_text()) if (folder / "train_metrics.json").exists() else {}
        cfg = json.loads((folder / "config.json").read_text())
        rows = "\n".join(
            f"| {k} | {e['expert'][k]:.3f} | {e['rules'][k]:.3f} | {e['real_test_music'].get(k, float('nan')):.3f} |"
            for k in e["expert"]
        )
        mem = ""
        if "memorization" in e:
            m = e["memorization"]
            mem = (f"\n## Memorization\n\nLongest n-gram shared with the training melodies (unit: {m['unit']}): "
                   f"generated max {m['generated']['longest_shared_max']}, median {m['generated']['longest_shared_median']}; "
                   f"threshold {m['threshold_longest_shared']} = {m['threshold_rule']} "
                   f"(real held-out max {m['real_test']['longest_shared_max']}). 4-shingle Jaccard max "
                   f"{m['generated']['shingle4_max']:.3f} (real held-out {m['real_test']['shingle4_max']:.3f}). "
                   f"Result: {'pass' if m['pass'] else 'FAIL'}.\n")
        extra = ""
        if (folder / "train_ngrams.npy").exists():
            extra = ("\nAnti-copying: at most three equal pitches in a row, and a pitch that would complete a run of "
                     "6 melodic units (7 notes, intervals and rhythm) found in the training melodies is refused "
                     "(hashed n-grams in train_ngrams.npy).")
        text = f"""# {role} expert (GRU, ONNX)

Selected as the app default: **{'yes' if e['selected'] else 'no (rules stay default)'}** (see selection.json).

## Data
{DATA[role]}
Split by work (hash of the work id): 80% train, 10% valid, 10% test; training windows of 8 bars,
hop 4, transposed by random semitone shifts (augmentation). {tm.get('train_sequences', '?')} training sequences.

## Model
GRU, {cfg['layers']} layers, hidden {cfg['hidden']}, embedding {cfg['emb']}, vocabulary {cfg['vocab_size']}
(miditok REMI base tokens + Key/Style/Density/Chord conditioning tokens); {tm.get('params', '?')} parameters;
{e['model_bytes'] / 1e3:.0f} kB ONNX. Trained {tm.get('steps', '?')} steps ({tm.get('minutes', '?')} min, CPU);
best validation perplexity {tm.get('best_valid_ppl', float('nan')):.2f}. Config: config.json, run: train_config.json.

## Decoding
Constrained: scale and register masks, chord masks ({role} settings in
kotone/music/experts/generators.py: ROLE_DECODING), bar/position grammar, phrase form (bars restate the rhythm
of an earlier bar with a soft contour bias; the model chooses every pitch and duration), locked motif notes
forced in place; temperature/top-p from the section's emotion vector; deterministic given the seed.{extra}

## Report card ({e['contexts']} {card.get('split', 'test')} contexts x {e['seeds']} seeds; `python -m eval.experts`)
Test perplexity {e['perplexity_test']:.2f}; latency per token p95 {e['latency_ms_per_token_p95']:.3f} ms
(p50 {e['latency_ms_per_token_p50']:.3f}); section p95 {e['section_ms_p95']['expert']:.0f} ms.

| metric | expert | rules | real test music |
|---|---|---|---|
{rows}
{mem}
## Limits
{LIMITS[role]}
"""
        (folder / "MODEL_CARD.md").write_text(text)


# ---------------------------------------------------------------------------- main
def fmt(x: float) -> str:
    return f"{x:8.3f}" if isinstance(x, float) else f"{x!s:>8}"


def report(args: argparse.Namespace) -> dict:
    from training.build_corpus import load_works

    works = load_works(Path(args.corpus))
    test = [w for w in works if w.metadata.get("split") == args.split]
    train = [w for w in works if w.metadata.get("split") == "train"]
    card: dict = {"corpus": str(args.corpus), "split": args.split, "test_works": len(test), "train_works": len(train), "roles": {}}
    selected: dict[str, str] = {}
    total_bytes = 0
    for role in args.roles:
        expert = load_expert(role, "gru", Path(args.assets))
        if expert is None:
            print(f"\n== {role}: no shipped expert, rules stay")
            continue
        files = list((Path(args.assets) / role / "gru").glob("model.*"))
        size = sum(f.stat().st_size for f in files)
        total_bytes += size
        ctxs = make_contexts(test, role, args.contexts)
        timed = TimedRunner(expert.runner)
        expert.runner = timed  # type: ignore[assignment]
        e_rows, e_times, e_out = run_generator(expert, ctxs, role, args.seeds)
        r_rows, r_times, _ = [], [], []
        for i, (ctx, real) in enumerate(ctxs):
            rows, ts, _ = run_generator(rule_generator(role, i), [(ctx, real)], role, args.seeds)
            r_rows += rows
            r_times += ts
        real_rows = [section_metrics(real, ctx, role, real) for ctx, real in ctxs]
        expert.runner = timed.inner  # type: ignore[assignment]
        ppl, ntok = perplexity(expert, test)
        e_m, r_m, ref_m = mean_metrics(e_rows), mean_metrics(r_rows), mean_metrics(real_rows)
        entry = {
            "contexts": len(ctxs), "seeds": args.seeds,
            "expert": e_m, "rules": r_m, "real_test_music": ref_m,
            "perplexity_test": ppl, "perplexity_tokens": ntok,
            "latency_ms_per_token_p95": float(np.percentile(timed.intervals, 95) * 1000),
            "latency_ms_per_token_p50": float(np.percentile(timed.intervals, 50) * 1000),
            "section_ms_p95": {"expert": float(np.percentile(e_times, 95) * 1000), "rules": float(np.percentile(r_times, 95) * 1000)},
            "model_bytes": size,
            "generator_name": expert.name,
        }
        if role == "melody":
            mctx = make_contexts(test, role, args.contexts, motif=True)
            me_rows, _, _ = run_generator(expert, mctx, role, args.seeds)
            mr_rows = []
            for i, (ctx, real) in enumerate(mctx):
                mr_rows += run_generator(rule_generator(role, i), [(ctx, real)], role, args.seeds)[0]
            entry["with_locked_motif"] = {"contexts": len(mctx), "expert": mean_metrics(me_rows), "rules": mean_metrics(mr_rows)}
            entry["memorization"] = memorization(e_out, [real for _, real in ctxs], train)
        variant = load_expert(role, "transformer", Path(args.assets))
        if variant is not None:
            vt = TimedRunner(variant.runner)
            variant.runner = vt  # type: ignore[assignment]
            v_rows, v_times, _ = run_generator(variant, ctxs, role, args.seeds)
            variant.runner = vt.inner  # type: ignore[assignment]
            v_files = list((Path(args.assets) / role / "transformer").glob("model.*"))
            entry["transformer_variant"] = {
                "expert": mean_metrics(v_rows),
                "perplexity_test": perplexity(variant, test)[0],
                "latency_ms_per_token_p95": float(np.percentile(vt.intervals, 95) * 1000),
                "section_ms_p95": float(np.percentile(v_times, 95) * 1000),
                "model_bytes": sum(f.stat().st_size for f in v_files),
                "note": "torch runtime (KV cache); not selectable by the app, which ships onnxruntime only",
            }
            total_bytes += entry["transformer_variant"]["model_bytes"]
        wins, verdicts = compare(role, e_m, r_m)
        if role == "melody":
            wins &= entry["memorization"]["pass"]
            verdicts["memorization"] = "pass" if entry["memorization"]["pass"] else "FAIL"
        wins &= entry["latency_ms_per_token_p95"] <= LATENCY_BAR_MS
        entry["verdicts"], entry["selected"] = verdicts, wins
        if wins:
            selected[role] = expert.name
        card["roles"][role] = entry
        print_role(role, entry)
    card["total_model_bytes"] = total_bytes
    card["size_bar_ok"] = total_bytes <= SIZE_BAR_MB * 1e6
    card["selection"] = {r: selected.get(r, "rule") for r in ROLES}
    if args.compose_runs:
        card["compose"] = compose_p95(selected, args.compose_runs)
    print(f"\nall experts: {total_bytes / 1e6:.2f} MB of weights (bar {SIZE_BAR_MB} MB) -> {'ok' if card['size_bar_ok'] else 'OVER'}")
    print(f"selection: {card['selection']}")
    if "compose" in card:
        print(f"compose with selected experts: p50 {card['compose']['p50_s']:.2f} s, p95 {card['compose']['p95_s']:.2f} s (bar 3 s)")
    return card


def print_role(role: str, e: dict) -> None:
    print(f"\n== {role}  ({e['contexts']} test contexts x {e['seeds']} seeds, {e['generator_name']})")
    print(f"{'metric':24s}{'expert':>9s}{'rules':>9s}{'real':>9s}")
    for k in e["expert"]:
        print(f"{k:24s}{fmt(e['expert'][k])} {fmt(e['rules'][k])} {fmt(e['real_test_music'].get(k, float('nan')))}")
    print(f"perplexity (test split): {e['perplexity_test']:.2f} over {e['perplexity_tokens']} tokens")
    print(f"latency per token: p50 {e['latency_ms_per_token_p50']:.3f} ms, p95 {e['latency_ms_per_token_p95']:.3f} ms (bar {LATENCY_BAR_MS} ms)")
    print(f"section p95: expert {e['section_ms_p95']['expert']:.1f} ms, rules {e['section_ms_p95']['rules']:.1f} ms; weights {e['model_bytes'] / 1e3:.0f} kB")
    if "with_locked_motif" in e:
        w = e["with_locked_motif"]
        print(f"with locked motif ({w['contexts']} ctx): chord-tone {w['expert']['chord_tone_ratio']:.3f} vs {w['rules']['chord_tone_ratio']:.3f}, "
              f"coherence {w['expert']['phrase_coherence']:.3f} vs {w['rules']['phrase_coherence']:.3f}")
    if "memorization" in e:
        m = e["memorization"]
        print(f"memorization: longest shared n-gram generated max {m['generated']['longest_shared_max']} "
              f"(median {m['generated']['longest_shared_median']}), real held-out max {m['real_test']['longest_shared_max']}; "
              f"threshold {m['threshold_longest_shared']} ({m['threshold_rule']}) -> {'pass' if m['pass'] else 'FAIL'}; "
              f"shingle-4 max {m['generated']['shingle4_max']:.3f} (real {m['real_test']['shingle4_max']:.3f})")
    if "transformer_variant" in e:
        t = e["transformer_variant"]
        print(f"tiny transformer variant: perplexity {t['perplexity_test']:.2f}, latency p95 {t['latency_ms_per_token_p95']:.3f} ms, "
              f"chord-tone {t['expert'].get('chord_tone_ratio', float('nan')):.3f}, coherence {t['expert'].get('phrase_coherence', float('nan')):.3f}, "
              f"{t['model_bytes'] / 1e3:.0f} kB ({t['note']})")
    for k, v in e["verdicts"].items():
        print(f"  {k}: {v}")
    print(f"  -> {'EXPERT by default' if e['selected'] else 'rules stay default'}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="artifacts/corpus/all.jsonl")
    ap.add_argument("--assets", default=str(DEFAULT_DIR))
    ap.add_argument("--roles", nargs="+", default=list(ROLES))
    ap.add_argument("--contexts", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--compose-runs", type=int, default=10)
    ap.add_argument("--split", default="test", help="test (the card) or valid (for tuning decoding)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    card = report(args)
    if not args.no_write:
        out = Path(args.assets)
        (out / "report.json").write_text(json.dumps(card, indent=2))
        sel = {
            "generated_by": "python -m eval.experts",
            "criteria": {r: [f"{m} ({k})" for m, k in c] for r, c in CRITERIA.items()},
            "default": card["selection"],
            "numbers": {r: {"expert": e["expert"], "rules": e["rules"], "verdicts": e["verdicts"],
                            "latency_ms_per_token_p95": e["latency_ms_per_token_p95"], "model_bytes": e["model_bytes"]}
                        for r, e in card["roles"].items()},
            "total_model_bytes": card["total_model_bytes"],
            "compose": card.get("compose"),
        }
        old = out / "selection.json"
        if old.exists():  # the idiom rules are written by hand, with their reasons: keep them
            sel["idiom_rules"] = json.loads(old.read_text()).get("idiom_rules", {})
        (out / "selection.json").write_text(json.dumps(sel, indent=2))
        write_model_cards(card, out)
        print(f"wrote {out / 'selection.json'} and {out / 'report.json'}")


if __name__ == "__main__":
    main()
