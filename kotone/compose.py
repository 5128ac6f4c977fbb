"""CLI: python -m kotone.compose --cards style=ID,instrument=ID,mood=ID,gimmick=ID --seed N --out DIR

Writes song.mid, song.ogg (or song.wav), song.json (plan, measured six dims, timings) and
roll.png into DIR.
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
    ap.add_argument("--wav", action="store_true", help="write song.wav instead of song.ogg")
    args = ap.parse_args(argv)
    from kotone.assets import load_book
    from kotone.pipeline import compose, write_song_files
    from kotone.render.audio import render_audio
    from kotone.studio import AUDIO_MAX_S

    try:
        choice = parse_cards(args.cards)
        commission = load_book().get(args.commission) if args.commission else None
        song = compose(choice, args.seed, commission)
        args.out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        audio = render_audio(song.midi, args.out, fx=song.plan.audio_fx, fmt="wav" if args.wav else "auto",
                             max_seconds=AUDIO_MAX_S)
        song.timings_ms["render"] = (time.perf_counter() - t0) * 1000
        from kotone.render.roll import render_song_roll

        render_song_roll(song, args.out)
        song.timings_ms["total"] = sum(song.timings_ms[k] for k in ("plan", "generate", "measure", "render"))
        files = write_song_files(song, args.out)
        data = json.loads(files["json"].read_text(encoding="utf-8"))
        data["audio"] = {"file": audio.path.name, "duration_s": round(audio.duration_s, 2), "backend": audio.backend}
        files["json"].write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    except KotoneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "measured": song.measured.rounded(), "duration_s": round(song.duration_s, 2),
                      "audio": audio.path.name, "timings_ms": {k: round(v, 1) for k, v in song.timings_ms.items()},
                      "score": song.score.total if song.score else None}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
