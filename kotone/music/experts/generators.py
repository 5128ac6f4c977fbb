"""Neural part generators: the ``PartGenerator`` face of the trained experts.

``load_experts()`` returns one generator per role whose weights exist under
``space_assets/experts/<role>/<arch>/``; models load once and run on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kotone.music.experts.config import ROLES, ExpertConfig
from kotone.music.experts.decoding import (
    ChordCond,
    ConstrainedDecoder,
    DecodeSpec,
    Event,
    LockedNote,
)
from kotone.music.experts.memory import NgramFilter
from kotone.music.experts.runtime import OnnxGRURunner, StepFn, TorchRunner
from kotone.music.experts.theory import chord_quality, mode_of_scale
from kotone.music.experts.tokenizer import PITCH_RANGES, STEPS_PER_BEAT, Vocab
from kotone.music.types import Note, SectionContext

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "space_assets" / "experts"


@dataclass(frozen=True)
class RoleDecoding:
    """Decoding constraints per role (see ``DecodeSpec``). ``form_lag``: each bar from
    ``form_lag`` on restates the rhythm of the bar ``form_lag`` earlier (the last bar stays
    free for a cadence or fill); 0 turns the phrase form off."""

    max_poly: int
    chord_bias: float = 0.0
    chord_bias_weak: float = 0.0
    chord_mask_strong: bool = False
    chord_mask_all: bool = False
    min_onsets_per_bar: int = 1
    form_lag: int = 2
    form_free_last: bool = True
    contour_bias: float = 1.5
    duration_bias: float = 1.0
    max_same_run: int = 0
    root_on_change: bool = False


# roles whose fixed notes (ctx.motif_notes) the decoder forces: the tune's motifs and
# cadences, the bass's downbeat roots
LOCKED_ROLES = ("melody", "bass")

ROLE_DECODING = {
    "melody": RoleDecoding(max_poly=1, chord_mask_strong=True, chord_bias_weak=0.7, contour_bias=3.0, max_same_run=3),
    "bass": RoleDecoding(max_poly=1, chord_mask_strong=True, chord_bias_weak=0.7, form_lag=1, contour_bias=5.0,
                         root_on_change=True),
    "harmony": RoleDecoding(max_poly=3, chord_mask_all=True, form_lag=1),
    "drums": RoleDecoding(max_poly=3, form_lag=1, contour_bias=2.0),
}


def phrase_form(bars: int, lag: int, free_last: bool = True) -> dict[int, int]:
    """bar -> source bar for rhythm restatement; the final bar may be left free."""
    if lag <= 0 or bars < lag + 2:
        return {}
    return {b: b - lag for b in range(lag, bars - 1 if free_last else bars)}

_STYLE_WORDS = {
    "chorale": ("chorale", "hymn", "baroque", "classical", "church", "choir", "orchestral", "cinematic"),
    "fiddle": ("fiddle", "celtic", "reel", "jig", "irish", "scottish", "country", "bluegrass", "dance"),
    "folk": ("folk", "lullaby", "ballad", "japan", "minyo", "desert", "waltz", "acoustic", "music box"),
}


def style_token(style_family: str) -> str:
    """Map the style card's family onto a training-corpus style (or "any")."""
    s = style_family.lower()
    for tok, words in _STYLE_WORDS.items():
        if any(w in s for w in words):
            return tok
    return "any"


def sampling_from_emotion(ctx: SectionContext) -> tuple[float, float]:
    """(temperature, top_p): tension and motion loosen sampling, calm tightens it."""
    e = ctx.emotion
    temperature = float(np.clip(0.75 + 0.3 * e.tension + 0.15 * (e.motion - 0.5), 0.55, 1.2))
    top_p = float(np.clip(0.86 + 0.08 * e.energy, 0.8, 0.96))
    return temperature, top_p


VALENCE_REGISTER = {"melody": 0.5, "harmony": 0.25, "bass": 0.25}  # share of the register given up per |valence|


def steer_register(register: tuple[int, int], valence: float, role: str) -> tuple[int, int]:
    """Brighter (valence > 0) sections drop the bottom of the register, darker ones the top;
    at least an octave always remains, and the result stays inside ``register``."""
    lo, hi = register
    cut = int(round(VALENCE_REGISTER.get(role, 0.0) * (hi - lo) * min(1.0, abs(valence))))
    cut = max(0, min(cut, hi - lo - 12))
    return (lo + cut, hi) if valence > 0 else (lo, hi - cut)


def consonance(base: float, ctx: SectionContext) -> float:
    """Weak-beat chord-tone bias: happier or calmer (less tense) sections lean on chord tones
    more, tense or sad ones allow more passing and neighbour notes. Neutral emotion -> ``base``."""
    if base <= 0:
        return base
    e = ctx.emotion
    return float(max(0.0, base + 0.8 * max(0.0, e.valence) + 0.8 * (0.3 - e.tension)))


def spec_from_context(ctx: SectionContext, vocab: Vocab, role: str) -> DecodeSpec:
    steps_per_bar = round(ctx.beats_per_bar * STEPS_PER_BEAT)
    if role == "drums":
        register = (0, 127)
    else:
        vlo, vhi = PITCH_RANGES[role]
        register = (max(ctx.register[0], vlo), min(ctx.register[1], vhi))
        if register[0] > register[1]:
            raise ValueError(f"{role} register {ctx.register} does not meet the expert range {(vlo, vhi)}")
        register = steer_register(register, ctx.emotion.valence, role)
    chords = [
        ChordCond(
            round((c.start - ctx.start_beat) * STEPS_PER_BEAT),
            round((c.end - ctx.start_beat) * STEPS_PER_BEAT),
            c.root_pc % 12,
            chord_quality(c.root_pc, c.pcs),
            frozenset(p % 12 for p in c.pcs),
        )
        for c in ctx.chords
    ]
    locked = [
        LockedNote(
            round((n.start - ctx.start_beat) * STEPS_PER_BEAT),
            max(1, round(n.dur * STEPS_PER_BEAT)),
            n.pitch,
        )
        for n in (ctx.motif_notes if role in LOCKED_ROLES else [])
    ]
    temperature, top_p = sampling_from_emotion(ctx)
    rd = ROLE_DECODING[role]
    return DecodeSpec(
        bars=ctx.bars,
        steps_per_bar=steps_per_bar,
        tonic_pc=ctx.tonic_pc % 12,
        mode=mode_of_scale(ctx.tonic_pc, ctx.scale_pcs),
        style=style_token(ctx.style_family),
        density_bin=min(3, max(0, int(ctx.density * 4))),
        scale_pcs=frozenset(p % 12 for p in ctx.scale_pcs),
        register=register,
        chords=chords,
        locked=locked,
        max_poly=rd.max_poly,
        chord_bias=rd.chord_bias,
        chord_mask_strong=rd.chord_mask_strong,
        chord_mask_all=rd.chord_mask_all,
        min_onsets_per_bar=rd.min_onsets_per_bar,
        chord_bias_weak=consonance(rd.chord_bias_weak, ctx),
        rhythm_source=phrase_form(ctx.bars, rd.form_lag, rd.form_free_last),
        contour_bias=rd.contour_bias,
        duration_bias=rd.duration_bias,
        max_same_run=rd.max_same_run,
        root_on_change=rd.root_on_change,
        temperature=temperature,
        top_p=top_p,
    )


def _velocity(ctx: SectionContext, pos: int, steps_per_bar: int, rng: np.random.Generator, pitch: int, drums: bool) -> int:
    base = 45 + 50 * ctx.emotion.energy
    if pos == 0:
        base += 10
    elif pos % STEPS_PER_BEAT:
        base -= 8
    if drums:
        base += {36: 10, 38: 6, 42: -12, 46: -6}.get(pitch, 0)
    return int(np.clip(round(base + rng.integers(-3, 4)), 1, 127))


def events_to_notes(events: list[Event], ctx: SectionContext, spec: DecodeSpec, rng: np.random.Generator, role: str) -> list[Note]:
    """Decoded events -> notes in song beats; locked notes come back unchanged."""
    locked_src = sorted(ctx.motif_notes, key=lambda n: (n.start, n.pitch)) if role in LOCKED_ROLES else []
    out: list[Note] = list(locked_src)
    gen = sorted((e for e in events if not e.locked), key=lambda e: (e.step, e.pitch))
    onsets = sorted({e.step for e in events})
    end = ctx.end_beat
    for e in gen:
        start = ctx.start_beat + e.step / STEPS_PER_BEAT
        dur = e.dur_steps / STEPS_PER_BEAT if role != "drums" else 0.25
        if spec.max_poly == 1:
            later = [s for s in onsets if s > e.step]
            if later:
                dur = min(dur, (later[0] - e.step) / STEPS_PER_BEAT)
            for ln in locked_src:  # never overlap a locked note
                if ln.start > start:
                    dur = min(dur, ln.start - start)
        dur = min(dur, end - start)
        if dur <= 1e-6:
            continue
        vel = _velocity(ctx, e.step % spec.steps_per_bar, spec.steps_per_bar, rng, e.pitch, role == "drums")
        out.append(Note(start, dur, e.pitch, vel))
    return sorted(out, key=lambda n: (n.start, n.pitch))


class ExpertGenerator:
    """A trained expert behind the ``PartGenerator`` protocol."""

    def __init__(
        self, role: str, vocab: Vocab, runner: OnnxGRURunner | TorchRunner, name: str, ngram_filter: NgramFilter | None = None
    ) -> None:
        self.role = role
        self.ngram_filter = ngram_filter
        self.name = name
        self.vocab = vocab
        self.runner = runner
        self.decoder = ConstrainedDecoder(vocab)

    def start(self) -> StepFn:
        return self.runner.start()

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        spec = spec_from_context(ctx, self.vocab, self.role)
        spec.ngram_filter = self.ngram_filter
        events = self.decoder.decode(spec, self.runner.start(), rng)
        return events_to_notes(events, ctx, spec, rng, self.role)


def load_expert(role: str, arch: str = "gru", assets_dir: Path | None = None) -> ExpertGenerator | None:
    """The expert stored under ``<assets_dir>/<role>/<arch>/``, or None when it is absent."""
    folder = (assets_dir or DEFAULT_DIR) / role / arch
    cfg_path, vocab_path = folder / "config.json", folder / "vocab.json"
    if not (cfg_path.exists() and vocab_path.exists()):
        return None
    cfg = ExpertConfig.load(cfg_path)
    vocab = Vocab.load(vocab_path)
    if (folder / "model.onnx").exists() and cfg.arch == "gru":
        runner: OnnxGRURunner | TorchRunner = OnnxGRURunner(folder / "model.onnx", cfg.layers, cfg.hidden)
        name = f"expert-{arch}-onnx"
    elif (folder / "model.pt").exists():
        import torch

        from kotone.music.experts.models import build_model

        model = build_model(cfg)
        model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
        runner = TorchRunner(model)
        name = f"expert-{arch}-torch"
    else:
        return None
    filt = NgramFilter.load(folder / "train_ngrams.npy") if (folder / "train_ngrams.npy").exists() else None
    return ExpertGenerator(role, vocab, runner, name, filt)


@lru_cache(maxsize=4)
def _load_all(assets_dir: Path) -> dict[str, ExpertGenerator]:
    out = {}
    for role in ROLES:
        gen = load_expert(role, "gru", assets_dir)
        if gen is not None:
            out[role] = gen
    return out


def load_experts(assets_dir: Path | None = None) -> dict[str, ExpertGenerator]:
    """Role -> expert generator, for every role whose shipped weights exist (loaded once)."""
    return dict(_load_all((assets_dir or DEFAULT_DIR).resolve()))
