import pytest

from kotone.domain.errors import InvalidInputError
from kotone.interpret import get_interpreter
from kotone.interpret.rule import RuleInterpreter, cue_features, find_cues


@pytest.fixture(scope="module")
def rule():
    return RuleInterpreter()


def p(rule, text):
    return rule.interpret(text).params


def test_no_cues_is_neutral(rule):
    assert p(rule, "hello there").as_list() == [50.0] * 6


def test_directions_follow_the_rubric(rule):
    assert p(rule, "a frantic explosive rave").energy > 75
    assert p(rule, "a quiet lullaby for bedtime").energy < 30
    assert p(rule, "icy, metallic and distant").warmth < 30
    assert p(rule, "cozy like a blanket by the fireplace").warmth > 70
    assert p(rule, "dark and ominous").brightness < 30
    assert p(rule, "sparkling bells in the sunshine").brightness > 75
    assert p(rule, "only synths and a drum machine").acousticness < 25
    assert p(rule, "an acoustic guitar and a fiddle").acousticness > 75
    assert p(rule, "intricate counterpoint like a fugue").complexity > 75
    assert p(rule, "simple, just one chord repeated").complexity < 30
    assert p(rule, "an old music box from my childhood").nostalgia > 80
    assert p(rule, "futuristic neon cyber city").nostalgia < 25


def test_negation_flips_the_cue(rule):
    assert p(rule, "nothing too loud").energy < 50
    assert p(rule, "loud").energy > 50
    assert p(rule, "no synths please").acousticness > 50
    hits = find_cues("I don't want it sad")
    assert hits and hits[0].negated


def test_contrast_breaks_negation_scope(rule):
    hits = find_cues("not sad but hopeful")
    assert [h.negated for h in hits] == [True, False]


def test_prefix_cues_do_not_swallow_other_words(rule):
    # "hug*" must not match "huge", "hop*" must not make "hoping" upbeat
    assert p(rule, "a huge hall").warmth == 50.0
    assert p(rule, "hoping").energy == 50.0


def test_features_shape_and_range():
    f = cue_features("a warm, slow lullaby")
    assert len(f) == 13
    assert all(-1.0 <= v <= 1.0 for v in f)


def test_bad_text_raises(rule):
    with pytest.raises(InvalidInputError):
        rule.interpret("   ")
    with pytest.raises(InvalidInputError):
        rule.interpret("x" * 1001)
    with pytest.raises(InvalidInputError):
        rule.interpret(42)  # type: ignore[arg-type]


def test_registered():
    assert get_interpreter("rule").name == "rule"
