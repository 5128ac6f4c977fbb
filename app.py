"""Atelier Kotone — the Gradio app. Layout and thin handlers only; the game lives in kotone/.

Run: python app.py  (serves on $PORT or 7860). Named API endpoints: commissions, compose, song.

Error policy: a player mistake is validated before any work (``validator=`` for text fields,
a check step followed by ``.success`` for Compose) and shows one message next to its cause;
every other output is left as it was (``gr.skip()``), and the server logs one line. Inputs
of every event are checked before Gradio's own preprocessing (kotone.web.inputs).

Serving (kotone.web): songs are composed in worker processes, costly handlers are rate-limited
per visitor, only songs' media are served (``media/<id>/<file>``), see ``main()``.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import gradio as gr
import spaces  # noqa: F401  (before anything imports torch: on ZeroGPU it sets up CUDA for @spaces.GPU)

from app_elevenlabs import build_elevenlabs_block
from kotone import song_views, views
from kotone.about import INTERPRETER_TITLE, about_sections, calibration_png
from kotone.assets import load_book, load_catalog
from kotone.domain.board import pick_board
from kotone.domain.cards import SLOTS
from kotone.domain.commissions import Commission
from kotone.domain.errors import InvalidInputError, KotoneError, LockedCardError
from kotone.domain.progress import Progress, buy, check_unlocked, load_progress, new_progress, reward
from kotone.domain.refine_words import EXAMPLES, parse_words
from kotone.domain.song import SongRecord, recipe_key
from kotone.interpret.base import check_text
from kotone.pipeline import MAX_SEED, check_seed
from kotone.services.space_runtime import on_space, warm_models
from kotone.store.gallery import Gallery, check_song_id
from kotone.store.hub_sync import start_mirror
from kotone.studio import (
    compose_and_save,
    custom_commission,
    generated_commission,
    load_record,
    refine_and_save,
    song_tracks,
)
from kotone.web.edge import clean_message, edge, limited
from kotone.web.guard import media_route
from kotone.web.limits import RateLimiter, ServerLimits
from kotone.web.server import prepare
from kotone.web.workers import ComposePool, without_song

log = logging.getLogger("kotone.app")
CATALOG = load_catalog()
BOOK = load_book()
GALLERY = Gallery()
_MIRROR = start_mirror(GALLERY)  # a Space restarts with an empty disk: bring the mirrored songs back, keep mirroring
MODELS = warm_models() if on_space() else {}  # load the interpreter now, where @spaces.GPU expects it
STUDIO_TAB, COMPOSE_TAB, BOARD_TAB = "studio", "compose", "board"
EMPTY_CHOICE: dict[str, str | None] = dict.fromkeys(SLOTS)
LIMITS = ServerLimits.from_env()
# compose, refine and reading a request: rate-limited per visitor, refused early when the gallery is full
costly = limited(RateLimiter(LIMITS.compose_per_minute, LIMITS.compose_burst), GALLERY.check_capacity)
POOL = ComposePool.from_env(LIMITS.workers)  # songs are composed in worker processes, one per core
compose_and_save = POOL.wrap(compose_and_save, slim=without_song)
refine_and_save = POOL.wrap(refine_and_save, slim=without_song)


def in_place(n_outputs: int, msg_at: int) -> Callable:
    """UI handlers: a KotoneError shows one message at output ``msg_at`` and leaves the others."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except KotoneError as exc:
                log.warning("player mistake (%s): %s", fn.__name__, clean_message(str(exc)))
                out: list[Any] = [gr.skip()] * n_outputs
                out[msg_at] = views.message_html(str(exc))
                return out

        return wrapper

    return deco


# ---- helpers ---------------------------------------------------------------------------

def media_url(path: Path | None) -> str | None:
    """A URL the page can fetch a song's media file from (relative, so it works under a root
    path; never the server's path: the media route serves songs/<id>/<file>)."""
    return media_route(path.parent.name, path.name) if path else None


def thumb_url(song_id: str) -> str | None:
    try:
        return media_url(GALLERY.file(song_id, "thumb.png"))
    except KotoneError:
        return None


def app_base(request: gr.Request | None) -> str:
    """This app's public address: the Space's page on a Space, else the page the player is on."""
    space = os.environ.get("SPACE_ID")
    if space:
        return f"https://huggingface.co/spaces/{space}"
    headers = request.headers if request is not None else {}
    ref = headers.get("referer") or ""
    if ref.startswith(("http://", "https://")):
        u = urlsplit(ref)
        return urlunsplit((u.scheme, u.netloc, u.path, "", ""))
    host = headers.get("x-forwarded-host") or headers.get("host") or "localhost:7860"
    return f"{headers.get('x-forwarded-proto', 'http')}://{host}/"


def share_link(song_id: str, request: gr.Request | None) -> str:
    return f"{app_base(request)}?song={song_id}"


def slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:60] or "song"


def progress_of(raw: Any) -> Progress:
    return load_progress(raw, CATALOG)


def find_commission(commission_id: str | None, extra: dict | None) -> Commission | None:
    """A curated commission, or one generated/written in this browser session (``extra``)."""
    if not commission_id:
        return None
    if extra and commission_id in extra:
        return Commission.model_validate(extra[commission_id])
    return BOOK.get(commission_id)


def action_value(raw: str | None) -> str:
    """The id a click sent through a hidden action box ('card_id#nonce')."""
    return str(raw or "").split("#", 1)[0].strip()


def board_commissions(board_ids: list[str] | None, extra: dict | None) -> list[Commission]:
    out = []
    for cid in board_ids or []:
        try:
            found = find_commission(cid, extra)
        except KotoneError:
            continue
        if found is not None:
            out.append(found)
    return out


def new_board(progress: Progress, extra: dict | None) -> tuple[list[str], dict]:
    rng = random.Random()
    picks = pick_board(BOOK.commissions.values(), progress.completed, rng)
    generated = generated_commission(rng, BOOK)
    extra = {k: v for k, v in (extra or {}).items() if k.startswith("custom-")}
    extra[generated.id] = generated.model_dump(mode="json")
    return [c.id for c in [*picks, generated]], extra


def tiles(progress: Progress, choice: dict) -> list[str]:
    return [views.tiles_html(CATALOG, s, progress, choice.get(s)) for s in SLOTS]


def song_view(record: SongRecord, progress: Progress | None, request: gr.Request | None,
              payout: str | None = None) -> list[Any]:
    """[roll, score, share, why, song_id] for a saved song."""
    assert record.song_id is not None
    audio = GALLERY.audio_file(record.song_id)
    name = slug(record.title)
    downloads = [("MIDI", media_url(GALLERY.file(record.song_id, "song.mid")), f"{name}.mid")]
    if audio is not None:
        downloads.append(("audio", media_url(audio), f"{name}{audio.suffix}"))
    payload = song_views.roll_payload(record, song_tracks(GALLERY, record))
    roll = song_views.roll_html(record, payload, media_url(audio), downloads)
    return [roll, song_views.score_html(record, CATALOG, progress, payout), share_link(record.song_id, request),
            song_views.why_html(record), record.song_id]


def refine_view(record: SongRecord) -> str:
    before = GALLERY.audio_file(record.parent) if record.parent else None
    after = GALLERY.audio_file(record.song_id) if record.song_id else None
    return song_views.refine_html(record, media_url(before), media_url(after))


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


@edge
@costly
def api_compose(commission_id: str, style: str, instrument: str, mood: str, gimmick: str, seed: float) -> dict:
    """Compose a song for a commission (or '' for none) with four card ids and a seed (a whole
    number); returns the saved song, its score with coaching (score.coaching[]: slot, suggest,
    expected_gain) and a share link. The score (with the commission's target) is for the composer;
    the share id opens the song for anyone through `song`."""
    if seed is None:
        raise InvalidInputError("seed is required: a whole number, e.g. 7")
    commission = BOOK.get(commission_id) if commission_id else None
    choice = {"style": style, "instrument": instrument, "mood": mood, "gimmick": gimmick}
    done = compose_and_save(choice, check_seed(seed), commission, GALLERY)
    return {**public_record(done.record, for_composer=True), "share": f"?song={done.entry.song_id}"}


@edge
def api_song(song_id: str) -> dict:
    """Load a saved song by its share id (without the commission's hidden target)."""
    return public_record(load_record(GALLERY, check_song_id(song_id)), for_composer=False)


def public_record(record: SongRecord, *, for_composer: bool) -> dict:
    """What the API shows of a song record. Never the commission itself; the hidden target (in
    ``score.target`` and quoted by the coaching) only to the visitor who just composed it."""
    keep = ("song_id", "title", "version", "cards", "card_names", "seed", "commission_id", "request", "client",
            "measured", "duration_s", "score", "instruments", "timings_ms", "created", "parent")
    out = record.model_dump(mode="json", include=set(keep))
    if not for_composer and isinstance(out.get("score"), dict):
        out["score"] = {k: v for k, v in out["score"].items() if k not in ("target", "coaching")}
    plan = record.plan
    out["plan"] = {k: plan.get(k) for k in ("tempo_bpm", "key_name", "meter", "scale", "groove", "effects")}
    out["plan"]["sections"] = [s["section_type"] for s in plan.get("sections", [])]
    return out


# ---- UI handlers (not part of the public API) ----------------------------------------

def ui_load(progress_raw: Any, request: gr.Request) -> list[Any]:
    progress = progress_of(progress_raw) if progress_raw else new_progress(CATALOG)
    board_ids, extra = new_board(progress, {})
    studio: list[Any] = [gr.skip()] * 5
    tab, board_msg = gr.skip(), ""
    song_id = (request.query_params.get("song") if request else None) or ""
    if song_id:
        try:
            studio = song_view(load_record(GALLERY, check_song_id(song_id)), progress, request)
            tab = gr.update(selected=STUDIO_TAB)
        except KotoneError as exc:
            log.warning("player mistake (share link): %s", exc)
            board_msg = views.message_html(f"That song link does not open: {exc}")
    return [progress.model_dump(), extra, board_ids, views.header_html(progress, len(CATALOG)),
            views.board_html(board_commissions(board_ids, extra), BOOK, progress), board_msg,
            *tiles(progress, EMPTY_CHOICE), views.hand_html(EMPTY_CHOICE, CATALOG), ui_gallery(), *studio, tab]


@in_place(4, 3)
def ui_new_board(progress_raw: Any, extra: dict | None) -> list[Any]:
    progress = progress_of(progress_raw)
    board_ids, extra = new_board(progress, extra)
    return [board_ids, extra, views.board_html(board_commissions(board_ids, extra), BOOK, progress), ""]


@in_place(4, 3)
def ui_take(action: str, extra: dict | None, progress_raw: Any) -> list[Any]:
    commission = find_commission(action_value(action), extra)
    if commission is None:
        raise InvalidInputError("that request is no longer on the board")
    request_box = views.request_html(commission, BOOK, progress_of(progress_raw))
    return [commission.id, request_box, gr.update(selected=COMPOSE_TAB), ""]


def check_custom(text: str, extra: dict | None, progress_raw: Any) -> list[Any]:
    try:
        check_text(text)
        return [gr.validate(True, ""), gr.validate(True, ""), gr.validate(True, "")]
    except KotoneError as exc:
        log.warning("player mistake (own request): %s", exc)
        return [gr.validate(False, f"{exc} — write a few words about the music you want."),
                gr.validate(True, ""), gr.validate(True, "")]


@in_place(5, 4)
@costly
def ui_custom(text: str, extra: dict | None, progress_raw: Any) -> list[Any]:
    commission = custom_commission(text)
    extra = {**(extra or {}), commission.id: commission.model_dump(mode="json")}
    return [extra, commission.id, views.request_html(commission, BOOK, progress_of(progress_raw)),
            gr.update(selected=COMPOSE_TAB), ""]


@in_place(8, 7)
def ui_pick(action: str, choice: dict | None, progress_raw: Any) -> list[Any]:
    """Choose a card for its slot; a locked card explains how to get it and changes nothing."""
    progress = progress_of(progress_raw)
    card = CATALOG.get(action_value(action))
    if card.id not in progress.unlocked:
        raise LockedCardError(f"«{card.name}» is locked: buy it in the shop below for {card.price} coins "
                              f"(you have {progress.coins}).")
    choice = {**EMPTY_CHOICE, **(choice or {}), card.slot: card.id}
    out: list[Any] = [gr.skip()] * 8
    out[0], out[1] = choice, views.hand_html(choice, CATALOG)
    out[2 + SLOTS.index(card.slot)] = views.tiles_html(CATALOG, card.slot, progress, card.id)
    empty = next((s for s in SLOTS[SLOTS.index(card.slot):] + SLOTS if not choice.get(s)), None)
    out[6] = gr.update(selected=empty) if empty else gr.skip()
    out[7] = ""
    return out


@in_place(9, 8)
def ui_buy(action: str, progress_raw: Any, choice: dict | None) -> list[Any]:
    progress = progress_of(progress_raw)
    card = CATALOG.get(action_value(action))
    progress = buy(progress, card)
    choice = {**EMPTY_CHOICE, **(choice or {}), card.slot: card.id}
    msg = views.message_html(f"«{card.name}» is yours — and chosen as your {card.slot}.", "ok")
    return [progress.model_dump(), views.header_html(progress, len(CATALOG)), choice, views.hand_html(choice, CATALOG),
            *tiles(progress, choice), msg]


def ui_check_compose(commission_id: str | None, extra: dict | None, choice: dict | None, surprise: bool,
                     seed: str | None, progress_raw: Any) -> list[Any]:
    """Validate everything Compose needs; a mistake is shown under the Compose button and
    the work step that follows does nothing."""
    try:
        progress = progress_of(progress_raw)
        choice = {**EMPTY_CHOICE, **(choice or {})}
        empty = [s for s in SLOTS if not choice.get(s)]
        if empty:
            names = ", ".join(empty[:-1]) + (" and " if len(empty) > 1 else "") + empty[-1]
            raise InvalidInputError(f"Choose your {names} card{'s' if len(empty) > 1 else ''} first — tap one below.")
        cards = CATALOG.resolve(choice)
        check_unlocked(progress, cards)
        seed_text = str(seed or "").strip()
        try:
            seed_value = random.randrange(MAX_SEED) if surprise or not seed_text else check_seed(seed_text)
        except InvalidInputError:
            raise InvalidInputError(f"The seed must be a whole number from 0 to {MAX_SEED} "
                                    "(or tick 🎲 Surprise me).") from None
        commission = find_commission(commission_id, extra)
    except KotoneError as exc:
        log.warning("player mistake (compose): %s", exc)
        return [views.message_html(str(exc)), None]
    recipe = recipe_key(commission.id if commission else None, choice, seed_value)
    ticket = {"choice": choice, "seed": seed_value, "commission_id": commission_id, "recipe": recipe}
    old = progress.recipes.get(recipe)
    if old and (GALLERY.song_dir(old) / "song.json").is_file():
        ticket["open"] = old
        return [views.message_html("You made this exact song before (same cards, same seed), so it is "
                                   "opened again and pays nothing. Change a card or the seed for a new take.",
                                   "info"), ticket]
    return [views.message_html(f"Composing with seed {seed_value}…", "info"), ticket]


@in_place(17, 16)
@costly
def ui_compose(ticket: dict | None, progress_raw: Any, board_ids: list[str] | None, extra: dict | None,
               request: gr.Request) -> list[Any]:
    if not ticket:
        return [gr.skip()] * 17
    progress = progress_of(progress_raw)
    commission = find_commission(ticket["commission_id"], extra)
    if ticket.get("open"):
        record = load_record(GALLERY, ticket["open"])
        payout = "Same song as before: no coins this time."
    else:
        done = compose_and_save(ticket["choice"], ticket["seed"], commission, GALLERY)
        record = done.record
        progress, payout = pay(progress, record, commission, ticket["recipe"])
    choice = ticket["choice"]
    board = views.board_html(board_commissions(board_ids, extra), BOOK, progress)
    return [progress.model_dump(), str(ticket["seed"]), views.header_html(progress, len(CATALOG)), *tiles(progress, choice),
            board, *song_view(record, progress, request, payout), ui_gallery(), "", gr.update(selected=STUDIO_TAB),
            views.message_html(f"Done: “{record.title}” (seed {ticket['seed']}) is in the Studio.", "ok")]


def pay(progress: Progress, record: SongRecord, commission: Commission | None,
        recipe: str) -> tuple[Progress, str | None]:
    assert record.song_id is not None
    if commission is None or record.score is None:
        new, _, _ = reward(progress, CATALOG, record.song_id, None, 0.0, "", 0, record.seed, recipe)
        return new, None
    before = progress.best.get(commission.id)
    new, earned, gift = reward(progress, CATALOG, record.song_id, commission.id, record.score.total,
                               record.score.rank, commission.reward, record.seed, recipe)
    if before is None:
        text = f"+{earned} coins for delivering it."
    elif earned:
        text = f"+{earned} coins: better than your best ({before:.0f}) for this request."
    else:
        text = f"No coins: your best for this request is still {before:.0f}. Beat it to earn more."
    if gift is not None:
        text += f" The client also gave you the «{gift.name}» card!"
    return new, text


def check_refine(song_id: str | None, text: str, progress_raw: Any) -> list[Any]:
    ok = gr.validate(True, "")
    try:
        if not song_id:
            raise InvalidInputError("compose or open a song first")
        parse_words(text)
    except KotoneError as exc:
        log.warning("player mistake (refine): %s", exc)
        return [ok, gr.validate(False, str(exc)), ok]
    return [ok, ok, ok]


@in_place(9, 8)
@costly
def ui_refine(song_id: str | None, text: str, progress_raw: Any, request: gr.Request) -> list[Any]:
    if not song_id:
        raise InvalidInputError("compose or open a song first")
    done = refine_and_save(check_song_id(song_id), text, GALLERY)
    progress = progress_of(progress_raw)
    progress = progress.model_copy(update={"history": [*progress.history, done.entry.song_id][-200:]})
    return [progress.model_dump(), views.header_html(progress, len(CATALOG)),
            *song_view(done.record, progress, request)[:4], done.record.song_id, ui_gallery(),
            refine_view(done.record)]


def ui_gallery() -> str:
    return views.gallery_html(GALLERY.entries(), CATALOG, thumb_url)


# ---- layout ----------------------------------------------------------------------------

def build_app() -> gr.Blocks:
    with gr.Blocks(title="Atelier Kotone") as demo:
        progress = gr.BrowserState(new_progress(CATALOG).model_dump(), storage_key="kotone_progress_v1")
        extra = gr.State({})  # commissions generated or written in this session, by id
        board_ids, commission_id, choice = gr.State([]), gr.State(None), gr.State(dict(EMPTY_CHOICE))
        song_id, ticket = gr.State(None), gr.State(None)
        header = gr.HTML(views.header_html(new_progress(CATALOG), len(CATALOG)))
        with gr.Row(elem_classes="k-hidden-act"):  # clicks on the HTML cards arrive here (kotone.js)
            act_take = gr.Textbox(elem_id="k-act-take", show_label=False, container=False)
            act_pick = gr.Textbox(elem_id="k-act-pick", show_label=False, container=False)
            act_buy = gr.Textbox(elem_id="k-act-buy", show_label=False, container=False)
        with gr.Tabs(overflow_behavior="wrap", elem_id="k-tabs") as tabs:
            with gr.Tab("📜 Requests", id=BOARD_TAB):
                board_msg = gr.HTML(elem_id="k-board-msg")
                board_html = gr.HTML(elem_id="k-board")
                reshuffle = gr.Button("🔄 New requests", size="sm")
                with gr.Accordion("✍️ …or write your own request", open=False):
                    own_text = gr.Textbox(label="Your request", max_lines=6, max_length=1000, elem_id="k-own",
                                          placeholder="music for the first snow, the way grandma hummed…")
                    own_go = gr.Button("Ask the atelier", elem_id="k-own-go")
            with gr.Tab("🎴 Cards", id=COMPOSE_TAB):
                request_box = gr.HTML(views.request_html(None, BOOK))
                hand = gr.HTML(views.hand_html(EMPTY_CHOICE, CATALOG), elem_id="k-hand")
                with gr.Row(elem_id="k-compose-bar", equal_height=True):
                    surprise = gr.Checkbox(value=True, label="🎲 Surprise me", elem_id="k-surprise", scale=1,
                                           min_width=120)
                    seed = gr.Textbox(label="Seed", value="", placeholder="random", elem_id="k-seed", scale=1,
                                      min_width=90, max_lines=1)
                    compose_btn = gr.Button("🎵 Compose", variant="primary", elem_id="k-compose", scale=2,
                                            min_width=120)
                cards_msg = gr.HTML(elem_id="k-cards-msg")
                tile_boxes = []
                with gr.Tabs(elem_id="k-slot-tabs", overflow_behavior="wrap") as slot_tabs:
                    for slot in SLOTS:
                        with gr.Tab(f"{views.SLOT_ICONS[slot]} {slot.title()}", id=slot):
                            tile_boxes.append(gr.HTML(elem_id=f"k-tiles-{slot}"))
            with gr.Tab("🎧 Studio", id=STUDIO_TAB):
                with gr.Row(elem_id="k-studio-row"):
                    with gr.Column(scale=3, min_width=300):
                        roll = gr.HTML('<p class="k-empty">Your finished song appears here.</p>', elem_id="k-roll")
                    with gr.Column(scale=2, min_width=280):
                        score = gr.HTML(elem_id="k-score")
                share = gr.Textbox(label="Share link", interactive=False, elem_id="k-share", buttons=["copy"])
                with gr.Group():
                    refine_text = gr.Textbox(label="Refine in words", elem_id="k-refine", max_lines=2,
                                             placeholder="make it warmer and a bit sadder · calmer ending")
                    gr.HTML('<div class="k-examples">' + "".join(
                        f'<button type="button" class="k-example" data-example="{views.e(x)}">{views.e(x)}</button>'
                        for x in EXAMPLES) + "</div>")
                    refine_btn = gr.Button("✏️ Refine", elem_id="k-refine-go")
                refined = gr.HTML(elem_id="k-refined")
                with gr.Accordion("🔍 Why does it sound like this?", open=False):
                    why = gr.HTML(elem_id="k-why")
                build_elevenlabs_block(song_id, GALLERY)
            with gr.Tab("🖼️ Gallery", id="gallery"):
                gallery = gr.HTML(elem_id="k-gallery")
                refresh = gr.Button("Refresh", size="sm")
            with gr.Tab("ℹ️ About", id="about"), gr.Column(elem_classes="k-about"):
                for i, (title, text) in enumerate(about_sections()):
                    with gr.Accordion(title, open=i == 0):
                        gr.Markdown(text)
                        if title == INTERPRETER_TITLE and calibration_png() is not None:
                            gr.Image(str(calibration_png()), label="Predicted vs gold per dimension, natural frozen "
                                     "set (python -m eval.interpreter)", interactive=False)
        studio_out = [roll, score, share, why, song_id]

        demo.load(ui_load, [progress], [progress, extra, board_ids, header, board_html, board_msg, *tile_boxes, hand,
                                        gallery, *studio_out, tabs], api_visibility="private")
        reshuffle.click(ui_new_board, [progress, extra], [board_ids, extra, board_html, board_msg],
                        api_visibility="private")
        act_take.change(ui_take, [act_take, extra, progress], [commission_id, request_box, tabs, board_msg],
                       api_visibility="private", show_progress="hidden")
        own_go.click(ui_custom, [own_text, extra, progress], [extra, commission_id, request_box, tabs, board_msg],
                     validator=check_custom, api_visibility="private")
        act_pick.change(ui_pick, [act_pick, choice, progress], [choice, hand, *tile_boxes, slot_tabs, cards_msg],
                       api_visibility="private", show_progress="hidden")
        act_buy.change(ui_buy, [act_buy, progress, choice], [progress, header, choice, hand, *tile_boxes, cards_msg],
                      api_visibility="private", show_progress="hidden")
        compose_btn.click(
            ui_check_compose, [commission_id, extra, choice, surprise, seed, progress], [cards_msg, ticket],
            api_visibility="private", show_progress="hidden",
        ).success(
            ui_compose, [ticket, progress, board_ids, extra],
            [progress, seed, header, *tile_boxes, board_html, *studio_out, gallery, refined, tabs, cards_msg],
            api_visibility="private", show_progress_on=[cards_msg],
        )
        for trigger in (refine_btn.click, refine_text.submit):
            trigger(ui_refine, [song_id, refine_text, progress],
                    [progress, header, roll, score, share, why, song_id, gallery, refined],
                    validator=check_refine, api_visibility="private", show_progress_on=[refined])
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
                theme=gr.themes.Soft(primary_hue="amber"), css=views.web_asset(views.CSS_FILE),
                head=views.page_head(), **options)


if __name__ == "__main__":
    main()
