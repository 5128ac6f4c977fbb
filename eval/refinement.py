"""How reliably refinement commands do what the words ask, over random songs.

    python -m eval.refinement [--n 30] [--seed 7]

For each song and command: are the sections the command does not name note-identical
(isolation), does the named dimension, measured on each targeted section alone, move the
asked way (direction), and does it move the asked way measured over the whole song (one
count per song; a song that did not move counts as not moved)? All six qualities, both ways.
Writes eval/results/refinement.json.
"""

from __future__ import annotations

import argparse
import json

from eval.controllability import RESULTS, random_choices
from kotone.domain.errors import InvalidInputError
from kotone.pipeline import compose, refine_song

COMMANDS = [
    ("make it sadder", None, "brightness", -1),
    ("happier please", None, "brightness", +1),
    ("more intense in the chorus", {"chorus"}, "energy", +1),
    ("calmer ending", {"outro"}, "energy", -1),
    ("more driving in the verse", {"verse"}, "energy", +1),
    ("sadder chorus", {"chorus"}, "brightness", -1),
    ("more energetic", None, "energy", +1),
    ("calmer", None, "energy", -1),
    ("warmer", None, "warmth", +1),
    ("colder", None, "warmth", -1),
    ("more acoustic", None, "acousticness", +1),
    ("less acoustic", None, "acousticness", -1),
    ("richer", None, "complexity", +1),
    ("simpler", None, "complexity", -1),
    ("more nostalgic", None, "nostalgia", +1),
    ("more modern", None, "nostalgia", -1),
    ("warmer verse", {"verse"}, "warmth", +1),
    ("richer chorus", {"chorus"}, "complexity", +1),
    ("more nostalgic chorus", {"chorus"}, "nostalgia", +1),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    rows = {c[0]: {"right_way": 0, "targeted": 0, "kept": 0, "untargeted": 0, "song_right_way": 0, "songs": 0}
            for c in COMMANDS}
    for k, choice in enumerate(random_choices(args.n, args.seed)):
        song = compose(choice, k)
        for cmd, targets, dim, sign in COMMANDS:
            try:
                _, diff = refine_song(song, cmd)
            except InvalidInputError:  # e.g. a song without a chorus
                continue
            kinds = targets or {s.section_type for s in song.plan.sections}
            r = rows[cmd]
            a, b = diff["measured"][dim]
            r["song_right_way"] += (b - a) * sign > 0
            r["songs"] += 1
            for d, sec in zip(diff["sections"], song.plan.sections, strict=True):
                if sec.section_type in kinds:
                    if d["measured"] is not None:  # a targeted section that came out unchanged did not move
                        a, b = d["measured"][dim]
                        r["right_way"] += (b - a) * sign > 0
                    r["targeted"] += 1
                else:
                    r["kept"] += not d["changed"]
                    r["untargeted"] += 1
    print(f"refinement commands over {args.n} random songs (seed {args.seed})")
    print(f"{'command':<30}{'dim':<16}{'sections right way':>19}{'songs right way':>16}{'others kept':>14}")
    for cmd, _, dim, sign in COMMANDS:
        r = rows[cmd]
        way = f"{r['right_way']}/{r['targeted']}"
        kept = f"{r['kept']}/{r['untargeted']}" if r["untargeted"] else "-"
        song_way = f"{r['song_right_way']}/{r['songs']}"
        print(f"{cmd:<30}{dim + (' ↓' if sign < 0 else ' ↑'):<16}{way:>19}{song_way:>16}{kept:>14}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "refinement.json").write_text(json.dumps({"n": args.n, "seed": args.seed, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
