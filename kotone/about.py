"""The About / Models page: which model does what here, with the measured numbers.

Reads the result files that the eval scripts write (eval/results/) and the experts'
selection (space_assets/experts/selection.json); a missing file is simply not shown.
"""

from __future__ import annotations

import contextlib
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


def calibration_png() -> Path | None:
    """The interpreter's calibration plot (eval.interpreter writes it), if there is one."""
    path = RESULTS / "interpreter_calibration.png"
    return path if path.exists() else None


def lm_verdict(result: dict) -> str:
    """One plain sentence: does the lm backend beat rule on the natural frozen set?"""
    rows = {r["mode"]: r for r in result.get("sets", {}).get("natural", {}).get("rows", [])}
    if "lm" not in rows or "rule" not in rows:
        return "The `lm` backend was not measured on the natural frozen set in the latest run."
    lm, rule = rows["lm"]["vector_mae"], rows["rule"]["vector_mae"]
    if lm <= rule - 1.0:
        return (f"On the natural frozen set the `lm` backend beats `rule` by {rule - lm:.1f} points of MAE "
                f"({lm:.1f} vs {rule:.1f}).")
    return (f"**The `lm` backend does not beat `rule` on the natural frozen set** by the 1-point margin we ask "
            f"of it: MAE {lm:.1f} vs {rule:.1f}. Use `embed` (the default).")


INTERPRETER_TITLE = "Interpreter (request → six numbers)"


def interpreter_section() -> tuple[str, str]:
    """(title, Markdown) for the interpreter: its backends, the lm verdict, the eval table."""
    parts = ["Three backends read a request: `rule` (a cue lexicon with negations and contrasts), `embed` "
             "(the default: MiniLM's six layers, int8, through onnxruntime in milliseconds, and a small head -- an "
             "MLP mixed with a ridge map, plus a little of `rule` -- chosen by leave-one-writer-out "
             "cross-validation on our own writers and trained here on their natural requests) and `lm` (SmolLM2-135M reading the request, a regression head on its "
             "hidden states; on a GPU Space a LoRA-tuned Ministral 3B that writes a justification, then JSON). "
             "They are judged on requests written the way people write — long, indirect, sensory — by a writer "
             "whose requests were never trained on, each labelled blind by two independent labellers."]
    raw = _read(RESULTS / "interpreter.json")
    if raw:
        with contextlib.suppress(ValueError, AttributeError):
            parts.append(lm_verdict(json.loads(raw)))
    table = _read(RESULTS / "interpreter.md")
    if table:
        parts.append(table.split("\n", 1)[1] if table.startswith("# ") else table)
    return INTERPRETER_TITLE, "\n\n".join(parts)


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
    sections.append(interpreter_section())
    for title, name in (("Music report card vs. real corpora", "music.md"),):
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
