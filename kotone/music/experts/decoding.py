"""Constrained decoding: a grammar state machine that masks every step of an expert.

The mask guarantees the output is well-formed and musically legal whatever the weights:
bars and positions only move forward and stay inside the section; pitches lie in the
register and the scale (and, where the role asks for it, the chord); durations end by the
section end and before the next locked note; drum hits use the kit map; locked motif notes
are forced into the stream at their onset and never overlapped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kotone.music.experts.memory import NgramFilter
from kotone.music.experts.tokenizer import KIT, STEPS_PER_BEAT, Vocab

NEG = -1e9


@dataclass(frozen=True)
class ChordCond:
    start_step: int  # 16th steps from section start
    end_step: int
    root_pc: int
    quality: str
    pcs: frozenset[int]


@dataclass(frozen=True)
class LockedNote:
    step: int
    dur_steps: int
    pitch: int


@dataclass
class DecodeSpec:
    """What one section asks of one expert, in 16th steps relative to the section start."""

    bars: int
    steps_per_bar: int
    tonic_pc: int
    mode: str
    style: str
    density_bin: int
    scale_pcs: frozenset[int]
    register: tuple[int, int]
    chords: list[ChordCond]
    locked: list[LockedNote] = field(default_factory=list)
    max_poly: int = 1  # notes per onset
    chord_bias: float = 0.0  # logit bonus for chord tones on strong beats (soft)
    chord_mask_strong: bool = False  # hard: strong-beat pitches must be chord tones
    chord_mask_all: bool = False  # hard: every pitch must be a chord tone
    root_on_change: bool = False  # hard: an onset where a chord starts plays its root
    min_onsets_per_bar: int = 1
    chord_bias_weak: float = 0.0  # logit bonus for chord tones on the other onsets (soft)
    # Phrase form: bar -> earlier bar whose onset rhythm it restates (pitches stay free),
    # with a soft bias toward the same melodic contour and durations.
    rhythm_source: dict[int, int] = field(default_factory=dict)
    contour_bias: float = 0.0
    duration_bias: float = 0.0
    max_same_run: int = 0  # monophonic roles: at most this many equal pitches in a row (0 = off)
    ngram_filter: NgramFilter | None = None  # monophonic roles: never complete a training n-gram
    temperature: float = 1.0
    top_p: float = 0.95

    @property
    def total_steps(self) -> int:
        return self.bars * self.steps_per_bar

    def chord_at(self, step: int) -> ChordCond | None:
        for c in self.chords:
            if c.start_step <= step < c.end_step:
                return c
        return self.chords[-1] if self.chords else None

    def is_strong(self, pos: int) -> bool:
        if pos == 0:
            return True
        beats = self.steps_per_bar // STEPS_PER_BEAT
        return beats % 2 == 0 and pos == self.steps_per_bar // 2


@dataclass(frozen=True)
class Event:
    step: int
    dur_steps: int
    pitch: int
    locked: bool = False


StepFn = Callable[[int], np.ndarray]  # feeds one token id, returns next-token logits (V,)


def sample_top_p(logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """Nucleus sampling over finite logits (masked entries are ~-1e9)."""
    z = logits / max(temperature, 1e-3)
    z = z - z.max()
    p = np.exp(z)
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    cum = np.cumsum(p[order])
    keep = order[: int(np.searchsorted(cum, top_p)) + 1]
    q = p[keep] / p[keep].sum()
    return int(keep[int(rng.choice(len(keep), p=q))])


class ConstrainedDecoder:
    """Drives a step function through the token grammar under ``DecodeSpec`` masks."""

    def __init__(self, vocab: Vocab) -> None:
        self.v = vocab
        self.drums = vocab.role == "drums"
        n = len(vocab)
        self._pos_ids = np.array([vocab.position_ids[p] for p in sorted(vocab.position_ids)])
        self._pos_vals = np.array(sorted(vocab.position_ids))
        self._dur_vals = np.array(sorted(vocab.duration_ids)) if vocab.duration_ids else np.zeros(0, int)
        self._dur_ids = np.array([vocab.duration_ids[d] for d in self._dur_vals], dtype=int)
        self._pitch_vals = np.array(sorted(vocab.pitch_ids))
        self._pitch_ids = np.array([vocab.pitch_ids[p] for p in self._pitch_vals])
        self._pitch_pos = {int(p): i for i, p in enumerate(self._pitch_vals)}
        self._local = threading.local()  # per-thread mask cache: one decoder may serve concurrent requests
        self._n = n

    # --- masks -------------------------------------------------------------------
    def _legal_pitches(self, spec: DecodeSpec, step: int, used: set[int]) -> tuple[np.ndarray, np.ndarray | None]:
        """(hard-legal pitch flags, chord-tone flags for the soft bias or None)."""
        cache = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = {}
        if cache.get("spec") is not spec:  # masks depend only on the spec: build them once
            vals = self._pitch_vals
            base = (vals >= spec.register[0]) & (vals <= spec.register[1])
            base &= np.isin(vals, KIT) if self.drums else np.isin(vals % 12, list(spec.scale_pcs))
            cache.clear()
            cache.update(spec=spec, base=base, tones={})
        ok = cache["base"].copy()
        for p in used:
            ok[self._pitch_pos[p]] = False
        if self.drums:
            return ok, None
        ch = spec.chord_at(step)
        if ch is None:
            return ok, None
        if spec.root_on_change and step == ch.start_step:
            root = ok & (self._pitch_vals % 12 == ch.root_pc)
            if root.any():
                return root, None
        tones = cache["tones"].get(ch.pcs)
        if tones is None:
            tones = cache["tones"][ch.pcs] = np.isin(self._pitch_vals % 12, list(ch.pcs))
        strong = spec.is_strong(step % spec.steps_per_bar)
        if (spec.chord_mask_all or (spec.chord_mask_strong and strong)) and (ok & tones).any():
            return ok & tones, None
        if (spec.chord_bias and strong) or spec.chord_bias_weak:
            return ok, tones
        return ok, None

    def _pitch_mask(self, spec: DecodeSpec, step: int, used: set[int], logits: np.ndarray) -> np.ndarray:
        ok, tones = self._legal_pitches(spec, step, used)
        if not ok.any():
            raise ValueError(f"no legal pitch in register {spec.register} for scale {sorted(spec.scale_pcs)}")
        out = np.full(self._n, NEG)
        out[self._pitch_ids[ok]] = 0.0
        if tones is not None:
            strong = spec.is_strong(step % spec.steps_per_bar)
            out[self._pitch_ids[ok & tones]] = spec.chord_bias if strong else spec.chord_bias_weak
        return logits + out

    def _contour_bonus(self, direction: int, prev_pitch: int, bonus: float) -> np.ndarray:
        """Logit bonus for pitches that move from ``prev_pitch`` in ``direction`` (-1, 0, 1)."""
        out = np.zeros(self._n)
        good = np.sign(self._pitch_vals - prev_pitch) == direction
        out[self._pitch_ids[good]] = bonus
        return out

    def _duration_mask(self, limit_steps: int, logits: np.ndarray) -> np.ndarray:
        out = np.full(self._n, NEG)
        ok = self._dur_vals <= max(1, limit_steps)
        if not ok.any():
            ok = self._dur_vals == self._dur_vals.min()
        out[self._dur_ids[ok]] = 0.0
        return logits + out

    # --- main loop ----------------------------------------------------------------
    def decode(self, spec: DecodeSpec, step_fn: StepFn, rng: np.random.Generator) -> list[Event]:
        v = self.v
        logits = np.zeros(self._n)
        for t in v.prefix(spec.steps_per_bar / STEPS_PER_BEAT, spec.tonic_pc, spec.mode, spec.style, spec.density_bin):
            logits = step_fn(t)
        logits = step_fn(v.bar)
        events: list[Event] = []
        locked = sorted(spec.locked, key=lambda n: (n.step, n.pitch))
        li = 0  # next locked note to force
        bar, pos = 0, -1  # current bar, last position in it (-1 = none yet)
        onsets_in_bar = 0
        busy_until = 0  # monophonic roles: no onset before this step (locked note spans)
        last_chord: tuple[int, str] | None = None
        total = spec.total_steps
        # Per bar: onsets as (position, first pitch, duration) for phrase-form restatement.
        bar_onsets: dict[int, list[tuple[int, int, int]]] = {}
        prev_pitch: int | None = None
        same_run = 0  # how many notes in a row had ``prev_pitch``
        prev_step: int | None = None
        units: list[tuple[int, int]] = []  # (interval, onset distance) from the 2nd onset on

        def feed(tok: int) -> np.ndarray:
            return step_fn(tok)

        while True:
            bar_start = bar * spec.steps_per_bar
            while li < len(locked) and locked[li].step < bar_start + pos + 1:
                # A locked note the grammar can no longer reach (overlapping locks): keep it as is.
                events.append(Event(locked[li].step, locked[li].dur_steps, locked[li].pitch, locked=True))
                li += 1
            # ---- choose the next event: a Position in this bar, a Bar, or the end ----
            mask = np.full(self._n, NEG)
            lo_pos = max(pos + 1, busy_until - bar_start if spec.max_poly == 1 else pos + 1)
            hi_pos = spec.steps_per_bar  # exclusive
            lock_here = li < len(locked) and locked[li].step < bar_start + spec.steps_per_bar
            if lock_here:
                hi_pos = locked[li].step - bar_start + 1  # up to and including the locked onset
                lo_pos = min(lo_pos, hi_pos - 1)
            allowed = (self._pos_vals >= lo_pos) & (self._pos_vals < hi_pos)
            src = spec.rhythm_source.get(bar)
            template = bar_onsets.get(src, []) if src is not None and not lock_here else []
            if template:  # restate the source bar's rhythm: only its next onset is legal
                nxt = [p for p, _, _ in template if lo_pos <= p < hi_pos]
                allowed = self._pos_vals == (nxt[0] if nxt else -1)
            mask[self._pos_ids[allowed]] = 0.0
            need_onset = (onsets_in_bar < spec.min_onsets_per_bar or bool(template)) and allowed.any()
            if not lock_here and not need_onset:
                if bar + 1 < spec.bars:
                    mask[v.bar] = 0.0
                else:
                    mask[v.bar] = 0.0
                    mask[v.eos] = 0.0
            if (mask == NEG).all():  # nothing left in this bar
                if bar + 1 >= spec.bars:
                    break
                mask[v.bar] = 0.0
            tok = v.bar if (mask > NEG).sum() == 1 and mask[v.bar] == 0.0 else sample_top_p(
                logits + mask, spec.temperature, spec.top_p, rng
            )
            if tok == v.eos or (tok == v.bar and bar + 1 >= spec.bars):
                break
            if tok == v.bar:
                logits = feed(tok)
                bar, pos, onsets_in_bar = bar + 1, -1, 0
                continue
            pos = v.id_position[tok]
            step = bar_start + pos
            logits = feed(tok)
            onsets_in_bar += 1
            if not self.drums:
                ch = spec.chord_at(step)
                if ch is not None and (ch.root_pc, ch.quality) != last_chord:
                    last_chord = (ch.root_pc, ch.quality)
                    logits = feed(v.chord_id(*last_chord))
            # ---- forced locked notes at this onset ----
            if li < len(locked) and locked[li].step == step:
                while li < len(locked) and locked[li].step == step:
                    ln = locked[li]
                    pitch_tok = v.pitch_ids[int(np.clip(ln.pitch, self._pitch_vals[0], self._pitch_vals[-1]))]
                    logits = feed(pitch_tok)
                    if not self.drums:
                        logits = feed(v.nearest_duration(ln.dur_steps))
                    events.append(Event(step, ln.dur_steps, ln.pitch, locked=True))
                    busy_until = max(busy_until, step + ln.dur_steps)
                    bar_onsets.setdefault(bar, []).append((pos, ln.pitch, ln.dur_steps))
                    same_run = same_run + 1 if ln.pitch == prev_pitch else 1
                    if prev_pitch is not None and prev_step is not None and step != prev_step:
                        units.append((ln.pitch - prev_pitch, step - prev_step))
                    prev_pitch, prev_step = ln.pitch, step
                    li += 1
                continue
            # ---- generated notes at this onset ----
            limit = total - step
            if li < len(locked):
                limit = min(limit, locked[li].step - step)
            used: set[int] = set()
            # Phrase form: the k-th onset of a restated bar leans toward the source contour.
            k = len(bar_onsets.get(bar, []))
            ref = template[k] if template and k < len(template) else None
            pmask = self._pitch_mask(spec, step, used, logits)
            if ref is not None and spec.contour_bias and prev_pitch is not None and not self.drums:
                src_prev = template[k - 1][1] if k > 0 else None
                if src_prev is not None:
                    pmask = pmask + self._contour_bonus(int(np.sign(ref[1] - src_prev)), prev_pitch, spec.contour_bias)
            if spec.max_same_run and prev_pitch is not None and same_run >= spec.max_same_run and not self.drums:
                blocked = pmask.copy()
                if prev_pitch in v.pitch_ids:
                    blocked[v.pitch_ids[prev_pitch]] = NEG
                if (blocked[self._pitch_ids] > NEG / 2).any():  # only when another legal pitch exists
                    pmask = blocked
            filt = spec.ngram_filter
            if filt is not None and prev_pitch is not None and prev_step is not None and len(units) >= filt.n - 1:
                pmask = self._block_copies(pmask, filt, units[len(units) - filt.n + 1 :], prev_pitch, step - prev_step)
            if ref is not None and self.drums and spec.contour_bias and ref[1] in self._pitch_pos:
                pmask[v.pitch_ids[ref[1]]] += spec.contour_bias  # same kit piece on the restated onset
            tok = sample_top_p(pmask, spec.temperature, spec.top_p, rng)
            first = True
            while True:
                pitch = v.id_pitch[tok]
                used.add(pitch)
                logits = feed(tok)
                dur = 1
                if not self.drums:
                    dmask = self._duration_mask(limit, logits)
                    if ref is not None and first and spec.duration_bias:
                        dmask[v.nearest_duration(ref[2])] += spec.duration_bias
                    dtok = sample_top_p(dmask, spec.temperature, spec.top_p, rng)
                    dur = min(v.id_duration[dtok], limit)
                    logits = feed(dtok)
                events.append(Event(step, max(1, dur), pitch))
                if first:
                    bar_onsets.setdefault(bar, []).append((pos, pitch, max(1, dur)))
                    same_run = same_run + 1 if pitch == prev_pitch else 1
                    if prev_pitch is not None and prev_step is not None:
                        units.append((pitch - prev_pitch, step - prev_step))
                    prev_pitch, prev_step = pitch, step
                    first = False
                if len(used) >= spec.max_poly or not self._any_pitch_left(spec, used, step):
                    break
                # Another pitch at this onset, or move on: the model decides.
                more = self._pitch_mask(spec, step, used, logits)
                nxt = np.full(self._n, NEG)
                nxt[self._pitch_ids] = more[self._pitch_ids]
                later = self._pos_vals > pos
                nxt[self._pos_ids[later]] = logits[self._pos_ids[later]]
                nxt[v.bar] = logits[v.bar]
                tok = sample_top_p(nxt, spec.temperature, spec.top_p, rng)
                if tok not in v.id_pitch:
                    break  # the next event is re-sampled under the full mask by the outer loop
            if li >= len(locked) and bar + 1 >= spec.bars and pos + 1 >= spec.steps_per_bar:
                break
        return events

    def _block_copies(
        self, pmask: np.ndarray, filt: NgramFilter, context: list[tuple[int, int]], prev_pitch: int, ioi: int
    ) -> np.ndarray:
        """Mask pitches whose unit would complete an n-gram of the training melodies."""
        legal = [int(p) for p, i in zip(self._pitch_vals, self._pitch_ids, strict=True) if pmask[i] > NEG / 2]
        blocked = [p for p in legal if filt.contains([*context, (p - prev_pitch, ioi)])]
        if not blocked or len(blocked) == len(legal):
            return pmask
        out = pmask.copy()
        out[[self.v.pitch_ids[p] for p in blocked]] = NEG
        return out

    def _any_pitch_left(self, spec: DecodeSpec, used: set[int], step: int = 0) -> bool:
        return bool(self._legal_pitches(spec, step, used)[0].any())
