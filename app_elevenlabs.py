"""The Studio's ElevenLabs block: a render button, a password field for the visitor's own key
(sent with the click, used for that one call, never stored, logged or returned), a second
player beside the SoundFont one, and the render's length and cost.

Self-contained so that app.py only calls :func:`build_elevenlabs_block` inside the Studio tab.
Failures show as a message in the block; the SoundFont player is not an output of these
handlers, so nothing a render does can touch it.
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from kotone.domain.errors import KotoneError
from kotone.services.elevenlabs import KEY_HELP
from kotone.store.gallery import Gallery
from kotone.studio_elevenlabs import cached_render, describe, render_saved_song


def key_note() -> str:
    if os.environ.get("ELEVENLABS_API_KEY", "").strip():
        return ("Renders this song with ElevenLabs Music from the same plan (sections, tempo, key, instruments). "
                "This Space pays with its own key; paste yours to use your own credits instead.")
    return KEY_HELP


def ui_render(song_id: str | None, session_key: str | None, gallery: Gallery) -> tuple[Any, str]:
    """(audio path or no change, status markdown). Never raises for a player's mistake or a failed call."""
    if not song_id:
        return gr.update(), "Compose or open a song first."
    try:
        render = render_saved_song(song_id, gallery, session_key)
    except KotoneError as exc:  # ElevenLabsError included: its message never holds the key
        return gr.update(), f"⚠️ {exc}"
    return str(render.audio), describe(render)


def ui_show_saved(song_id: str | None, gallery: Gallery) -> tuple[Any, str]:
    """When another song opens: its saved ElevenLabs render, or an empty player."""
    try:
        render = cached_render(gallery, song_id) if song_id else None
    except KotoneError:
        render = None
    return (str(render.audio), describe(render)) if render else (None, "")


def build_elevenlabs_block(song_id: gr.State, gallery: Gallery) -> None:
    """Lay out the block (call inside the Studio tab) and wire its events."""
    with gr.Accordion("🎧 Render with ElevenLabs (optional, uses credits)", open=False, elem_id="k-el"):
        gr.Markdown(key_note())
        with gr.Row():
            key = gr.Textbox(label="Your ElevenLabs API key (this session only, never stored)", type="password",
                             max_length=200, scale=3, elem_id="k-el-key")
            go = gr.Button("🎧 Render with ElevenLabs", scale=1, elem_id="k-el-go")
        audio = gr.Audio(label="ElevenLabs render", type="filepath", interactive=False, elem_id="k-el-audio")
        status = gr.Markdown(elem_id="k-el-status")
    go.click(lambda sid, k: ui_render(sid, k, gallery), [song_id, key], [audio, status], api_visibility="private",
             concurrency_limit=2, concurrency_id="elevenlabs")
    song_id.change(lambda sid: ui_show_saved(sid, gallery), [song_id], [audio, status], api_visibility="private")
