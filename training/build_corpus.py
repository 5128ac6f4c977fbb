"""Build the expert training corpus from the music21 corpus (offline, ships with music21).

Sources (all public-domain works bundled in the ``music21`` wheel):
  chorale  Bach chorales (4 voices: soprano -> melody, alto+tenor -> harmony, bass -> bass)
  folk     Essen folksong collection (monophonic -> melody)
  fiddle   O'Neill's 1850 and Ryan's Mammoth Collection (monophonic -> melody)

Every work is quantized to a 16th-note grid (works with many off-grid notes are dropped),
annotated with a key (Krumhansl) and chords (template matching) with confidences, given a
derived drum track (see ``derive_drums``: no drum corpus is available offline), assigned
to train/valid/test by a hash of its id, and written as JSON lines.

    python -m training.build_corpus --out artifacts/corpus --max-folk 2500 --max-fiddle 1500
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from kotone.music.experts.canonical import (
    CanonicalScore,
    Track,
    annotate_chords,
    annotate_key,
)
from kotone.music.types import Note

GRID = 0.25  # beats (a 16th note)
MAX_OFF_GRID = 0.05
DEFAULT_BPM = {"chorale": 80.0, "folk": 100.0, "fiddle": 112.0}
KICK, SNARE, HAT = 36, 38, 42


def split_of(work_id: str) -> str:
    """Deterministic split by work: 10% test, 10% valid, 80% train."""
    h = int(hashlib.md5(work_id.encode()).hexdigest(), 16) % 10
    return "test" if h == 0 else "valid" if h == 1 else "train"


def _quantize(x: float) -> float:
    return round(x / GRID) * GRID


def part_notes(part: object, shift: float) -> tuple[list[Note], int]:
    """Notes of one music21 part on the 16th grid (highest note of chords); off-grid count."""
    out: list[Note] = []
    off = 0
    for el in part.stripTies().flatten().notes:  # type: ignore[attr-defined]
        ql = float(el.quarterLength)
        if ql <= 0:
            continue  # grace note
        start = float(el.offset) + shift
        qs, qd = _quantize(start), max(GRID, _quantize(ql))
        if abs(qs - start) > 1e-3 or abs(qd - ql) > 1e-3:
            off += 1
        pitch = max(p.midi for p in el.pitches)
        vel = el.volume.velocity if el.volume.velocity else 80
        if out and out[-1].start == qs:
            continue
        out.append(Note(qs, qd, int(pitch), int(vel)))
    # Trim overlaps introduced by quantization (each part is monophonic here).
    fixed: list[Note] = []
    for i, n in enumerate(out):
        end = n.end if i + 1 == len(out) else min(n.end, out[i + 1].start)
        if end - n.start >= GRID:
            fixed.append(Note(n.start, end - n.start, n.pitch, n.velocity))
    return fixed, off


def meter_and_shift(part: object) -> tuple[int, int, float] | None:
    """(numerator, denominator, pickup shift in beats) or None for changing/odd meters."""
    from music21 import meter

    sigs = list(part.recurse().getElementsByClass(meter.TimeSignature))  # type: ignore[attr-defined]
    if not sigs or len({s.ratioString for s in sigs}) != 1:
        return None
    num, den = sigs[0].numerator, sigs[0].denominator
    bpb = num * 4.0 / den
    if bpb * 4 != int(bpb * 4) or not 2.0 <= bpb <= 6.0:
        return None
    measures = list(part.getElementsByClass("Measure"))  # type: ignore[attr-defined]
    shift = 0.0
    if measures:
        first = float(measures[0].duration.quarterLength)
        if 0 < first < bpb - 1e-6:
            shift = bpb - first
    return num, den, shift


def derive_drums(melody: list[Note], bass: list[Note] | None, beats_per_bar: float, end: float) -> Track:
    """A drum track derived from the rhythm of real parts by a fixed, documented rule.

    kick  = every downbeat, plus onsets of the bass (or, without one, the melody) on the
            mid-bar strong beat;
    snare = melody onsets on the back beats (2 and 4 in 4/4, 2 in 2/4, 2-3 in 3/4,
            the second dotted quarter in 6/8 style 3-beat bars of eighths);
    hat   = every melody onset on the 8th-note grid.
    The drum expert therefore learns real onset rhythms mapped to a three-piece kit.
    """
    notes: set[tuple[float, int]] = set()
    bars = int(end // beats_per_bar + (end % beats_per_bar > 1e-6))
    half = beats_per_bar / 2
    back = {1.0, 3.0} if beats_per_bar == 4 else {1.0} if beats_per_bar == 2 else {1.0, 2.0}
    low = bass if bass else melody
    for b in range(bars):
        notes.add((b * beats_per_bar, KICK))
    for n in low:
        pos = n.start % beats_per_bar
        if round(beats_per_bar) % 2 == 0 and abs(pos - half) < 1e-6:
            notes.add((n.start, KICK))
    for n in melody:
        pos = n.start % beats_per_bar
        if any(abs(pos - p) < 1e-6 for p in back):
            notes.add((n.start, SNARE))
        if abs((n.start / 0.5) - round(n.start / 0.5)) < 1e-6:
            notes.add((n.start, HAT))
    drum_notes = [Note(t, GRID, p, 90) for t, p in sorted(notes) if t < end]
    return Track("drums", "derived drums", drum_notes, is_drum=True, role_confidence=0.5,
                 reasons=["derived from real melody/bass onsets by a fixed rule (no drum corpus offline)"])


def convert(score: object, work_id: str, source: str, style: str) -> CanonicalScore | None:
    """music21 Score -> CanonicalScore, or None when the work does not fit the format."""
    parts = list(score.parts)  # type: ignore[attr-defined]
    if style == "chorale" and len(parts) != 4:
        return None
    if style != "chorale":
        parts = parts[:1]
    ms = meter_and_shift(parts[0])
    if ms is None:
        return None
    num, den, shift = ms
    voices: list[list[Note]] = []
    off = total = 0
    for p in parts:
        notes, o = part_notes(p, shift)
        voices.append(notes)
        off += o
        total += len(notes)
    if total < 16 or off / total > MAX_OFF_GRID:
        return None
    bpb = num * 4.0 / den
    if style == "chorale":
        harmony = sorted(voices[1] + voices[2], key=lambda n: (n.start, n.pitch))
        tracks = [
            Track("melody", "soprano", voices[0], reasons=["SATB soprano"]),
            Track("harmony", "alto+tenor", harmony, reasons=["SATB inner voices"]),
            Track("bass", "bass", voices[3], reasons=["SATB bass"]),
        ]
    else:
        tracks = [Track("melody", "tune", voices[0], reasons=["monophonic tune"])]
    end = max(n.end for v in voices for n in v)
    key = annotate_key(tracks)
    chords = annotate_chords(tracks, key, bpb, end)
    bass = voices[3] if style == "chorale" else None
    tracks.append(derive_drums(voices[0], bass, bpb, end))
    return CanonicalScore(
        work_id=work_id,
        source=source,
        style=style,
        tempo_map=[(0.0, DEFAULT_BPM[style])],
        meter_map=[(0.0, num, den)],
        key=key,
        tracks=tracks,
        chords=chords,
        metadata={"quantization_grid": "16th", "off_grid_notes": off, "split": split_of(work_id)},
    )


def iter_works(max_chorales: int, max_folk: int, max_fiddle: int):
    """Yield (work_id, source, style, score) from the music21 corpus, bounded per style."""
    from music21 import corpus

    counts = {"chorale": 0, "folk": 0, "fiddle": 0}
    limits = {"chorale": max_chorales, "folk": max_folk, "fiddle": max_fiddle}
    plan = [("chorale", "bach"), ("folk", "essenFolksong"), ("fiddle", "oneills1850"), ("fiddle", "ryansMammoth")]
    for style, composer in plan:
        for path in sorted(corpus.getComposer(composer)):
            if counts[style] >= limits[style]:
                break
            name = Path(str(path)).stem
            try:
                parsed = corpus.parse(path)
            except Exception as exc:
                print(f"skip {composer}/{name}: {exc}", file=sys.stderr)
                continue
            scores = list(parsed.scores) if hasattr(parsed, "scores") else [parsed]
            for i, sc in enumerate(scores):
                if counts[style] >= limits[style]:
                    break
                counts[style] += 1
                yield f"{composer}/{name}#{i}", f"music21:{composer}/{name}", style, sc


def build(
    out_dir: Path, max_chorales: int, max_folk: int, max_fiddle: int, manifest: set[str] | None = None
) -> dict[str, int]:
    """Convert works into ``out_dir/works.jsonl``; with ``manifest`` keep exactly those work ids."""
    out_dir.mkdir(parents=True, exist_ok=True)
    missing = set(manifest) if manifest is not None else None
    path = out_dir / "works.jsonl"
    stats = {"seen": 0, "kept": 0, "train": 0, "valid": 0, "test": 0}
    t0 = time.time()
    with path.open("w", encoding="utf-8") as fh:
        for work_id, source, style, sc in iter_works(max_chorales, max_folk, max_fiddle):
            stats["seen"] += 1
            if missing is not None:
                if work_id not in missing:
                    continue
                missing.discard(work_id)
            try:
                canon = convert(sc, work_id, source, style)
            except Exception as exc:
                print(f"skip {work_id}: {exc}", file=sys.stderr)
                continue
            if canon is None:
                continue
            stats["kept"] += 1
            stats[canon.metadata["split"]] += 1
            fh.write(json.dumps(canon.to_dict()) + "\n")
            if stats["seen"] % 200 == 0:
                print(f"{stats} {time.time() - t0:.0f}s", flush=True)
            if missing is not None and not missing:
                break
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2))
    return stats


def load_works(path: Path) -> list[CanonicalScore]:
    with path.open(encoding="utf-8") as fh:
        return [CanonicalScore.from_dict(json.loads(line)) for line in fh]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("artifacts/corpus"))
    ap.add_argument("--max-chorales", type=int, default=450)
    ap.add_argument("--max-folk", type=int, default=2500)
    ap.add_argument("--max-fiddle", type=int, default=1500)
    ap.add_argument("--manifest", type=Path, help="JSON with work_ids: rebuild exactly that corpus")
    args = ap.parse_args(argv)
    manifest = None
    if args.manifest:
        manifest = set(json.loads(args.manifest.read_text())["work_ids"])
        args.max_chorales = args.max_folk = args.max_fiddle = 10**6
    print(build(args.out, args.max_chorales, args.max_folk, args.max_fiddle, manifest))


if __name__ == "__main__":
    main()
