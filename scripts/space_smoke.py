"""Compose one song through a running app's named API, as a visitor's client would.

    python scripts/space_smoke.py http://127.0.0.1:7890/ DATA_DIR

Used by scripts/space_check.sh against an app booted from a requirements.txt-only
environment. Prints one line per check and a closing 'N passed, N failed' line; exits 1 on
any failure. Needs only what requirements.txt installs (gradio brings gradio_client).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def checks(url: str, data_dir: Path) -> list[tuple[str, bool, str]]:
    from gradio_client import Client

    from kotone.assets import load_catalog
    from kotone.studio_elevenlabs import plan_for_record

    out: list[tuple[str, bool, str]] = []
    client = Client(url, verbose=False)
    board = client.predict(api_name="/commissions")
    out.append(("commissions", isinstance(board, list) and len(board) > 0, f"{len(board)} on the board"))
    catalog = load_catalog()
    starters = {c.slot: c.id for c in sorted(catalog, key=lambda c: c.id) if c.id in catalog.starter_ids()}
    t0 = time.perf_counter()
    song = client.predict(board[0]["id"], starters["style"], starters["instrument"], starters["mood"],
                          starters["gimmick"], 7, api_name="/compose")
    took = time.perf_counter() - t0
    dims = song.get("measured") or {}
    ok = bool(song.get("song_id")) and len(dims) == 6 and float(song.get("duration_s") or 0) >= 20 \
        and (song.get("score") or {}).get("total") is not None
    out.append(("compose", ok, f"{song.get('song_id')} {song.get('duration_s')} s, score "
                f"{(song.get('score') or {}).get('total')}, {took:.1f} s through the API"))
    folder = data_dir / "songs" / str(song.get("song_id"))
    audio = [p for p in folder.glob("song.*") if p.suffix in (".ogg", ".wav", ".mp3") and p.stat().st_size > 1000]
    out.append(("audio", bool(audio), ", ".join(f"{p.name} {p.stat().st_size} B" for p in audio) or "no audio"))
    again = client.predict(song["song_id"], api_name="/song")
    out.append(("share", again.get("song_id") == song["song_id"], f"?song={again.get('song_id')}"))
    record = json.loads((folder / "song.json").read_text(encoding="utf-8"))
    body = plan_for_record(record)  # the ElevenLabs plan builds offline with the installed SDK
    total = sum(s["duration_ms"] for s in body["sections"]) / 1000
    out.append(("elevenlabs plan", abs(total - float(record["duration_s"])) <= 2,
                f"{len(body['sections'])} sections, {total:.2f} s vs {record['duration_s']} s"))
    return out


def main(argv: list[str]) -> int:
    url, data_dir = argv[1], Path(argv[2])
    try:
        results = checks(url, data_dir)
    except Exception as exc:  # a broken app: say what, fail the check
        results = [("api", False, f"{type(exc).__name__}: {str(exc)[:300]}")]
    for name, ok, note in results:
        print(f"[space-check] {'ok  ' if ok else 'FAIL'} {name}: {note}")
    failed = sum(not ok for _, ok, _ in results)
    print(f"space-check: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
