"""Small theory helpers for the experts: chord templates, chord and key estimation.

Pitch classes are ints 0-11 (0 = C). Weights are durations in beats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kotone.domain.theory import KK_MAJOR, KK_MINOR

QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus": (0, 5, 7),
}
# Only these are estimated from data; "aug" and "sus" exist so planner chords can be named.
ESTIMATED_QUALITIES = ("maj", "min", "dim")
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)
_KK_MAJOR = np.array(KK_MAJOR)
_KK_MINOR = np.array(KK_MINOR)
# Prior for functional roots (relative to the tonic) used to break ties in sparse textures.
_ROOT_PRIOR = {0: 0.10, 5: 0.07, 7: 0.08, 9: 0.04, 2: 0.03, 4: 0.02}


def chord_quality(root_pc: int, pcs: Sequence[int]) -> str:
    """Closest triad quality name for a chord given as pitch classes (7ths are ignored)."""
    rel = {(p - root_pc) % 12 for p in pcs}
    best, best_score = "maj", -1
    for name, tmpl in QUALITIES.items():
        score = sum(t in rel for t in tmpl) * 2 - (name in ("aug", "sus", "dim"))
        if score > best_score:
            best, best_score = name, score
    return best


def mode_of_scale(tonic_pc: int, scale_pcs: Sequence[int]) -> str:
    """"min" when the scale has a minor third above the tonic and no major third, else "maj"."""
    rel = {(p - tonic_pc) % 12 for p in scale_pcs}
    return "min" if 3 in rel and 4 not in rel else "maj"


def estimate_key(pc_weights: np.ndarray) -> tuple[int, str, float]:
    """Krumhansl-Schmuckler key from a 12-bin weight vector: (tonic_pc, "maj"|"min", r)."""
    if float(pc_weights.sum()) <= 0:
        return 0, "maj", 0.0
    best = (0, "maj", -2.0)
    for mode, prof in (("maj", _KK_MAJOR), ("min", _KK_MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(pc_weights, np.roll(prof, tonic))[0, 1])
            if r > best[2]:
                best = (tonic, mode, r)
    return best


def scale_of_key(tonic_pc: int, mode: str) -> tuple[int, ...]:
    steps = MINOR_STEPS if mode == "min" else MAJOR_STEPS
    return tuple((tonic_pc + s) % 12 for s in steps)


def estimate_chord(
    pc_weights: np.ndarray,
    tonic_pc: int,
    mode: str,
    bass_pc: int | None = None,
    previous: tuple[int, str] | None = None,
) -> tuple[int, str, float]:
    """Best triad for one window of pitch-class weights: (root_pc, quality, confidence 0-1).

    Score = weight covered by the triad minus half the uncovered weight, plus small priors
    for diatonic chords, functional roots, a matching bass, and keeping the previous chord.
    Confidence is the covered share of the window's weight times the margin over the
    runner-up (both 0-1), so sparse or ambiguous windows get low confidence.
    """
    total = float(pc_weights.sum())
    if total <= 0:
        return (previous or (tonic_pc, mode))[0], (previous or (tonic_pc, mode))[1], 0.0
    w = pc_weights / total
    scale = set(scale_of_key(tonic_pc, mode))
    if mode == "min":
        scale |= {(tonic_pc + 11) % 12}  # raised leading tone -> V major in minor
    scored: list[tuple[float, int, str, float]] = []
    for root in range(12):
        for q in ESTIMATED_QUALITIES:
            tmpl = QUALITIES[q]
            pcs = {(root + t) % 12 for t in tmpl}
            covered = float(sum(w[p] for p in pcs))
            score = covered - 0.5 * (1.0 - covered)
            if pcs <= scale:
                score += 0.12
            score += _ROOT_PRIOR.get((root - tonic_pc) % 12, 0.0) if pcs <= scale else 0.0
            if bass_pc is not None and bass_pc == root:
                score += 0.1
            if previous is not None and previous == (root, q):
                score += 0.05
            scored.append((score, root, q, covered))
    scored.sort(reverse=True)
    best, second = scored[0], scored[1]
    margin = min(1.0, max(0.0, best[0] - second[0]) / 0.3)
    confidence = best[3] * (0.5 + 0.5 * margin)
    return best[1], best[2], round(confidence, 3)
