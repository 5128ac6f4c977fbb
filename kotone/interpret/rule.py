"""Rule baseline: a hand-written cue lexicon on the SPEC §2 rubric.

Each cue (a word, a word prefix ending in ``*`` or a short phrase) names the rubric value it
suggests for some dimensions. For every dimension the prediction is a weighted mean of the
matched cues' values and a neutral prior of 50, so a request that says nothing about a
dimension stays near 50 (the rubric's rule). A negation shortly before a cue ("nothing too
loud", "no synths", "not sad") mirrors the cue around 50 and weakens it; an intensifier
("very", "really") strengthens it; cues after a contrast word ("but", "yet") weigh a little
more, since the last clause usually carries the intent ("sad but hopeful").

The same matcher exposes ``cue_features`` (per-dimension pull and evidence) that the
embedded backend uses as lexical features.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from kotone.domain.params import DIMS, Params, clamp
from kotone.interpret.base import Interpretation, check_text

_KEY = {"e": "energy", "w": "warmth", "b": "brightness", "a": "acousticness", "c": "complexity", "n": "nostalgia"}

# cue(s) separated by "|" : targets as <dim letter><value>, value on the 0-100 rubric.
# A trailing "*" matches any word that starts with the stem.
_LEXICON = """
# --- energy: stillness .. explosive
silent*|silence|hush*|stillness|motionless: e8 c25
whisper*|murmur*: e15 w70
calm*|peaceful*|serene|serenity|tranquil*|placid: e20
quiet*|soft|softly|gentle|gently|tender*|delicate*|lulling: e25 w68
slow|slowly|slower|unhurried|leisurely|lazy|lazily|languid*: e25
sleep*|asleep|bedtime|nap|drowsy|doze|dozing|dreamless: e15 w72
lullab*: e15 w82 n85 c22 a70
meditat*|breath*|breathing: e15 c25
relax*|unwind*|rest|resting|restful|soothing|soothe*|comfort*: e22 w75
drift*|floating|float|hazy|haze: e25
sway*|rocking|stroll*|walking pace|amble: e42
steady|moderate|mid-tempo|midtempo: e50
upbeat|lively|bouncy|bounce|peppy|jaunty|perky|skipping|hopping|hip hop: e72 b72
dance|dancing|danceable|groove*|groovy|funky|funk: e75
run|running|race|racing|rush*|hurry*|chase|sprint*: e82
driving|pounding|stomp*|march*|drive: e76
fast|faster|quick*|speedy|rapid*|brisk: e78
energetic|energy|vibrant|vigorous|powerful|power|pumped|hype*: e80
party|parties|festival*|celebrat*|carnival*|fiesta*|parade*: e78 b75 w62
loud|louder|blast*|booming|boom: e85
wild|wildly|frantic*|frenzied|frenzy|chaotic|chaos|manic: e90 c75
explosive|explode*|explosion*|thunderous|roaring|roar*|riot*|rage*|furious|fury|mosh*: e93
intense|intensity|fierce|fiery|adrenaline|rocket*|storm|stormy: e82
epic|triumph*|heroic|victory|victorious|battle*|fanfare: e80 b70 c65
workout|gym|training|jog*|cardio: e82 a25
sprint|stadium: e88
fireworks: e85 b85
heartbeat|pulse|pulsing|throbbing: e60
# --- warmth: icy .. a hug by the fire
icy|ice|frozen|freezing|frost*|glacier*|glacial|arctic: w12 b42
cold|chilly|chill: w22
clinical|sterile|metallic|mechanical|robotic|robot*|machine*|steel|chrome|industrial: w15 a15
distant|detached|aloof|empty|hollow|lonely|loneliness|alone|isolat*|desolate|void: w25
airy|breezy|breeze|cool: w35
warm|warmth|warmly|warming: w80
cozy|cosy|snug|homey|homely|hearth|fireplace|fireside|blanket*|cocoa|hot chocolate|tea: w88 a70
hug|hugs|hugging|hugged|embrace*|cuddl*|arms|kiss*|intimate|close: w88
love|loving|beloved|sweetheart|darling|romance|romantic|affection*: w80
grandm*|granny|grandpa|grandf*|grandparent*|nana: w82 n82 a72
mother|mom|mum|mama|father|dad|papa|family|home|kitchen|knit*|baking|bread|soup: w78 n62
friend*|together|neighbo*|community|kindness|kind: w72
# --- brightness: dark .. sparkling
dark|darkness|gloom*|murky|shadow*|ominous|sinister|dread*|menac*|eerie|creepy|haunted|haunt*|spooky|horror: b12 w30
sad|sadness|sorrow*|grief|griev*|mourn*|funeral|tear*|cry|crying|weep*|heartbreak*|heartbroken|loss|lost|miss|missing|melanchol*|blue|blues: b22 e30
lament*|elegy|dirge|requiem: b15 e20 n62
somber|sombre|solemn|grave|serious|heavy: b22 e35
minor key|minor: b25
mysterious|mystery|mystic*|enigma*|secret*|uncanny|mist|misty|fog*|foggy: b32 c58
night|midnight|moon*|nocturn*|evening|twilight|dusk|late night: b32 e35
bittersweet|wistful|longing|yearning|ache|aching|pensive|reflective|introspective: b40 n70
rain|rainy|raining|drizzle|grey|gray|overcast|cloud*: b35 e35
hope|hopeful|hopefully|optimis*|uplift*|encourag*: b70
happy|happiness|joy|joyful|joyous|glad|cheer*|delight*|smile*|smiling|laugh*|merry|fun|playful|silly|giggl*: b80 e65
bright|brighter|brightly|brightness|sunny|sun|sunshine|sunlit|sunrise|dawn|morning|daylight|radiant: b82
sparkl*|glitter*|shimmer*|twinkl*|shine|shining|glow*|gleam*|star|stars|starlight|crystal*|bell|bells|chime*|celesta|glockenspiel: b85
spring|blossom*|flower*|bloom*|petal*|meadow|garden|butterfl*|bird*|birdsong: b75 a72
summer|beach|tropical|sunset|picnic: b78 e62
major key|major: b75
# --- acousticness: electronic .. unplugged
electronic|electronica|electro|edm|techno|house music|trance|dubstep|drum and bass|rave*|club*: a8 n15 e78
synth*|synthesizer*|synthwave|vaporwave|sequenc*|arpeggiator|drum machine|808|beats|beat|laptop|digital|computer*|glitch*|bitcrush*|chiptune|8-bit|8 bit|video game*|arcade: a12
neon|cyber*|futur*|sci-fi|scifi|space|spaceship|galaxy|galactic|android*|hologram*|tomorrow|year 3000|utopia*|dystop*: n10 a15
acoustic|unplugged|wooden|wood|natural|organic|raw|live band: a88
guitar*|ukulele|banjo|mandolin|fiddle|violin*|viola|cello*|harp|piano|upright bass|double bass|strings|string quartet|flute*|clarinet*|oboe|bassoon|accordion|harmonica|koto|shamisen|shakuhachi|sitar|oud|bouzouki|bagpipe*|tin whistle|tabla|djembe|marimba|kalimba|dulcimer|lute|recorder|voice|voices|choir|singing|hum|humm*|whistl*: a88
orchestra*|symphon*|philharmonic|chamber: a85 c75
campfire|bonfire|porch|cabin|forest|woods|village|farm|countryside|field*|river|creek|stream: a80 w72
folk|folksong|folk song|traditional|ballad: a85 n70
electric guitar|distort*|amp|amplified|rock|punk|metal|grunge: a40 e82
# --- complexity: minimal .. intricate
simple|simply|plain|basic|bare|barely|minimal|minimalist|sparse|few notes|one chord|repetit*|repeat*|drone|single note|nursery rhyme|childlike: c15
clean|clear|uncluttered|pure: c28
layer*|texture*|rich|lush|full|detailed|nuanced|sophisticated|elaborate|ornate: c72
jazz|jazzy|bebop|fusion|prog rock|progressive|improvis*: c80 a70
intricate|complex|complicated|dense|counterpoint|fugue|polyrhythm*|odd meter|odd time|virtuos*|technical|tricky|maze|labyrinth*|clockwork|twisting|busy: c90
baroque|bach: c85 a82 n78
classical|opera|sonata|concerto: c72 a88 n70
swirl*|tangle*|kaleidoscop*|bustl*|crowd*|market*|city|cities|street*|traffic: c70
# --- nostalgia: futuristic .. strongly of the past
nostalg*|memor*|remember*|reminisc*|recall*|childhood|when i was|as a child|as a kid|years ago|long ago|used to|once upon|old days|good old|back then|bygone|olden: n88
old|older|ancient|antique*|vintage|retro|classic|faded|dusty|yellowed|sepia|heirloom|attic|photograph*|photo album: n82
record|records|vinyl|gramophone|phonograph|record player|cassette|tape*|radio|jukebox|old film|silent film|black and white: n90
music box: n95 b82 c25 a70
new|brand new|modern|contemporary|today|current|latest|fresh|trendy|tiktok|viral: n25
future|futuristic|next generation|innovative|cutting-edge|cutting edge|experimental: n8
1920s|1930s|1940s|1950s|1960s|twenties|thirties|forties|fifties|sixties|ragtime|swing era|big band|dixieland|waltz: n88
1970s|1980s|80s|eighties|seventies|disco: n75
# --- scene words that pull several dims
snow|snowfall|snowy|winter|snowflake*|first snow: w40 b62 e28 n62
autumn|fall|leaves|harvest|october: w70 b45 n70
sea|ocean|waves|tide|shore|harbor|harbour: e40 a65
desert|dune*|caravan|bazaar|hijaz: a78 w65 c60 n65
temple|shrine|zen|garden of stones|tea ceremony|incense: e18 a88 c30 n72
festival drum*|taiko|matsuri: e85 a85 n65 w70
celtic|irish|scottish|jig|reel|pub: a90 e70 n75 w75
tango|flamenco|samba|salsa|bossa*|latin: e70 a80 c70 w75
wedding|bride|groom: b78 w82
birthday|cake|candles: b80 w75 e65
child|children|kid|kids|toy*|puppy|kitten*: b75 w72
church|hymn*|chapel|cathedral|prayer: a80 n75 e30 c55
"""

_NEGATORS = {
    "not", "no", "nothing", "never", "without", "don't", "dont", "doesn't", "isn't",
    "aren't", "wasn't", "won't", "less", "avoid", "hate", "hates", "hated", "dislike",
    "dislikes", "nor", "instead", "zero", "none", "neither", "skip", "forget", "lose",
    "stop", "rather", "except", "minus", "can't", "cannot",
}
_BREAKERS = {"but", "yet", "though", "although", "however", "while", "and", "just", "only", "so"}
_INTENSIFIERS = {"very", "really", "so", "extremely", "super", "truly", "deeply", "utterly",
                 "completely", "totally", "absolutely", "incredibly", "most", "pure"}
_SOFTENERS = {"little", "bit", "slightly", "somewhat", "kinda", "kind", "touch", "hint", "hints",
              "faint", "faintly", "mildly", "almost", "gentle", "quietly"}
_CONTRAST = {"but", "yet", "though", "although", "however", "still", "instead"}
_PRIOR_WEIGHT = 0.35
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True)
class _Cue:
    words: tuple[str, ...]
    prefix: bool
    targets: dict[str, float]


def _parse_lexicon(text: str) -> list[_Cue]:
    cues: list[_Cue] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        names, _, spec = line.partition(":")
        targets = {_KEY[tok[0]]: float(tok[1:]) for tok in spec.split()}
        for name in names.split("|"):
            name = name.strip().lower()
            prefix = name.endswith("*")
            words = tuple(name.rstrip("*").split())
            cues.append(_Cue(words, prefix, targets))
    # longer phrases first so "music box" wins over "box" and "first snow" over "snow"
    cues.sort(key=lambda c: -len(c.words))
    return cues


CUES = _parse_lexicon(_LEXICON)
_BY_FIRST: dict[str, list[_Cue]] = {}
_PREFIX_CUES: list[_Cue] = []
for _cue in CUES:
    if len(_cue.words) == 1 and _cue.prefix:
        _PREFIX_CUES.append(_cue)
    else:
        _BY_FIRST.setdefault(_cue.words[0], []).append(_cue)


def tokenize(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def _match_at(tokens: list[str], i: int) -> _Cue | None:
    tok = tokens[i]
    for cue in _BY_FIRST.get(tok, ()):
        n = len(cue.words)
        seg = tokens[i : i + n]
        if len(seg) < n:
            continue
        if cue.prefix:
            if seg[:-1] == list(cue.words[:-1]) and seg[-1].startswith(cue.words[-1]):
                return cue
        elif tuple(seg) == cue.words:
            return cue
    for cue in _PREFIX_CUES:
        if tok.startswith(cue.words[0]):
            return cue
    return None


@dataclass(frozen=True)
class CueHit:
    start: int
    length: int
    cue: _Cue
    weight: float
    negated: bool


def find_cues(text: str) -> list[CueHit]:
    """All lexicon cues in the text, with negation, intensity and contrast applied."""
    tokens = tokenize(text)
    hits: list[CueHit] = []
    contrast_seen = False
    i = 0
    while i < len(tokens):
        if tokens[i] in _CONTRAST:
            contrast_seen = True
        cue = _match_at(tokens, i)
        if cue is None:
            i += 1
            continue
        window = tokens[max(0, i - 4) : i]
        negated = False
        for w in reversed(window):
            if w in _BREAKERS:
                break
            if w in _NEGATORS:
                negated = True
                break
        weight = 1.0
        before = tokens[max(0, i - 2) : i]
        if any(w in _INTENSIFIERS for w in before):
            weight *= 1.6
        if any(w in _SOFTENERS for w in before):
            weight *= 0.6
        if contrast_seen:
            weight *= 1.3
        hits.append(CueHit(i, len(cue.words), cue, weight, negated))
        i += len(cue.words)
    return hits


def _effective(target: float, negated: bool) -> tuple[float, float]:
    """A cue's value and a weight factor; a negated cue mirrors around 50 and weakens."""
    if negated:
        return 50.0 - (target - 50.0) * 0.55, 0.8
    return target, 1.0


def cue_features(text: str) -> list[float]:
    """Per dim: weighted mean pull of the cues (value - 50) / 50 and their total weight."""
    hits = find_cues(text)
    pulls = [0.0] * len(DIMS)
    weights = [0.0] * len(DIMS)
    for h in hits:
        for dim, target in h.cue.targets.items():
            k = DIMS.index(dim)
            value, factor = _effective(target, h.negated)
            w = h.weight * factor
            pulls[k] += w * (value - 50.0) / 50.0
            weights[k] += w
    feats: list[float] = []
    for k in range(len(DIMS)):
        mean = pulls[k] / weights[k] if weights[k] else 0.0
        feats.extend([mean, min(weights[k], 4.0) / 4.0])
    feats.append(min(len(tokenize(text)), 80) / 80.0)
    return feats


def rule_params(text: str) -> tuple[Params, list[CueHit]]:
    hits = find_cues(text)
    sums = [50.0 * _PRIOR_WEIGHT] * len(DIMS)
    weights = [_PRIOR_WEIGHT] * len(DIMS)
    for h in hits:
        for dim, target in h.cue.targets.items():
            k = DIMS.index(dim)
            value, factor = _effective(target, h.negated)
            w = h.weight * factor
            sums[k] += value * w
            weights[k] += w
    return Params.from_list(clamp(s / w) for s, w in zip(sums, weights, strict=True)), hits


def _justify(params: Params, hits: list[CueHit]) -> str:
    if not hits:
        return "No cue words found; every dimension stays neutral (50)."
    names = []
    for h in hits[:4]:
        word = " ".join(h.cue.words)
        names.append(f"not {word}" if h.negated else word)
    vals = params.as_dict()
    strongest = max(vals, key=lambda d: abs(vals[d] - 50))
    return f"Cues {', '.join(repr(n) for n in names)} drive it; strongest: {strongest} {vals[strongest]:.0f}."


class RuleInterpreter:
    """Deterministic lexicon baseline; never fails on valid text."""

    name = "rule"

    def interpret(self, text: str) -> Interpretation:
        t0 = time.perf_counter()
        cleaned = check_text(text)
        params, hits = rule_params(cleaned)
        ms = (time.perf_counter() - t0) * 1000.0
        return Interpretation(params=params, backend=self.name, latency_ms=ms, justification=_justify(params, hits))
