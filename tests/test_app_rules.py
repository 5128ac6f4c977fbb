"""The app's handlers keep the error policy: check first, one message, everything else untouched."""

import importlib
import sys

import gradio as gr
import pytest

CHOICE = {"style": "style_folk", "instrument": "instrument_nylon", "mood": "mood_cheerful", "gimmick": "gimmick_echo"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("KOTONE_DATA_DIR", str(tmp_path_factory.mktemp("app-data")))
    sys.modules.pop("app", None)
    module = importlib.import_module("app")
    yield module
    mp.undo()
    sys.modules.pop("app", None)


def fresh(app):
    return app.new_progress(app.CATALOG).model_dump()


def test_compose_check_refuses_mistakes_with_one_message(app):
    cases = [({}, True, "", "Choose your style, instrument, mood and gimmick cards"),
             ({**CHOICE, "style": "style_baroque"}, True, "", "is locked: buy it in the shop"),
             (CHOICE, False, "abc", "whole number")]
    for choice, surprise, seed, text in cases:
        msg, ticket = app.ui_check_compose("c001", {}, choice, surprise, seed, fresh(app))
        assert text in msg and "k-msg-error" in msg and ticket is None, (choice, msg)
    assert app.ui_compose(None, fresh(app), [], {}, None) == [gr.skip()] * 17  # the work step does nothing


def test_surprise_draws_a_new_seed_each_time_and_a_fixed_seed_is_kept(app):
    seeds = {app.ui_check_compose("c001", {}, CHOICE, True, "5", fresh(app))[1]["seed"] for _ in range(5)}
    assert len(seeds) == 5
    assert app.ui_check_compose("c001", {}, CHOICE, False, " 42 ", fresh(app))[1]["seed"] == 42


def test_the_same_recipe_opens_the_earlier_song_instead_of_composing_again(app):
    done = app.compose_and_save(CHOICE, 42, app.BOOK.get("c001"), app.GALLERY)
    progress = app.new_progress(app.CATALOG).model_copy(update={"recipes": {done.record.recipe(): done.entry.song_id}})
    msg, ticket = app.ui_check_compose("c001", {}, CHOICE, False, "42", progress.model_dump())
    assert ticket["open"] == done.entry.song_id and "pays nothing" in msg


def test_a_locked_pick_changes_nothing_but_its_message(app):
    locked = next(c for c in app.CATALOG if c.id not in app.new_progress(app.CATALOG).unlocked)
    out = app.ui_pick(f"{locked.id}#123", dict(app.EMPTY_CHOICE), fresh(app))
    assert out[:-1] == [gr.skip()] * 7
    assert "is locked" in out[-1] and str(locked.price) in out[-1]


def test_share_link_is_absolute(app, monkeypatch):
    from types import SimpleNamespace

    Req = lambda: SimpleNamespace(headers={"referer": "http://example.test:7860/?song=old#x",  # noqa: E731
                                           "host": "example.test:7860"})
    assert app.share_link("AAAAAAAAAAAAAAAA", Req()) == "http://example.test:7860/?song=AAAAAAAAAAAAAAAA"
    monkeypatch.setenv("SPACE_ID", "kotone/atelier")
    assert app.share_link("AAAAAAAAAAAAAAAA", Req()) == "https://huggingface.co/spaces/kotone/atelier?song=AAAAAAAAAAAAAAAA"
