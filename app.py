"""Atelier Kotone — the Gradio app. Layout and thin handlers only; the game lives in kotone/.

Run: python app.py  (serves on $PORT or 7860). Named API endpoints: commissions, compose, song.
"""

from __future__ import annotations

import os
import random
from typing import Any

import gradio as gr

from kotone import views
from kotone.about import about_markdown
from kotone.assets import load_book, load_catalog
from kotone.domain.cards import SLOTS
from kotone.domain.commissions import Commission
from kotone.domain.errors import InvalidInputError, KotoneError
from kotone.domain.progress import buy, check_unlocked, load_progress, new_progress, reward
from kotone.pipeline import check_seed
from kotone.store.gallery import Gallery, check_song_id
from kotone.store.hub_sync import HubMirror
from kotone.studio import compose_and_save, custom_commission, generated_commission, refine_and_save
from kotone.web.edge import costly_edge, edge
from kotone.web.guard import media_url
from kotone.web.limits import RateLimiter, ServerLimits
from kotone.web.server import prepare
from kotone.web.workers import ComposePool, without_song

CATALOG = load_catalog()
BOOK = load_book()
GALLERY = Gallery()
_MIRROR = HubMirror.from_env()
if _MIRROR is not None:  # a Space restarts with an empty disk: bring the mirrored songs back
    _MIRROR.restore(GALLERY.root)
    GALLERY.rebuild_index()
BOARD_SIZE = 6
STUDIO_TAB, COMPOSE_TAB = "studio", "compose"
LIMITS = ServerLimits.from_env()
# compose, refine and reading a request: rate-limited per visitor, refused early when the gallery is full
costly = costly_edge(RateLimiter(LIMITS.compose_per_minute, LIMITS.compose_burst), GALLERY.check_capacity)
POOL = ComposePool.from_env(LIMITS.workers)  # songs are composed in worker processes, one per core
compose_and_save = POOL.wrap(compose_and_save, slim=without_song)
refine_and_save = POOL.wrap(refine_and_save, slim=without_song)


def thumb_url(song_id: str) -> str:
    return media_url(song_id, "thumb.png")


def find_commission(commission_id: str | None, extra: dict | None) -> Commission | None:
    """A curated commission, or one generated/written in this browser session (``extra``)."""
    if not commission_id:
        return None
    if extra and commission_id in extra:
        return Commission.model_validate(extra[commission_id])
    return BOOK.get(commission_id)


def board(progress_raw: Any, board_seed: int, extra: dict | None) -> tuple[str, Any, dict]:
    """Five curated commissions and one freshly generated (labelled by the interpreter)."""
    progress = load_progress(progress_raw, CATALOG)
    rng = random.Random(board_seed)
    pool = sorted(BOOK.commissions.values(), key=lambda c: c.id)
    fresh = [c for c in pool if c.id not in progress.completed] or pool
    picks = rng.sample(fresh, min(BOARD_SIZE - 1, len(fresh)))
    generated = generated_commission(rng, BOOK)
    picks.append(generated)
    extra = {k: v for k, v in (extra or {}).items() if k.startswith("custom-")}
    extra[generated.id] = generated.model_dump(mode="json")
    choices = [(views.commission_label(c, BOOK), c.id) for c in picks]
    return views.board_html(picks, BOOK, progress.completed), gr.update(choices=choices, value=None), extra


def card_updates(progress_raw: Any) -> list[Any]:
    progress = load_progress(progress_raw, CATALOG)
    radios = [gr.update(choices=views.card_choices(CATALOG, s, progress)) for s in SLOTS]
    locked = [(f"{c.name} ({c.slot}, tier {c.tier}) · {c.price}🪙", c.id)
              for c in sorted(CATALOG, key=lambda c: (c.tier, c.price)) if c.id not in progress.unlocked]
    return [*radios, gr.update(choices=locked, value=None), views.coins_html(progress, len(CATALOG))]


def studio_view(record: dict) -> list[Any]:
    song_id = record["song_id"]
    audio = GALLERY.audio_file(song_id)
    return [
        views.song_header_html(record),
        str(GALLERY.file(song_id, "roll.png")),
        str(audio) if audio else None,
        views.score_html(record),
        str(GALLERY.file(song_id, "song.mid")),
        f"?song={song_id}",
        views.traces_html(record),
        song_id,
    ]


# ---- named API endpoints -------------------------------------------------------------

@edge
def api_commissions() -> list[dict]:
    """All commissions on the board: id, client, request text, reward, difficulty, tag hints."""
    out = []
    for c in BOOK.commissions.values():
        p = BOOK.person(c.townsperson)
        out.append({"id": c.id, "client": p.name, "portrait": p.portrait, "text": c.text, "reward": c.reward,
                    "difficulty": c.difficulty, "wants": c.tags.required, "avoid": c.tags.forbidden})
    return out


@costly
def api_compose(commission_id: str, style: str, instrument: str, mood: str, gimmick: str, seed: float) -> dict:
    """Compose a song for a commission (or '' for none) with four card ids and a seed (a whole
    number); returns the saved song. Its score (with the commission's target and the coaching)
    is for the composer; the share id opens the song for anyone through `song`."""
    if seed is None:
        raise InvalidInputError("seed is required: a whole number, e.g. 7")
    commission = BOOK.get(commission_id) if commission_id else None
    choice = {"style": style, "instrument": instrument, "mood": mood, "gimmick": gimmick}
    done = compose_and_save(choice, check_seed(seed), commission, GALLERY)
    record = {**done.record, "created": done.entry.created}
    return {**public_record(record, for_composer=True), "share": f"?song={done.entry.song_id}"}


@edge
def api_song(song_id: str) -> dict:
    """Load a saved song by its share id (without the commission's hidden target)."""
    return public_record(GALLERY.load(check_song_id(song_id)), for_composer=False)


def public_record(record: dict, *, for_composer: bool) -> dict:
    """What the API shows of a song record. Never the commission itself; the hidden target (in
    ``score.target`` and quoted by the coaching) only to the visitor who just composed it."""
    keep = ("song_id", "title", "cards", "card_names", "seed", "commission_id", "request", "client", "measured",
            "duration_s", "score", "instruments", "timings_ms", "created", "parent")
    out = {k: record.get(k) for k in keep}
    if not for_composer and isinstance(out["score"], dict):
        out["score"] = {k: v for k, v in out["score"].items() if k not in ("target", "coaching")}
    plan = record.get("plan", {})
    out["plan"] = {k: plan.get(k) for k in ("tempo_bpm", "key_name", "meter", "scale", "groove", "effects")}
    out["plan"]["sections"] = [s["section_type"] for s in plan.get("sections", [])]
    return out


# ---- UI handlers (not part of the public API) ----------------------------------------

@edge
def ui_load(progress_raw: Any, request: gr.Request) -> list[Any]:
    progress = load_progress(progress_raw, CATALOG) if progress_raw else new_progress(CATALOG)
    board_html, pick, extra = board(progress.model_dump(), random.randrange(1 << 30), {})
    studio: list[Any] = [gr.update()] * 8
    tab = gr.update()
    song_id = (request.query_params.get("song") if request else None) or ""
    if song_id:
        try:
            studio = studio_view(GALLERY.load(check_song_id(song_id)))
            tab = gr.update(selected=STUDIO_TAB)
        except KotoneError as exc:
            gr.Warning(f"That song link does not open: {exc}")
    gallery = views.gallery_html(GALLERY.entries(), CATALOG, thumb_url)
    return [progress.model_dump(), extra, board_html, pick, *card_updates(progress.model_dump()), gallery, *studio,
            tab]


@edge
def ui_new_board(progress_raw: Any, extra: dict | None) -> list[Any]:
    return list(board(progress_raw, random.randrange(1 << 30), extra))


@edge
def ui_take(commission_id: str | None, extra: dict | None) -> list[Any]:
    commission = find_commission(commission_id, extra)
    if commission is None:
        raise InvalidInputError("pick a commission from the list first")
    return [commission.id, views.request_html(commission, BOOK), gr.update(selected=COMPOSE_TAB)]


@costly
def ui_custom(text: str, extra: dict | None) -> list[Any]:
    commission = custom_commission(text)
    extra = {**(extra or {}), commission.id: commission.model_dump(mode="json")}
    return [extra, commission.id, views.request_html(commission, BOOK), gr.update(selected=COMPOSE_TAB)]


@edge
def ui_cards_changed(style: str, instrument: str, mood: str, gimmick: str, progress_raw: Any) -> str:
    progress = load_progress(progress_raw, CATALOG)
    chosen = dict(zip(SLOTS, (style, instrument, mood, gimmick), strict=True))
    return views.card_detail_html({s: CATALOG.get(c) if c in CATALOG else None for s, c in chosen.items()}, progress)


@costly
def ui_compose(commission_id: str | None, extra: dict | None, style: str, instrument: str, mood: str,
               gimmick: str, seed: float | None, progress_raw: Any) -> list[Any]:
    progress = load_progress(progress_raw, CATALOG)
    choice = {"style": style, "instrument": instrument, "mood": mood, "gimmick": gimmick}
    check_unlocked(progress, CATALOG.resolve(choice))
    seed_value = check_seed(seed) if seed not in (None, "") else random.randrange(1 << 30)
    commission = find_commission(commission_id, extra)
    done = compose_and_save(choice, seed_value, commission, GALLERY)
    score = done.record.get("score") or {}
    progress, earned, gift = reward(progress, CATALOG, done.entry.song_id, commission.id if commission else None,
                                    float(score.get("total", 0)), str(score.get("rank", "")),
                                    commission.reward if commission else 0, seed_value)
    if commission:
        msg = f"{score.get('rank')} rank — you earned {earned} coins."
        if gift:
            msg += f" The client also gave you the «{gift.name}» card!"
        gr.Info(msg)
    gallery = views.gallery_html(GALLERY.entries(), CATALOG, thumb_url)
    return [progress.model_dump(), *studio_view(done.record), *card_updates(progress.model_dump()), gallery,
            gr.update(selected=STUDIO_TAB)]


@costly
def ui_refine(song_id: str | None, command: str, progress_raw: Any) -> list[Any]:
    if not song_id:
        raise InvalidInputError("compose or open a song first")
    done, diff_md = refine_and_save(check_song_id(song_id), command, GALLERY)
    progress = load_progress(progress_raw, CATALOG)
    progress = progress.model_copy(update={"history": [*progress.history, done.entry.song_id][-200:]})
    gallery = views.gallery_html(GALLERY.entries(), CATALOG, thumb_url)
    return [progress.model_dump(), *studio_view(done.record), diff_md, gallery]


@edge
def ui_buy(card_id: str | None, progress_raw: Any) -> list[Any]:
    if not card_id:
        raise InvalidInputError("choose a card to buy")
    progress = buy(load_progress(progress_raw, CATALOG), CATALOG.get(card_id))
    gr.Info(f"Unlocked «{CATALOG.get(card_id).name}».")
    return [progress.model_dump(), *card_updates(progress.model_dump())]


@edge
def ui_open_song(song_id: str) -> list[Any]:
    return [*studio_view(GALLERY.load(check_song_id(song_id))), gr.update(selected=STUDIO_TAB)]


def ui_gallery() -> str:
    return views.gallery_html(GALLERY.entries(), CATALOG, thumb_url)


def build_app() -> gr.Blocks:
    with gr.Blocks(title="Atelier Kotone") as demo:
        progress = gr.BrowserState(new_progress(CATALOG).model_dump(), storage_key="kotone_progress_v1")
        commission_id = gr.State(None)
        extra = gr.State({})  # commissions generated or written in this session, by id
        song_id = gr.State(None)
        gr.HTML('<div id="k-title"><h1>🎼 Atelier Kotone</h1><p>Townsfolk bring wishes; you bring the Kotone.</p></div>')
        purse = gr.HTML()
        with gr.Tabs() as tabs:
            with gr.Tab("Commissions", id="commissions"):
                board_html = gr.HTML()
                with gr.Row():
                    pick = gr.Radio(label="Take a commission", choices=[], scale=4, elem_id="k-pick")
                    with gr.Column(scale=1, min_width=160):
                        take = gr.Button("Take commission ➜", variant="primary", elem_id="k-take")
                        reshuffle = gr.Button("New requests 🔄")
                with gr.Accordion("…or write your own request", open=False):
                    own_text = gr.Textbox(label="Your request", max_lines=4, max_length=500,
                                          placeholder="music for the first snow, the way grandma hummed…")
                    own_go = gr.Button("Ask the atelier")
            with gr.Tab("Compose", id=COMPOSE_TAB):
                request_box = gr.HTML(views.request_html(None, BOOK))
                radios = []
                with gr.Row():
                    for slot in SLOTS:
                        radios.append(gr.Radio(label=f"{views.SLOT_ICONS[slot]} {slot.title()}", choices=[],
                                               elem_id=f"k-slot-{slot}"))
                details = gr.HTML()
                with gr.Row():
                    seed = gr.Number(label="Seed (empty = surprise me)", value=None, precision=0, minimum=0)
                    compose_btn = gr.Button("🎵 Compose!", variant="primary", elem_id="k-compose", scale=2)
                with gr.Accordion("🛒 Card shop", open=False), gr.Row():
                    shop = gr.Dropdown(label="Locked cards", choices=[], scale=3)
                    buy_btn = gr.Button("Buy", scale=1)
            with gr.Tab("Studio", id=STUDIO_TAB):
                header = gr.HTML("<p>Your finished song appears here.</p>")
                with gr.Row():
                    with gr.Column(scale=3):
                        roll = gr.Image(label="Piano roll", type="filepath", interactive=False, elem_id="k-roll")
                        audio = gr.Audio(label="Listen", type="filepath", interactive=False, elem_id="k-audio")
                        with gr.Row():
                            midi = gr.File(label="Download MIDI", interactive=False)
                            share = gr.Textbox(label="Share link (add to this page's address)", interactive=False,
                                               elem_id="k-share", buttons=["copy"])
                    with gr.Column(scale=2):
                        score = gr.HTML(elem_id="k-score")
                with gr.Row():
                    refine_text = gr.Textbox(label="Refine in words", max_length=200, scale=4, elem_id="k-refine",
                                             placeholder="make it sadder · more intense in the chorus · calmer ending")
                    refine_btn = gr.Button("✏️ Refine", scale=1, elem_id="k-refine-go")
                diff_md = gr.Markdown(elem_id="k-diff")
                with gr.Accordion("🔍 Why does it sound like this?", open=False):
                    why = gr.HTML()
            with gr.Tab("Gallery", id="gallery"):
                gallery = gr.HTML()
                refresh = gr.Button("Refresh")
            with gr.Tab("About / Models", id="about"):
                gr.Markdown(about_markdown())
        studio_outputs = [header, roll, audio, score, midi, share, why, song_id]
        card_outputs = [*radios, shop, purse]

        demo.load(ui_load, [progress], [progress, extra, board_html, pick, *card_outputs, gallery, *studio_outputs,
                                        tabs], api_visibility="private")
        reshuffle.click(ui_new_board, [progress, extra], [board_html, pick, extra], api_visibility="private")
        take.click(ui_take, [pick, extra], [commission_id, request_box, tabs], api_visibility="private")
        own_go.click(ui_custom, [own_text, extra], [extra, commission_id, request_box, tabs], api_visibility="private")
        for r in radios:
            r.change(ui_cards_changed, [*radios, progress], [details], api_visibility="private")
        compose_btn.click(ui_compose, [commission_id, extra, *radios, seed, progress],
                          [progress, *studio_outputs, *card_outputs, gallery, tabs], api_visibility="private")
        refine_btn.click(ui_refine, [song_id, refine_text, progress], [progress, *studio_outputs, diff_md, gallery],
                         api_visibility="private")
        buy_btn.click(ui_buy, [shop, progress], [progress, *card_outputs], api_visibility="private")
        refresh.click(ui_gallery, None, [gallery], api_visibility="private")

        # Named API endpoints (SPEC §6): invisible controls, JSON in and out.
        with gr.Row(visible=False):
            a_cid = gr.Textbox(label="commission id", max_length=100)
            a_song = gr.Textbox(label="song id", max_length=100)
            a_cards = [gr.Textbox(label=f"{slot} card id", max_length=100) for slot in SLOTS]
            a_seed = gr.Number(label="seed", value=0, precision=0)
            a_out = gr.JSON()
            a_btn1, a_btn2, a_btn3 = gr.Button(), gr.Button(), gr.Button()
        a_btn1.click(api_commissions, None, a_out, api_name="commissions")
        a_btn2.click(api_compose, [a_cid, *a_cards, a_seed], a_out, api_name="compose")
        a_btn3.click(api_song, [a_song], a_out, api_name="song")
    return demo


def main() -> None:
    demo = build_app()
    options = prepare(demo, GALLERY, LIMITS)  # recovery, input checks, queue and upload bounds, media route
    POOL.start()
    demo.launch(server_name=os.environ.get("HOST", "0.0.0.0"), server_port=int(os.environ.get("PORT", "7860")),
                theme=gr.themes.Soft(primary_hue="amber"), css=views.CSS, **options)


if __name__ == "__main__":
    main()
