"""Refinement requests in words: all six qualities, strengths, negations and mixed commands."""

import pytest

from kotone.domain.errors import InvalidInputError
from kotone.domain.refine_words import parse_words, refine_summary


@pytest.mark.parametrize(("text", "dims"), [
    # the six qualities, both ways
    ("more energetic", {"energy": 1}), ("calmer", {"energy": -1}),
    ("warmer", {"warmth": 1}), ("make it colder", {"warmth": -1}),
    ("brighter", {"brightness": 1}), ("make it sadder", {"brightness": -1}),
    ("more acoustic", {"acousticness": 1}), ("more electronic", {"acousticness": -1}),
    ("richer", {"complexity": 1}), ("simpler please", {"complexity": -1}),
    ("more nostalgic", {"nostalgia": 1}), ("make it more modern", {"nostalgia": -1}),
    # other words for them
    ("cozier", {"warmth": 1}), ("more retro", {"nostalgia": 1}), ("more old-fashioned", {"nostalgia": 1}),
    ("unplugged", {"acousticness": 1}), ("jazzier", {"complexity": 1}), ("livelier", {"energy": 1}),
    # strengths and negations
    ("a bit sadder", {"brightness": -0.5}), ("much warmer", {"warmth": 1.5}), ("less sad", {"brightness": 1}),
    ("not so busy", {"complexity": -1}), ("less electronic", {"acousticness": 1}),
    # mixed commands
    ("make it warmer and a bit sadder", {"warmth": 1, "brightness": -0.5}),
    ("brighter, simpler and more acoustic", {"brightness": 1, "complexity": -1, "acousticness": 1}),
    ("calmer but more nostalgic", {"energy": -1, "nostalgia": 1}),
    ("more electronic, much richer", {"acousticness": -1, "complexity": 1.5}),
])
def test_qualities_table(text, dims):
    words = parse_words(text)
    assert words.dims == pytest.approx(dims)
    assert not words.unknown


@pytest.mark.parametrize(("text", "understood", "unknown"), [
    ("make it warmer and a bit sadder", ["warmer", "a bit sadder"], []),
    ("much richer", ["much richer"], []),
    ("make it purple and sadder", ["sadder"], ["purple"]),
    ("warmer, like a summer breeze", ["warmer"], ["summer breeze"]),
    ("happier please", ["happier"], []),
])
def test_reply_says_what_was_understood(text, understood, unknown):
    words = parse_words(text)
    assert words.matched == understood
    assert words.unknown == unknown


@pytest.mark.parametrize(("text", "kinds"), [
    ("more intense in the chorus", ["chorus"]), ("calmer ending", ["outro"]), ("a calmer verse", ["verse"]),
    ("sadder chorus and a warmer intro", ["chorus", "intro"]), ("warmer", []),
])
def test_sections(text, kinds):
    assert parse_words(text).section_kinds == kinds


def test_emotion_deltas_keep_the_seed_table():
    """The arranger's deltas for the original phrases are unchanged; strengths scale them."""
    assert parse_words("sadder").delta == {"valence": -0.45, "energy": -0.1}
    assert parse_words("a bit sadder").delta == {"valence": -0.225, "energy": -0.05}
    assert parse_words("more intense").delta == {"energy": 0.25, "tension": 0.2}


@pytest.mark.parametrize(("text", "message"), [
    ("", "say how to change"), ("   ", "say how to change"), ("make it purple", "don't know how to make it “purple”"),
    ("x" * 500, "limited to"), (None, "say how to change"), ("🎵🎵", "don't know how"),
])
def test_nothing_understood_is_refused(text, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_words(text)


def test_refine_summary_is_three_plain_lines():
    diff = {"sections": [
        {"section": "verse", "changed": True, "scale": {"before": "major", "after": "minor"}, "tracks": {}},
        {"section": "chorus", "changed": False, "scale": None, "tracks": {}},
    ]}
    lines = refine_summary(diff, {"brightness": 60.0, "energy": 40.0}, {"brightness": 48.0, "energy": 40.5})
    assert lines == ["Regenerated: verse; kept note for note: chorus.", "The verse moves from major to minor.",
                     "Measured: brightness 60 → 48."]
