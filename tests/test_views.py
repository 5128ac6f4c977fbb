"""The player's screens in plain words: no internal ids, escaped text, one scale, spelled chords."""

import re

from kotone.assets import load_catalog
from kotone.domain.commissions import Commission
from kotone.domain.params import Params
from kotone.domain.progress import new_progress
from kotone.domain.scoring import Coaching, score_song
from kotone.domain.song import Refinement, SongRecord
from kotone.song_views import factor_text, refine_html, respell, roll_html, roll_payload, score_html, why_html
from kotone.views import board_html, header_html, tiles_html


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_board_shows_no_internal_ids_and_escapes_requests(book):
    progress = new_progress(load_catalog())
    evil = Commission(id="gen_cf550b52", townsperson="mira", text="<img src=x onerror=alert(1)> a tune",
                      target=Params(), reward=50, difficulty=2)
    html = board_html([book.get("c012"), evil], book, progress)
    visible = text_of(html)
    assert "c012" not in visible and "gen_cf550b52" not in visible
    assert "<img" not in html and "&lt;img src=x" in html
    assert 'data-take="c012"' in html and 'data-take="gen_cf550b52"' in html


def test_board_marks_delivered_commissions(book, catalog):
    progress = new_progress(catalog).model_copy(update={"completed": ["c012"], "best": {"c012": 84.0}})
    html = board_html([book.get("c012")], book, progress)
    assert "✓ delivered · best 84" in html


def test_purse_counts_songs_in_plain_english(catalog):
    p = new_progress(catalog)
    assert "0 songs" in header_html(p, len(catalog))
    assert "1 song<" in header_html(p.model_copy(update={"history": ["x"]}), len(catalog))


def test_tiles_owned_first_then_the_shop_with_prices(catalog):
    p = new_progress(catalog)
    html = tiles_html(catalog, "style", p, selected="style_folk")
    shop_at = html.index("In the shop")
    owned = [c.id for c in catalog.by_slot("style") if c.id in p.unlocked]
    locked = [c for c in catalog.by_slot("style") if c.id not in p.unlocked]
    assert all(html.index(f'data-pick="{cid}"') < shop_at for cid in owned)
    assert all(f'data-buy="{c.id}"' in html and f"Buy · 🪙 {c.price}" in html for c in locked)
    assert not any(f'data-pick="{c.id}"' in html for c in locked)  # a locked card cannot be chosen
    assert html.count('class="k-tile k-sel"') == 1 and html.count("✓ chosen") == 1
    assert html.count('class="k-mini"') == 6 * len(catalog.by_slot("style"))  # six bars per card


def record_with(catalog, book, coaching, **extra):
    c = book.get("c001")
    cards = {s: catalog.by_slot(s)[0] for s in ("style", "instrument", "mood", "gimmick")}
    score = score_song(c.target, Params(), cards, c).model_copy(update={"coaching": coaching})
    plan = {"tonic_pc": 6, "scale": "minor", "tempo_bpm": 90, "beats_per_bar": 4, "meter": "4/4",
            "sections": [{"section_type": "verse", "start_beat": 0, "tonic_shift": 0,
                          "chords": [{"pcs": [6, 9, 1]}, {"pcs": [8, 11, 4]}]}],
            "traces": [{"decision": "Chose E/Ab then a Accordion", "because": [
                {"factor": "emotion.valence", "value": "0.45 → 0.20", "implication": "asked for in words"},
                {"factor": "style.scales", "value": "{'bright': 'major', 'dark': 'minor'}"}]}],
            "tracks": [{"role": "melody"}, {"role": "harmony"}]}
    return SongRecord(song_id="AAAAAAAAAAAAAAAA", title="Harbour Lights", cards={s: x.id for s, x in cards.items()},
                      card_names={s: x.name for s, x in cards.items()}, seed=7, plan=plan, measured=Params().as_dict(),
                      duration_s=60.0, score=score, commission=c, commission_id=c.id, **extra)


def test_coaching_says_when_a_suggestion_is_locked_and_its_price(catalog, book):
    locked = next(c for c in catalog.by_slot("mood") if c.price > 0)
    tip = Coaching(slot="mood", card_id="mood_calm", card_name="Calm", suggest=locked.id, suggest_name=locked.name,
                   expected_gain=6.0, message=f"Try «{locked.name}» instead of «Calm»: +6 points.")
    keep = Coaching(slot="style", card_id="style_folk", card_name="Village Folk", message="Keep «Village Folk».")
    html = score_html(record_with(catalog, book, [tip, keep]), catalog, new_progress(catalog))
    assert f"locked — {locked.price} coins" in html and 'data-gain="6.0"' in html
    assert "Keep «Village Folk»" in html
    bare = score_html(record_with(catalog, book, [keep]), catalog, new_progress(catalog))
    assert "Nothing to change" in bare and "data-suggest" not in bare


def test_why_view_is_in_sentences_on_one_scale_with_chords_for_the_key(catalog, book):
    html = why_html(record_with(catalog, book, []))
    assert "F#m – E/G#" in html  # not 'E/Ab' in F# minor
    assert "E/G#" in html and "E/Ab" not in html  # the decision text too
    assert "an Accordion" in html and "a Accordion" not in html
    assert "45 → 20" in html  # emotion values on the 0-100 scale
    assert "bright: major, dark: minor" in html and "{" not in text_of(html)


def test_respell_and_factor_text():
    assert respell("E/Ab and Bb major", 6, "minor") == "E/G# and A# major"
    assert factor_text("intent.warmth", "62") == "the cards' warmth 62"


def test_roll_gives_each_track_its_own_colour_and_the_notes_as_data(catalog, book):
    record = record_with(catalog, book, [])
    tracks = [{"name": "Shamisen", "role": "melody", "is_drum": False, "notes": [[0.0, 0.5, 60, 90]]},
              {"name": "Shamisen", "role": "harmony", "is_drum": False, "notes": [[0.5, 1.0, 64, 80]]}]
    payload = roll_payload(record, tracks)
    assert payload["tracks"][0]["color"] != payload["tracks"][1]["color"]
    html = roll_html(record, payload, "gradio_api/file=/x/song.ogg", [("MIDI", "u", "Harbour-Lights.mid")])
    assert html.count("k-legend-chip") == 2 and "Shamisen · melody" in html and "Shamisen · harmony" in html
    assert 'download="Harbour-Lights.mid"' in html and 'class="k-player"' in html
    assert "data-roll=" in html and "&quot;notes&quot;" in html


def test_refinement_reply_says_what_was_and_was_not_understood(catalog, book):
    r = Refinement(command="warmer and purple", understood=["warmer"], not_understood=["purple"],
                   summary=["Regenerated: verse.", "No note changed.", "Measured: warmth 50 → 58."])
    html = refine_html(record_with(catalog, book, [], refinement=r, parent="BBBBBBBBBBBBBBBB"), "a.ogg", "b.ogg")
    assert "understood: warmer · didn&#x27;t understand: “purple”" in html
    assert html.count("<li>") == 3 and "A · before" in html and "B · after" in html
