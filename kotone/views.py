"""HTML fragments for the app. Every piece of user or data text is escaped here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from kotone.domain.cards import Card, Catalog
from kotone.domain.commissions import Commission, CommissionBook
from kotone.domain.params import DIMS
from kotone.domain.progress import Progress
from kotone.store.gallery import SongEntry

SLOT_ICONS = {"style": "🎼", "instrument": "🎻", "mood": "🌙", "gimmick": "✨"}
RANK_COLORS = {"S": "#ffcf4a", "A": "#8fe388", "B": "#7cc4ff", "C": "#d0b3ff", "D": "#ff9c9c"}


def e(text: object) -> str:
    return escape(str(text), quote=True)


def stars(n: int) -> str:
    return "★" * n + "☆" * (5 - n)


def board_html(commissions: Sequence[Commission], book: CommissionBook, completed: Iterable[str] = ()) -> str:
    done = set(completed)
    cards = []
    for c in commissions:
        p = book.person(c.townsperson)
        badge = '<span class="k-done">✓ delivered</span>' if c.id in done else ""
        pref = f'<div class="k-pref">“{e(c.preference.note)}”</div>' if c.preference.note else ""
        cards.append(
            f'<div class="k-commission" style="border-left:6px solid {e(p.color)}">'
            f'<div class="k-who"><span class="k-portrait">{e(p.portrait)}</span>'
            f"<b>{e(p.name)}</b> <small>{e(p.personality)}</small></div>"
            f'<div class="k-request">“{e(c.text)}”</div>{pref}'
            f'<div class="k-meta">🪙 {c.reward} · <span title="difficulty">{stars(c.difficulty)}</span> '
            f"· <code>{e(c.id)}</code> {badge}</div></div>"
        )
    return '<div class="k-board">' + "".join(cards) + "</div>"


def commission_label(c: Commission, book: CommissionBook) -> str:
    p = book.person(c.townsperson)
    text = c.text if len(c.text) <= 60 else c.text[:57] + "…"
    return f"{p.portrait} {p.name} — “{text}” (🪙 {c.reward})"


def request_html(commission: Commission | None, book: CommissionBook, custom_text: str | None = None) -> str:
    if commission is None:
        return '<div class="k-request-box">Pick a commission on the <b>Commissions</b> tab first, or compose freely.</div>'
    person = book.people.get(commission.townsperson)
    who = f"{e(person.portrait)} <b>{e(person.name)}</b>" if person else "🧑 <b>You</b>"
    tags = commission.tags
    hints = []
    if tags.required:
        hints.append("wants: " + ", ".join(e(t) for t in tags.required))
    if tags.forbidden:
        hints.append("no: " + ", ".join(e(t) for t in tags.forbidden))
    hint = f'<div class="k-meta">{" · ".join(hints)}</div>' if hints else ""
    return (f'<div class="k-request-box">{who} asks: <i>“{e(custom_text or commission.text)}”</i>'
            f'<div class="k-meta">🪙 {commission.reward} · {stars(commission.difficulty)}</div>{hint}</div>')


def card_choices(catalog: Catalog, slot: str, progress: Progress) -> list[tuple[str, str]]:
    out = []
    owned = set(progress.unlocked)
    for c in sorted(catalog.by_slot(slot), key=lambda c: (c.id not in owned, c.tier, c.price, c.name)):
        label = f"{c.name}" if c.id in owned else f"🔒 {c.name} · {c.price}🪙"
        out.append((label, c.id))
    return out


def card_detail_html(cards: Mapping[str, Card | None], progress: Progress) -> str:
    rows = []
    for slot, card in cards.items():
        if card is None:
            rows.append(f'<div class="k-card k-empty">{SLOT_ICONS[slot]} <i>choose a {slot}</i></div>')
            continue
        lock = "" if card.id in progress.unlocked else f' <span class="k-lock">🔒 {card.price}🪙</span>'
        tags = " ".join(f'<span class="k-tag">{e(t)}</span>' for t in card.tags)
        rows.append(f'<div class="k-card"><div>{SLOT_ICONS[slot]} <b>{e(card.name)}</b>{lock} '
                    f'<small>tier {card.tier}</small></div><div class="k-flavor">{e(card.flavor)}</div>'
                    f"<div>{tags}</div></div>")
    return '<div class="k-cards">' + "".join(rows) + "</div>"


def coins_html(progress: Progress, total_cards: int) -> str:
    return (f'<div class="k-purse">🪙 <b>{progress.coins}</b> coins · 🃏 {len(progress.unlocked)}/{total_cards} cards'
            f" · 🎵 {len(progress.history)} songs</div>")


def _bar(label: str, value: float, color: str, extra: str = "") -> str:
    v = max(0.0, min(100.0, float(value)))
    return (f'<div class="k-bar"><span class="k-bar-label">{e(label)}</span>'
            f'<span class="k-bar-track"><span class="k-bar-fill" style="width:{v:.0f}%;background:{color}"></span>'
            f"{extra}</span><span class='k-bar-val'>{v:.0f}</span></div>")


def score_html(record: Mapping[str, Any]) -> str:
    score = record.get("score")
    measured = record.get("measured") or {}
    if not score:
        dims = "".join(_bar(d, measured.get(d, 0), "#7cc4ff") for d in DIMS)
        return f'<div class="k-score"><h3>What the music measured</h3>{dims}</div>'
    rank = str(score.get("rank", "?"))
    head = (f'<div class="k-rank" style="background:{RANK_COLORS.get(rank, "#ccc")}">{e(rank)}</div>'
            f'<div class="k-total">{float(score["total"]):.0f}<small>/100</small></div>')
    parts = "".join([
        _bar("match", score["vector"], "#7cc4ff"), _bar("tags", score["tags"], "#8fe388"),
        _bar("taste", score["preference"], "#ffcf4a"),
    ])
    syn = (f'<div class="k-meta">synergy +{score["synergy"]:.0f} · clashes −{score["anti_synergy"]:.0f}</div>')
    target = score.get("target", {})
    dims = "".join(
        _bar(d, measured.get(d, 0), "#d0b3ff",
             f'<span class="k-target" style="left:{float(target.get(d, 0)):.0f}%" title="what the client wanted"></span>')
        for d in DIMS
    )
    coaching = "".join(
        f'<li class="k-{e(c["verdict"])}">{SLOT_ICONS.get(c["slot"], "")} {e(c["message"])}</li>'
        for c in score.get("coaching", [])
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in score.get("notes", []))
    return (f'<div class="k-score"><div class="k-score-head">{head}</div>{parts}{syn}'
            f'<h4>The song vs. the wish <small>(▮ = what the client wanted)</small></h4>{dims}'
            f'<h4>Coaching</h4><ul class="k-coach">{coaching}</ul>'
            + (f'<ul class="k-notes">{notes}</ul>' if notes else "") + "</div>")


def song_header_html(record: Mapping[str, Any]) -> str:
    plan = record.get("plan", {})
    client = record.get("client") or {}
    who = f"{e(client.get('portrait', ''))} {e(client.get('name', ''))}" if client else "A free composition"
    req = record.get("request")
    cards = " · ".join(f"{SLOT_ICONS.get(s, '')} {e(n)}" for s, n in (record.get("card_names") or {}).items())
    parent = record.get("parent")
    version = (f' <a href="?song={e(parent)}" target="_blank" class="k-meta">(refined from the earlier version)</a>'
               if parent else "")
    return (f'<div class="k-song-head"><h2>{e(record.get("title", "Untitled"))}{version}</h2>'
            f'<div class="k-meta">{e(plan.get("key_name", ""))} · {float(plan.get("tempo_bpm", 0)):.0f} bpm · '
            f'{e(plan.get("meter", ""))} · {float(record.get("duration_s", 0)):.0f} s</div>'
            f"<div>{cards}</div>"
            + (f'<div class="k-request">{who}: “{e(req)}”</div>' if req else f"<div>{who}</div>") + "</div>")


def traces_html(record: Mapping[str, Any]) -> str:
    traces = (record.get("plan") or {}).get("traces", [])
    if not traces:
        return "<p>No decisions were recorded for this song.</p>"
    items = []
    for t in traces:
        where = " / ".join(e(x) for x in (t.get("section_id"), t.get("track")) if x)
        because = "; ".join(
            f"{e(f['factor'])} = {e(f['value'])}" + (f" ({e(f['implication'])})" if f.get("implication") else "")
            for f in t.get("because", [])
        )
        principle = f'<div class="k-principle">{e(t["principle"])}</div>' if t.get("principle") else ""
        alts = (f'<div class="k-meta">considered: {"; ".join(e(a) for a in t["alternatives"])}</div>'
                if t.get("alternatives") else "")
        items.append(f'<li><b>{e(t["decision"])}</b> <small>{where}</small><div>because {because}</div>'
                     f"{principle}{alts}</li>")
    return '<ul class="k-traces">' + "".join(items) + "</ul>"


def gallery_html(entries: Sequence[SongEntry], catalog: Catalog, thumb_url: Any = None) -> str:
    if not entries:
        return "<p>No songs yet. Compose one!</p>"
    rows = []
    for s in entries:
        rank = f'<span class="k-rank-small" style="background:{RANK_COLORS.get(s.rank or "", "#ddd")}">{e(s.rank)}</span>' if s.rank else ""
        score = f"{s.score:.0f}" if s.score is not None else "—"
        names = " · ".join(e(catalog.get(cid).name) for cid in s.cards.values() if cid in catalog)
        rows.append(f'<a class="k-gallery-item" href="?song={e(s.song_id)}" target="_blank">'
                    + (f'<img src="{e(thumb_url(s.song_id))}" alt="" loading="lazy"/>' if thumb_url else "")
                    +
                    f'<div>{rank} <b>{e(s.title)}</b> <small>{score}</small></div><div class="k-meta">{names}</div></a>')
    return '<div class="k-gallery">' + "".join(rows) + "</div>"


CSS = """
.k-board{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
.k-commission{background:var(--block-background-fill);border-radius:12px;padding:12px 14px;box-shadow:0 1px 3px #0002}
.k-who{margin-bottom:6px}.k-portrait{font-size:1.6em;margin-right:6px}
.k-request{font-style:italic;margin:6px 0;line-height:1.4}.k-pref{font-size:.9em;opacity:.8}
.k-meta{font-size:.85em;opacity:.75;margin-top:4px}.k-done{color:#3a9d4f;font-weight:600}
.k-request-box{padding:12px;border-radius:12px;background:var(--block-background-fill);border:1px dashed var(--border-color-primary)}
.k-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:8px}
.k-card{padding:10px;border-radius:10px;background:var(--block-background-fill);border:1px solid var(--border-color-primary)}
.k-flavor{font-size:.9em;opacity:.85;margin:4px 0}.k-tag{display:inline-block;font-size:.75em;padding:1px 7px;margin:2px;border-radius:9px;background:var(--background-fill-secondary)}
.k-lock{color:#c77d00}.k-purse{font-size:1.1em;padding:6px 0}
.k-score-head{display:flex;align-items:center;gap:14px;margin-bottom:8px}
.k-rank{font-size:2.2em;font-weight:800;width:64px;height:64px;border-radius:14px;display:flex;align-items:center;justify-content:center;color:#222}
.k-total{font-size:2em;font-weight:700}.k-total small{font-size:.5em;opacity:.6}
.k-bar{display:flex;align-items:center;gap:8px;margin:3px 0}.k-bar-label{width:100px;font-size:.9em}
.k-bar-track{position:relative;flex:1;height:12px;border-radius:6px;background:var(--background-fill-secondary);overflow:visible}
.k-bar-fill{position:absolute;left:0;top:0;bottom:0;border-radius:6px}
.k-target{position:absolute;top:-3px;width:4px;height:18px;background:#222;border-radius:2px;margin-left:-2px}
.k-bar-val{width:30px;text-align:right;font-size:.85em}
.k-coach li{margin:4px 0}.k-coach .k-good{color:#3a9d4f}.k-coach .k-off{color:#b55d00}
.k-traces li{margin:6px 0}.k-principle{font-size:.85em;opacity:.8;font-style:italic}
.k-gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:10px}
.k-gallery-item{display:block;padding:8px;border-radius:10px;background:var(--block-background-fill);text-decoration:none;color:inherit;border:1px solid var(--border-color-primary)}
.k-gallery-item img{width:100%;border-radius:6px}
.k-rank-small{display:inline-block;padding:0 6px;border-radius:5px;font-weight:700;color:#222}
.k-song-head h2{margin:0 0 4px 0}
#k-title{text-align:center}#k-title h1{margin-bottom:0}
"""
