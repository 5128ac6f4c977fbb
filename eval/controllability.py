"""Controllability: do the cards audibly and measurably become the song?

    python -m eval.controllability [--n 300] [--seed 0]

Composes N random card combinations and prints, per six-dim dimension, the Spearman rank
correlation between the blended card profile (the intent) and the dimension measured from
the MIDI file; plus the fraction of songs passing the harmony check (thresholds printed).
Writes eval/results/controllability.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from kotone.assets import load_catalog
from kotone.domain.cards import SLOTS
from kotone.domain.params import DIMS
from kotone.domain.theory import harmony_scale, scale_pcs
from kotone.music import harmony_check as hc
from kotone.pipeline import compose

RESULTS = Path(__file__).resolve().parent / "results"


def plan_scales(plan):
    """scale_at(t) from the plan: the pitch classes in force in each section (a key change
    shifts them): its scale, the seven-tone scale its chords come from (a pentatonic tune's
    parent), and its chords' own tones (a minor key's dominant, a blues IV7)."""
    spb = 60.0 / plan.tempo_bpm

    def in_force(s) -> set[int]:
        tonic, scale = plan.section_scale(s)
        chords = {(p + s.tonic_shift) % 12 for c in s.chords for p in c.pcs}
        return set(scale_pcs(tonic, scale)) | set(scale_pcs(tonic, harmony_scale(scale))) | chords

    spans = [(s.start_beat * spb, in_force(s)) for s in plan.sections]

    def scale_at(t: float) -> set[int]:
        current = spans[0][1]
        for start, pcs in spans:
            if t + 1e-6 >= start:
                current = pcs
        return current

    return scale_at


def random_choices(n: int, seed: int) -> list[dict[str, str]]:
    cat = load_catalog()
    rng = np.random.default_rng(seed)
    ids = {s: [c.id for c in cat.by_slot(s)] for s in SLOTS}
    return [{s: str(rng.choice(ids[s])) for s in SLOTS} for _ in range(n)]


def run(n: int, seed: int) -> dict:
    intents, measured, passed, oos, clash = [], [], 0, [], []
    t0 = time.perf_counter()
    for k, choice in enumerate(random_choices(n, seed)):
        song = compose(choice, seed * 100_000 + k)
        intents.append(song.plan.intent.as_list())
        measured.append(song.measured.as_list())
        rep = hc.check_harmony(song.midi, beats_per_bar=int(song.plan.beats_per_bar), scale_at=plan_scales(song.plan))
        passed += rep.passed
        oos.append(rep.out_of_scale_rate)
        clash.append(rep.clash_rate)
    a, b = np.array(intents), np.array(measured)
    rho = {d: float(spearmanr(a[:, i], b[:, i]).statistic) for i, d in enumerate(DIMS)}
    mae = {d: float(np.mean(np.abs(a[:, i] - b[:, i]))) for i, d in enumerate(DIMS)}
    return {
        "n": n, "seed": seed, "seconds": round(time.perf_counter() - t0, 1),
        "spearman": rho, "mae_intent_vs_measured": mae,
        "harmony_pass_rate": passed / n,
        "out_of_scale_rate_mean": float(np.mean(oos)), "clash_rate_mean": float(np.mean(clash)),
        "thresholds": {"out_of_scale_max": hc.OUT_OF_SCALE_MAX, "clash_max": hc.CLASH_MAX},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    r = run(args.n, args.seed)
    print(f"controllability over {r['n']} random combinations (seed {r['seed']}, {r['seconds']} s)")
    print(f"{'dimension':<14}{'spearman':>10}{'MAE':>8}")
    for d in DIMS:
        print(f"{d:<14}{r['spearman'][d]:>10.3f}{r['mae_intent_vs_measured'][d]:>8.1f}")
    t = r["thresholds"]
    print(f"harmony check: {100 * r['harmony_pass_rate']:.1f}% pass "
          f"(strong-beat out-of-scale <= {t['out_of_scale_max']:.0%}, cross-part semitone clashes <= "
          f"{t['clash_max']:.0%}); mean out-of-scale {r['out_of_scale_rate_mean']:.3f}, "
          f"mean clash {r['clash_rate_mean']:.3f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "controllability.json").write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
