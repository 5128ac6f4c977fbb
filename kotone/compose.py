"""CLI: python -m kotone.compose --cards style=ID,instrument=ID,mood=ID,gimmick=ID --seed N --out DIR

Writes song.mid, the audio (song.mp3, or song.wav with --wav), song.json (the song record: plan,
measured six dims, timings, and with --commission the score and its coaching) and roll.png
into DIR, through the same render path as the app (kotone.studio). ``--elevenlabs-plan`` also
writes elevenlabs_plan.json, the exact ElevenLabs ``composition_plan`` body (no network, no
key); ``--audio elevenlabs`` also renders it with ElevenLabs into elevenlabs.mp3 (needs
ELEVENLABS_API_KEY; the SoundFont audio is still written).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kotone.domain.errors import InvalidInputError, KotoneError


def parse_cards(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise InvalidInputError(f"expected slot=card_id, got {part!r}")
        slot, card = (x.strip() for x in part.split("=", 1))
        if slot in out:
            raise InvalidInputError(f"slot {slot!r} given twice")
        out[slot] = card
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kotone.compose", description=__doc__.split("\n")[0])
    ap.add_argument("--cards", required=True, help="style=ID,instrument=ID,mood=ID,gimmick=ID")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--commission", help="a commission id to score against")
    ap.add_argument("--wav", action="store_true", help="write song.wav instead of song.mp3")
    ap.add_argument("--elevenlabs-plan", action="store_true",
                    help="also write elevenlabs_plan.json, the ElevenLabs composition_plan body (offline)")
    ap.add_argument("--audio", choices=("soundfont", "elevenlabs"), default="soundfont",
                    help="elevenlabs: also render with ElevenLabs into elevenlabs.mp3 (needs ELEVENLABS_API_KEY)")
    args = ap.parse_args(argv)
    from kotone.assets import load_book
    from kotone.studio import compose_scored, render_and_coach, song_record

    try:
        choice = parse_cards(args.cards)
        commission = load_book().get(args.commission) if args.commission else None
        t0 = time.perf_counter()
        song = compose_scored(choice, args.seed, commission)
        files = render_and_coach(song, commission, args.out, fmt="wav" if args.wav else "auto")
        song.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        audio = next(p for name, p in files.items() if name.startswith("song.") and name != "song.mid")
        data = song_record(song, commission).model_dump(mode="json", exclude={"song_id", "created"})
        data["files"] = sorted([*files, "song.json"])
        data["audio"] = {"file": audio.name, "duration_s": round(song.timings_ms["audio_s"] / 1000, 2)}
        (args.out / "song.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        extra = write_elevenlabs(song, commission, args.out, render=args.audio == "elevenlabs") \
            if args.elevenlabs_plan or args.audio == "elevenlabs" else {}
    except KotoneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "measured": song.measured.rounded(), "duration_s": round(song.duration_s, 2),
                      "audio": audio.name, "timings_ms": {k: round(v, 1) for k, v in song.timings_ms.items()},
                      "score": song.score.total if song.score else None, **extra}))
    return 0


def write_elevenlabs(song, commission, out: Path, *, render: bool) -> dict:
    """Write elevenlabs_plan.json (always) and, with ``render``, elevenlabs.mp3 + elevenlabs.json."""
    from kotone.services.elevenlabs import compose_music, resolve_key
    from kotone.services.elevenlabs_plan import composition_plan, plan_duration_ms

    body = composition_plan(song.plan, commission)
    (out / "elevenlabs_plan.json").write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")
    info: dict = {"elevenlabs_plan": "elevenlabs_plan.json", "elevenlabs_plan_ms": plan_duration_ms(body)}
    if render:
        result = compose_music(body, resolve_key())
        (out / "elevenlabs.mp3").write_bytes(result.audio)
        meta = {"model_id": result.model_id, "duration_ms": result.duration_ms, "credits": result.credits,
                "render_s": round(result.seconds, 2), "request_id": result.request_id}
        (out / "elevenlabs.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        info["elevenlabs"] = {"file": "elevenlabs.mp3", **meta}
    return info


if __name__ == "__main__":
    raise SystemExit(main())
