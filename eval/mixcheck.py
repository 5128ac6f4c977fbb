"""Mix check: is the lead heard, and is every song equally loud?

    python -m eval.mixcheck [--n 100] [--seed 0] [--quiet] [--no-mix] [--backend NAME]

Over N random card combinations (eval.controllability's draw), each song is composed,
every track is rendered alone with the app's own synth and SoundFont, and the full song
through the app's render path (effects, loudness normalisation, encoding), then decoded.
Per song and in summary it prints:

- ``lead_minus_acc_db``: the lead's RMS above 300 Hz minus that of the loudest other part,
  each from its own stem over the whole song (bar: >= 3 dB);
- ``loudness_lufs``: integrated loudness of the file the player gets (bar: within 1.5 LU
  of the target).

``--no-mix`` builds the MIDI without faders (every CC7 at 127), to see what the mix does;
``--backend libfluidsynth`` checks the path of a machine without TinySoundFont (a Space).
``audio_columns(song)`` gives both figures for one song (for the eval.music listener table).
Writes eval/results/mixcheck.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from eval.controllability import RESULTS, random_choices
from kotone.pipeline import Song, compose
from kotone.render.audio import render_audio
from kotone.render.loudness import TARGET_LUFS
from kotone.render.midi import midi_track_roles
from kotone.render.mix import LEAD_ROLE
from kotone.render.stems import loudness_lufs, render_stems, stem_presence_db

LEAD_BAR_DB = 3.0
LOUDNESS_TOLERANCE_LU = 1.5
SAMPLE_RATE = 22050


def stem_levels(song: Song, backend: str = "tinysoundfont") -> list[tuple[str, float]]:
    """(role, RMS above 300 Hz in dBFS) of every track of the song, each rendered alone."""
    roles = midi_track_roles(song.plan, song.midi)
    levels = stem_presence_db(render_stems(song.midi, sample_rate=SAMPLE_RATE, backend=backend), SAMPLE_RATE)
    return list(zip(roles, levels, strict=True))


def lead_minus_acc_db(levels: list[tuple[str, float]]) -> tuple[float, str]:
    """The lead's level minus the loudest other part's, and that part's role
    (nan when the song has no lead or nothing else)."""
    lead = [db for role, db in levels if role == LEAD_ROLE]
    others = [(db, role) for role, db in levels if role != LEAD_ROLE]
    if not lead or not others:
        return float("nan"), ""
    loudest, role = max(others)
    return round(max(lead) - loudest, 2), role


def file_loudness_lufs(song: Song, backend: str | None = None) -> float:
    """Integrated loudness of the audio file the app writes for ``song``, decoded."""
    with tempfile.TemporaryDirectory(prefix="kotone-mixcheck-") as tmp:
        result = render_audio(song.midi, Path(tmp), fx=song.plan.audio_fx, timeout_s=120.0,  # eval, not latency
                              backends=[backend] if backend else None)  # fmt: skip
        data, rate = sf.read(str(result.path), dtype="float32", always_2d=True)
    return round(loudness_lufs(data, rate), 2)


def audio_columns(song: Song) -> dict[str, float]:
    """The two listener-table columns for one song."""
    diff, _ = lead_minus_acc_db(stem_levels(song))
    return {"lead_minus_acc_db": diff, "loudness_lufs": file_loudness_lufs(song)}


def remixed(song: Song, mix: bool, backend: str) -> Song:
    """``song`` with its MIDI rebuilt without faders, or mixed for ``backend``."""
    from dataclasses import replace

    from kotone.render.midi import build_midi, midi_bytes, read_midi
    from kotone.render.midi import midi_track_roles as roles_of
    from kotone.render.mix import apply_mix

    pm = read_midi(midi_bytes(build_midi(song.plan, song.tracks, mix=False)))
    if mix:
        apply_mix(pm, roles_of(song.plan, pm), backend=backend)
    return replace(song, midi=pm)


def check_song(choice: dict[str, str], seed: int, mix: bool = True, backend: str = "tinysoundfont") -> dict:
    song = compose(choice, seed)
    if not mix or backend != "tinysoundfont":
        song = remixed(song, mix, backend)
    levels = stem_levels(song, backend)
    diff, loudest = lead_minus_acc_db(levels)
    lufs = file_loudness_lufs(song, backend)
    return {
        "cards": choice, "seed": seed, "duration_s": round(song.duration_s, 1),
        "lead_minus_acc_db": diff, "loudest_acc": loudest, "loudness_lufs": lufs,
        "stems_db": [[role, round(db, 1)] for role, db in levels],
        "cc7": [c.value for inst in song.midi.instruments for c in inst.control_changes if c.number == 7],
    }  # fmt: skip


def summarize(rows: list[dict]) -> dict:
    diffs = [r["lead_minus_acc_db"] for r in rows if np.isfinite(r["lead_minus_acc_db"])]
    lufs = [r["loudness_lufs"] for r in rows]
    dev = [abs(v - TARGET_LUFS) for v in lufs]
    return {
        "n": len(rows), "songs_with_lead": len(diffs),
        "lead_bar_db": LEAD_BAR_DB, "lead_share_meeting_bar": sum(d >= LEAD_BAR_DB for d in diffs) / max(1, len(diffs)),
        "lead_minus_acc_db": {"min": min(diffs, default=float("nan")), "p5": _pct(diffs, 5),
                              "median": _pct(diffs, 50), "max": max(diffs, default=float("nan"))},
        "target_lufs": TARGET_LUFS, "tolerance_lu": LOUDNESS_TOLERANCE_LU,
        "loudness_share_meeting_bar": sum(d <= LOUDNESS_TOLERANCE_LU for d in dev) / max(1, len(dev)),
        "loudness_lufs": {"min": min(lufs), "median": _pct(lufs, 50), "max": max(lufs),
                          "stdev": statistics.pstdev(lufs), "max_abs_dev": max(dev)},
    }  # fmt: skip


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true", help="summary only")
    ap.add_argument("--no-mix", action="store_true", help="MIDI without faders, for comparison")
    ap.add_argument("--backend", choices=("tinysoundfont", "libfluidsynth"), default="tinysoundfont")
    ap.add_argument("--out", type=Path, default=RESULTS / "mixcheck.json")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    if not args.quiet:
        print(f"{'#':>3} {'lead-acc dB':>11} {'loudest':>8} {'LUFS':>6} {'dur s':>5}  cards, seed")
    for k, choice in enumerate(random_choices(args.n, args.seed)):
        row = check_song(choice, args.seed * 100_000 + k, mix=not args.no_mix, backend=args.backend)
        rows.append(row)
        if not args.quiet:
            cards = ",".join(v.split("_", 1)[1] for v in choice.values())
            print(f"{k:>3} {row['lead_minus_acc_db']:>11.1f} {row['loudest_acc']:>8} {row['loudness_lufs']:>6.1f} "
                  f"{row['duration_s']:>5.1f}  {cards} {row['seed']}")  # fmt: skip
    summary = summarize(rows) | {"seconds": round(time.perf_counter() - t0, 1)}
    ld, lu = summary["lead_minus_acc_db"], summary["loudness_lufs"]
    print(f"\nlead - loudest accompaniment (RMS > 300 Hz, stems): median {ld['median']:.1f} dB, p5 {ld['p5']:.1f}, "
          f"min {ld['min']:.1f}; >= {LEAD_BAR_DB:.0f} dB in {summary['lead_share_meeting_bar']:.0%} of "
          f"{summary['songs_with_lead']} songs with a lead (bar: 95%)")
    print(f"loudness: target {TARGET_LUFS:.1f} LUFS; median {lu['median']:.2f}, range {lu['min']:.2f} .. {lu['max']:.2f}, "
          f"max |dev| {lu['max_abs_dev']:.2f} LU; within {LOUDNESS_TOLERANCE_LU} LU in "
          f"{summary['loudness_share_meeting_bar']:.0%} (bar: 100%)")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "songs": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
