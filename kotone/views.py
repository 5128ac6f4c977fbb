"""HTML fragments for the board, the cards, the purse and the gallery. Every piece of user or
data text is escaped here; the song's own views (roll, score, why) are in ``song_views``.

Clickable pieces carry ``data-take`` / ``data-pick`` / ``data-buy`` attributes; the page's
script (``kotone/web/kotone.js``) turns a click on them into an event for the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path

from kotone.domain.cards import SLOTS, Card, Catalog
from kotone.domain.commissions import Commission, CommissionBook
from kotone.domain.params import DIMS
from kotone.domain.progress import Progress
from kotone.store.gallery import SongEntry

WEB_DIR = Path(__file__).resolve().parent / "web"
SLOT_ICONS = {"style": "🎼", "instrument": "🎻", "mood": "🌙", "gimmick": "✨"}
SLOT_NAMES = {"style": "style", "instrument": "instrument", "mood": "mood", "gimmick": "gimmick"}
RANK_COLORS = {"S": "#ffcf4a", "A": "#8fe388", "B": "#7cc4ff", "C": "#d0b3ff", "D": "#ff9c9c"}
DIM_LABELS = {"energy": "energy", "warmth": "warmth", "brightness": "brightness", "acousticness": "acoustic",
              "complexity": "richness", "nostalgia": "nostalgia"}
DIM_COLORS = {"energy": "#ef7b45", "warmth": "#e8a46b", "brightness": "#f2c14e", "acousticness": "#7fb069",
              "complexity": "#7b8cde", "nostalgia": "#b06d8e"}
HOW_TO = "① Take a request → ② choose four cards → ③ Compose, listen and refine. Better scores earn coins for new cards."


def e(text: object) -> str:
    return escape(str(text), quote=True)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def stars(n: int) -> str:
    return "★" * n + "☆" * (5 - n)


def message_html(text: str, kind: str = "error") -> str:
    """The one in-place message next to what caused it (``kind``: error, info, ok)."""
    icon = {"error": "⚠️", "info": "ℹ️", "ok": "✅"}.get(kind, "")
    text = text[:1].upper() + text[1:]
    return f'<div class="k-msg k-msg-{e(kind)}" role="status">{icon} {e(text)}</div>'


def header_html(progress: Progress, total_cards: int) -> str:
    return ('<div id="k-title"><h1>🎼 Atelier Kotone</h1>'
            f'<p class="k-howto">{e(HOW_TO)}</p>{purse_html(progress, total_cards)}</div>')


def purse_html(progress: Progress, total_cards: int) -> str:
    return (f'<div class="k-purse"><span title="coins">🪙 <b>{progress.coins}</b> coins</span>'
            f'<span title="cards you own">🃏 {len(progress.unlocked)}/{total_cards} cards</span>'
            f'<span title="songs you made">🎵 {plural(len(progress.history), "song")}</span></div>')


# ---- the board ------------------------------------------------------------------------

def board_html(commissions: Sequence[Commission], book: CommissionBook, progress: Progress) -> str:
    cards = [_commission_card(c, book, progress) for c in commissions]
    return '<div class="k-board">' + "".join(cards) + "</div>"


def _commission_card(c: Commission, book: CommissionBook, progress: Progress) -> str:
    p = book.people.get(c.townsperson)
    portrait, name, personality, color = ((p.portrait, p.name, p.personality, p.color) if p
                                          else ("🧑", "You", "", "#888888"))
    best = progress.best.get(c.id)
    badge = (f'<span class="k-done">✓ delivered · best {best:.0f}</span>' if c.id in progress.completed
             else f'<span class="k-tried">tried · best {best:.0f}</span>' if best is not None else "")
    pref = f'<div class="k-pref">“{e(c.preference.note)}”</div>' if c.preference.note else ""
    wants = _tag_hints(c)
    return (f'<button type="button" class="k-commission" data-take="{e(c.id)}" style="border-left-color:{e(color)}"'
            f' aria-label="Take {e(name)}’s request">'
            f'<div class="k-who"><span class="k-portrait">{e(portrait)}</span><b>{e(name)}</b>'
            f'<small>{e(personality)}</small></div>'
            f'<div class="k-request">“{e(c.text)}”</div>{pref}{wants}'
            f'<div class="k-meta">🪙 {c.reward} · <span title="difficulty">{stars(c.difficulty)}</span> {badge}</div>'
            '<span class="k-take">Take this request ➜</span></button>')


def _tag_hints(c: Commission) -> str:
    hints = []
    if c.tags.required:
        hints.append("wants " + ", ".join(f"“{e(t)}”" for t in c.tags.required))
    if c.tags.forbidden:
        hints.append("no " + ", ".join(f"“{e(t)}”" for t in c.tags.forbidden))
    return f'<div class="k-meta">{" · ".join(hints)}</div>' if hints else ""


def request_html(commission: Commission | None, book: CommissionBook, progress: Progress | None = None) -> str:
    if commission is None:
        return ('<div class="k-request-box k-empty-request">No request taken yet — pick one on the '
                '<b>Requests</b> tab, or compose freely (a free song is not scored).</div>')
    person = book.people.get(commission.townsperson)
    who = f"{e(person.portrait)} <b>{e(person.name)}</b>" if person else "🧑 <b>Your own request</b>"
    best = progress.best.get(commission.id) if progress else None
    mine = f" · your best so far: {best:.0f}" if best is not None else ""
    return (f'<div class="k-request-box">{who}: <i>“{e(commission.text)}”</i>{_tag_hints(commission)}'
            f'<div class="k-meta">🪙 up to {commission.reward} · {stars(commission.difficulty)}{e(mine)}</div></div>')


# ---- the cards ------------------------------------------------------------------------

def hand_html(choice: Mapping[str, str | None], catalog: Catalog) -> str:
    chips = []
    for slot in SLOTS:
        cid = choice.get(slot)
        if cid and cid in catalog:
            chips.append(f'<span class="k-chip k-chip-on" data-slot="{slot}">{SLOT_ICONS[slot]} '
                         f'{e(catalog.get(cid).name)}</span>')
        else:
            article = "an" if SLOT_NAMES[slot][0] in "aeiou" else "a"
            chips.append(f'<span class="k-chip k-chip-off" data-slot="{slot}">{SLOT_ICONS[slot]} '
                         f'<i>choose {article} {SLOT_NAMES[slot]}</i></span>')
    return '<div class="k-hand" aria-label="your four cards">' + "".join(chips) + "</div>"


def profile_bars(card: Card) -> str:
    """Six small bars: what the card brings to each quality (0-100)."""
    bars = []
    for d in DIMS:
        v = float(getattr(card.profile, d))
        bars.append(f'<span class="k-mini" title="{e(DIM_LABELS[d])} {v:.0f}/100">'
                    f'<span class="k-mini-fill" style="height:{v:.0f}%;background:{DIM_COLORS[d]}"></span>'
                    f'<span class="k-mini-label">{e(DIM_LABELS[d][:4])}</span></span>')
    return '<span class="k-minis">' + "".join(bars) + "</span>"


def tiles_html(catalog: Catalog, slot: str, progress: Progress, selected: str | None) -> str:
    """The cards of one slot: owned first (click to choose), then the shop (inline Buy)."""
    owned = set(progress.unlocked)
    cards = sorted(catalog.by_slot(slot), key=lambda c: (c.id not in owned, c.tier, c.price, c.name))
    mine = [_tile(c, selected == c.id) for c in cards if c.id in owned]
    shop = [_locked_tile(c, progress.coins) for c in cards if c.id not in owned]
    key = " ".join(f'<span class="k-key"><i style="background:{DIM_COLORS[d]}"></i>{e(DIM_LABELS[d])}</span>'
                   for d in DIMS)
    out = (f'<p class="k-bars-key">What each card brings (0–100): {key}</p>'
           f'<div class="k-tiles" data-slot="{slot}">' + "".join(mine) + "</div>")
    if shop:
        out += (f'<h4 class="k-shop-head">🛒 In the shop · you have 🪙 {progress.coins}</h4>'
                f'<div class="k-tiles k-shop" data-slot="{slot}">' + "".join(shop) + "</div>")
    return out


def _tile(card: Card, selected: bool) -> str:
    tags = " ".join(f'<span class="k-tag">{e(t)}</span>' for t in card.tags[:4])
    mark = '<span class="k-sel-mark">✓ chosen</span>' if selected else ""
    return (f'<button type="button" class="k-tile{" k-sel" if selected else ""}" data-pick="{e(card.id)}" '
            f'aria-pressed="{"true" if selected else "false"}"><span class="k-tile-name">{e(card.name)}{mark}</span>'
            f'<span class="k-flavor">{e(card.flavor)}</span>{profile_bars(card)}<span class="k-tags">{tags}</span>'
            "</button>")


def _locked_tile(card: Card, coins: int) -> str:
    afford = coins >= card.price
    buy = (f'<button type="button" class="k-buy" data-buy="{e(card.id)}"'
           f'{"" if afford else " data-short=1"}>Buy · 🪙 {card.price}</button>')
    return (f'<div class="k-tile k-locked" data-locked="{e(card.id)}" role="group" aria-label="{e(card.name)}, locked">'
            f'<span class="k-tile-name">🔒 {e(card.name)}</span><span class="k-flavor">{e(card.flavor)}</span>'
            f"{profile_bars(card)}{buy}</div>")


# ---- the gallery ----------------------------------------------------------------------

def gallery_html(entries: Sequence[SongEntry], catalog: Catalog, thumb_url: Callable[[str], str] | None) -> str:
    if not entries:
        return '<p class="k-empty">No songs yet. Compose one!</p>'
    rows = []
    for s in entries:
        color = RANK_COLORS.get(s.rank or "", "#ddd")
        rank = f'<span class="k-rank-small" style="background:{color}">{e(s.rank)}</span>' if s.rank else ""
        score = f"{s.score:.0f}" if s.score is not None else "free"
        names = " · ".join(e(catalog.get(cid).name) for cid in s.cards.values() if cid in catalog)
        img = ""
        if thumb_url:
            url = thumb_url(s.song_id)
            img = f'<img src="{e(url)}" alt="" loading="lazy"/>' if url else ""
        rows.append(f'<a class="k-gallery-item" href="?song={e(s.song_id)}">{img}'
                    f'<div>{rank} <b>{e(s.title)}</b> <small>{e(score)}</small></div>'
                    f'<div class="k-meta">{names}</div></a>')
    return f'<p class="k-meta">{plural(len(entries), "song")}, newest first</p><div class="k-gallery">' + "".join(
        rows) + "</div>"


def web_asset(name: str) -> str:
    return (WEB_DIR / name).read_text(encoding="utf-8")


# Outside Gradio's scoped custom CSS: the page container must not clip with 'hidden', or it
# becomes the scroller of the phone's sticky Compose bar and the bar scrolls away.
HEAD_STYLE = "@media (max-width:640px){.gradio-container{overflow:clip!important}}"


def page_head() -> str:
    """What goes into the page's <head>: the page's own script and the unscoped style."""
    return f"<style>{HEAD_STYLE}</style>\n<script>\n{web_asset('kotone.js')}\n</script>"


CSS_FILE = "kotone.css"
