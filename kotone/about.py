"""The About / Models page: which model does what here, with the measured numbers.

Reads the result files that the eval scripts write (eval/results/) and the experts'
selection (space_assets/experts/selection.json); a missing file is simply not shown.
"""

from __future__ import annotations

import json
from pathlib import Path

from kotone.assets import ASSETS_DIR

ROOT = ASSETS_DIR.parent
RESULTS = ROOT / "eval" / "results"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def about_markdown() -> str:
    """All sections as one Markdown page (titles as ## headings)."""
    return "\n\n".join(f"## {title}\n\n{text}" for title, text in about_sections())


def about_sections() -> list[tuple[str, str]]:
    """(title, Markdown) per section; the app shows each collapsed, tables scrollable."""
    sections = [("How the atelier works",
                 "Your four cards are blended into six hidden numbers, planned into sections with chords, "
                 "motifs and an energy arc, generated part by part (drums → bass → harmony → melody), "
                 "humanized, rendered, and then **measured from the MIDI file itself** before being judged "
                 "against the client's hidden wish.")]
    sel = _read(ASSETS_DIR / "experts" / "selection.json")
    if sel:
        data = json.loads(sel)
        rows = ["| role | generator used | why |", "|---|---|---|"]
        for role, name in data.get("default", {}).items():
            why = data.get("reasons", {}).get(role, "")
            rows.append(f"| {role} | {name} | {why} |")
        sections.append(("Neural MIDI experts", "Small GRU experts trained here on music21's corpus, used only "
                         "where their report card beats the rule-based generator (`python -m eval.experts`).\n\n"
                         + "\n".join(rows)))
    for title, name in (("Interpreter (request → six numbers)", "interpreter.md"),
                        ("Music report card vs. real corpora", "music.md")):
        text = _read(RESULTS / name)
        if text:
            sections.append((title, text))
    ctrl = _read(RESULTS / "controllability.json")
    if ctrl:
        c = json.loads(ctrl)
        rows = ["| dimension | Spearman (cards → measured) | MAE |", "|---|---:|---:|"]
        for d, rho in c["spearman"].items():
            rows.append(f"| {d} | {rho:.3f} | {c['mae_intent_vs_measured'][d]:.1f} |")
        sections.append(("Do the cards become the song?",
                         f"Over {c['n']} random card combinations (`python -m eval.controllability`); "
                         f"harmony check pass rate {100 * c['harmony_pass_rate']:.0f}%.\n\n" + "\n".join(rows)))
    return sections
