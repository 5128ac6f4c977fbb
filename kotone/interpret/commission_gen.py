"""Commission text from a small grammar, with a label computed from its parts.

Every phrase in the bank below carries the rubric values (SPEC §2) it would have if it were
the whole request, plus game tags. A request is a frame filled with a few phrases; its label
is, per dimension, a weighted mean of the phrases that speak about it (a phrase far from 50
weighs more, so one clear cue is not washed out by a vague one) and a weak neutral prior
of 50 (so a dimension nobody mentions stays near 50, as the rubric asks).

Used twice: the game generates fresh commissions (``generate_commission``; the target then
comes from the interpreter, as SPEC §3 says), and ``training/make_teacher_data.py`` builds
teacher examples from the same bank, label and short justification included.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from kotone.domain.params import DIMS, Params

_KEY = {"e": "energy", "w": "warmth", "b": "brightness", "a": "acousticness", "c": "complexity", "n": "nostalgia"}
PRIOR_WEIGHT = 0.25


@dataclass(frozen=True)
class Part:
    text: str
    values: dict[str, float]
    tags: tuple[str, ...] = ()
    weight: float = 1.0
    kind: str = ""


def _parts(kind: str, rows: Sequence[tuple[str, str] | tuple[str, str, str]]) -> list[Part]:
    out = []
    for row in rows:
        text, spec = row[0], row[1]
        tags = tuple(row[2].split()) if len(row) > 2 else ()
        vals = {_KEY[t[0]]: float(t[1:]) for t in spec.split()}
        out.append(Part(text, vals, tags, 1.0, kind))
    return out


SCENES = _parts("scene", [
    ("the first snow of the year", "e25 w45 b60 n65", "snow winter"),
    ("a night market in the rain", "e55 w55 b35 c65 a45", "night rain city"),
    ("a lighthouse on a stormy cape", "e55 w30 b30 a65", "sea"),
    ("a harvest festival in the village square", "e78 w75 b75 a80 n65", "festive folk autumn"),
    ("a neon-lit city at 3am", "e65 w30 b35 a15 n15", "city night synth futuristic"),
    ("an empty train station after midnight", "e20 w25 b30 a45 c30", "night sparse"),
    ("a cherry-blossom path in April", "e40 w65 b78 a75", "spring japanese"),
    ("a desert caravan at dusk", "e50 w60 b40 a80 c60 n65", "desert"),
    ("a mountain temple wrapped in fog", "e15 w45 b35 a85 c30 n70", "japanese calm"),
    ("a crowded dance floor", "e88 w55 b70 a25 c55 n35", "dance lively"),
    ("a frozen lake under the stars", "e12 w20 b45 a50 c20", "winter cold night"),
    ("a sunny beach in July", "e68 w65 b85 a60 n45", "summer bright sea"),
    ("a thunderstorm over the hills", "e85 w35 b25 c70", "dark"),
    ("a space station orbiting Jupiter", "e40 w15 b45 a8 c55 n5", "futuristic synth"),
    ("an old wooden cabin in the woods", "e30 w80 b50 a88 n75", "forest cozy acoustic"),
    ("a busy fish market at dawn", "e72 w62 b65 a70 c65", "lively"),
    ("a haunted manor on a hill", "e45 w25 b12 c60 n70", "spooky dark"),
    ("a rooftop garden at sunset", "e45 w70 b65 a60", "summer"),
    ("a rainy afternoon in a tiny café", "e30 w75 b40 a70 c45 n55", "rain cozy"),
    ("a marathon finish line", "e92 w55 b75 a40", "fast triumphant"),
    ("the deep sea where no light reaches", "e10 w25 b8 a40 c30", "sea dark"),
    ("a Celtic pub on a Friday night", "e80 w80 b70 a92 c65 n75", "celtic folk lively"),
    ("a bamboo forest in the wind", "e35 w55 b55 a85 c35", "japanese nature"),
    ("a glittering ballroom", "e62 w60 b82 a80 c75 n78", "classical waltz"),
    ("an arcade full of blinking machines", "e80 w45 b78 a10 c55 n55", "chiptune retro"),
    ("a snowed-in mountain hut with a crackling stove", "e20 w92 b50 a85 n70", "snow cozy warm"),
    ("a cyberpunk alley full of holograms", "e62 w25 b32 a8 c60 n5", "futuristic synth night city"),
    ("a summer festival with paper lanterns", "e72 w75 b75 a75 n65", "festive summer japanese"),
    ("a battlefield at dawn", "e85 w30 b35 a60 c70 n55", "epic"),
    ("a child's bedroom with a nightlight", "e15 w85 b60 a70 c15 n70", "lullaby childhood"),
    ("a jazz club full of smoke", "e55 w70 b40 a75 c82 n72", "jazz night"),
    ("a meadow full of butterflies", "e45 w65 b80 a85 c40", "spring nature bright"),
    ("an abandoned factory", "e35 w15 b25 a25 c40 n45", "cold dark"),
    ("a sleepy fishing village", "e25 w70 b55 a80 c30 n65", "sea calm"),
    ("a spaceship launch", "e88 w35 b65 a10 c65 n5", "futuristic epic"),
    ("a country fair with a Ferris wheel", "e70 w70 b78 a70 n65", "festive"),
    ("a cathedral at midnight", "e20 w40 b25 a85 c65 n75", "solemn"),
    ("the Sahara under a full moon", "e30 w45 b35 a80 c55 n60", "desert night"),
    ("a Rio street carnival", "e92 w75 b85 a75 c70", "latin festive dance"),
    ("an autumn forest path", "e35 w68 b45 a85 n68", "autumn forest"),
    ("an ice palace with mirrored halls", "e30 w8 b70 a35 c60", "cold winter"),
    ("a sterile laboratory at night", "e30 w8 b40 a10 c40 n15", "cold futuristic"),
    ("a glacier cracking in the polar night", "e40 w5 b25 a50 c45", "cold winter dark"),
    ("a clockwork tower full of spinning gears", "e60 w40 a60 c92 n70", "intricate"),
    ("a maze of mirrors", "e50 w30 b55 c90", "intricate mysterious"),
    ("a robot factory assembling itself", "e70 w10 b40 a5 c80 n10", "futuristic synth dense"),
])

MEMORIES = _parts("memory", [
    ("the way my grandmother hummed while she knitted", "e20 w88 a82 c25 n88", "nostalgic tender"),
    ("my father's old vinyl records", "w70 a70 n92", "vintage retro"),
    ("the music box I had as a little girl", "e15 w72 b80 a70 c20 n95", "childhood bells"),
    ("summer holidays at my grandparents' farm", "e50 w82 b72 a80 n88", "childhood summer"),
    ("the radio in my mother's kitchen", "e45 w80 a65 n85", "nostalgic"),
    ("school dances in the eighties", "e72 w60 b70 a35 n85", "retro"),
    ("the lullaby my nanny sang", "e15 w85 b55 a80 c20 n90", "lullaby"),
    ("my first bicycle", "e60 w65 b75 n82", "childhood"),
    ("the day my brother left home", "e30 w50 b30 n75", "melancholy"),
    ("my late husband's old guitar", "e25 w75 b35 a90 n85", "guitar melancholy"),
    ("the carousel at the old fairground", "e55 w65 b75 a70 n92", "retro playful"),
    ("grandpa's accordion at family weddings", "e70 w82 b70 a90 n90", "festive folk"),
    ("the hymns at my village church", "e25 w65 b50 a85 c45 n85", "solemn"),
    ("video games I played as a kid", "e70 w50 b70 a15 n80", "chiptune retro"),
    ("my mother brushing my hair at night", "e15 w90 b55 a75 c20 n85", "tender"),
    ("an old black-and-white movie", "e50 w60 b50 a75 n92", "vintage"),
    ("my first love, long ago", "e35 w80 b55 n85", "romantic"),
    ("a cassette tape my friend made for me", "e50 w70 a40 n88", "retro"),
])

SENSORY = _parts("sensory", [
    ("the smell of woodsmoke", "w82 a80 n70", "warm"),
    ("sunlight sparkling on water", "e55 b92", "bright"),
    ("cold metal and blinking lights", "w12 a8 n15", "cold synth"),
    ("bells ringing far away", "b78 a70 n65", "bells"),
    ("the crackle of an old record", "w70 a60 n95", "vintage"),
    ("rain tapping on the window", "e25 b35 a70", "rain"),
    ("footsteps on frozen ground", "e35 w20 b40", "cold winter"),
    ("the hum of distant machines", "e40 w20 a10 c40 n20", "texture"),
    ("warm bread fresh from the oven", "w88 b62 n65", "cozy"),
    ("the scent of cherry blossoms", "w62 b75 a80", "spring"),
    ("a heartbeat getting faster", "e75 c55", ""),
    ("wind whistling through pine trees", "e35 w35 a85", "forest"),
    ("fireflies blinking in the dark", "e30 b72 a70", "night"),
    ("church bells on a Sunday morning", "e40 w65 b75 a85 n75", "bells"),
    ("neon reflected in puddles", "e55 w30 b40 a15 n15", "city night"),
    ("the taste of cold lemonade", "e55 w55 b80", "summer"),
    ("thunder rolling closer", "e75 w30 b20", "dark"),
    ("snow muffling every sound", "e10 w45 b55", "snow"),
    ("a kettle whistling on the stove", "w85 a70 n70", "cozy"),
    ("glitter falling like confetti", "e72 b92 c55", "bright festive"),
    ("breath freezing in the air", "e20 w10 b45", "cold winter"),
    ("the glare of chrome under white light", "w8 b65 a10", "cold"),
    ("a hundred tiny gears ticking out of step", "c88 n60", "intricate"),
    ("voices weaving over and under each other", "w60 a85 c88", "intricate voice"),
])

EMOTIONS = _parts("emotion", [
    ("calm", "e20", "calm"), ("peaceful", "e18 w65", "calm"), ("joyful", "e72 b82", "lively"),
    ("sad", "e28 b22", "melancholy"), ("melancholy", "e28 b25 n65", "melancholy"),
    ("tender", "e22 w85", "tender"), ("playful", "e68 b78 c55", "playful"),
    ("angry", "e88 w30 b30", "dark"), ("lonely", "e22 w22 b30", "sparse"),
    ("hopeful", "e55 b70", "hopeful"), ("triumphant", "e85 b78 c65", "triumphant"),
    ("mysterious", "e40 b28 c65", "mysterious"), ("dreamy", "e25 w60 b55 c40", "dreamy"),
    ("restless", "e70 c65", ""), ("cozy", "e25 w90", "cozy"), ("cold", "w15", "cold"),
    ("frantic", "e92 c78", "fast"), ("romantic", "e35 w82 b58", "romantic"),
    ("wistful", "e30 b40 n80", "bittersweet"), ("eerie", "e35 w25 b15 c60", "spooky"),
    ("gloomy", "e25 w40 b15", "dark"), ("radiant", "e65 b92", "bright"),
    ("sleepy", "e10 w70", "slow"), ("solemn", "e20 b25 c45 n65", "solemn"),
    ("silly", "e70 b80 c35", "playful"), ("heroic", "e85 b72 c65", "epic"),
    ("bittersweet", "e35 w65 b42 n72", "bittersweet"), ("anxious", "e65 w35 b35 c65", ""),
    ("serene", "e15 w60 b60", "calm"), ("furious", "e95 w25 b25 c70", "fast"),
    ("icy", "w8 b45", "cold"), ("clinical", "w10 a20 c40", "cold"), ("aloof", "w15", "cold"),
    ("dizzying", "e70 c88", "intricate"), ("labyrinthine", "c92 b40", "intricate"),
])

HINTS = _parts("hint", [
    ("with just a solo piano", "a92 c30", "piano acoustic"),
    ("on an acoustic guitar", "a90 w70", "guitar acoustic"),
    ("with analog synthesizers", "a10 n55", "synth"),
    ("with pulsing synth arpeggios", "e65 a8 c55 n15", "synth electronic"),
    ("with a drum machine and deep bass", "e75 a12", "electronic"),
    ("with a string quartet", "a95 c70", "strings classical"),
    ("with tinkling bells and celesta", "b92 a75", "bells"),
    ("in a minor key", "b25", "dark"),
    ("in a bright major key", "b78", "bright"),
    ("at a slow waltz tempo", "e30 n70", "waltz"),
    ("at 170 bpm", "e95", "fast"),
    ("at a walking pace", "e50", ""),
    ("with one chord repeating", "c8", "minimal"),
    ("with simple triads", "c25", "minimal"),
    ("with jazzy seventh chords and syncopation", "c78 a70 n60", "jazz"),
    ("with dense counterpoint and key changes", "c95", "intricate"),
    ("in an odd meter like 7/8", "c88", "intricate"),
    ("with a music-box intro", "b80 a70 c25 n92", "bells childhood"),
    ("with vinyl crackle", "n90", "vintage"),
    ("with glitchy bitcrushed beats", "a5 c65 n10", "electronic"),
    ("with a choir of soft voices", "w75 a90 c55", "voice"),
    ("with brushed drums", "e40 w75 a85", "jazz"),
    ("with a big brass section", "e75 b70 a85 c65", "brass"),
    ("with an 808 kick", "e72 a10 n30", "electronic"),
    ("with a fiddle and a tin whistle", "e70 a95 n75", "celtic folk"),
    ("with an oud in a Hijaz scale", "a90 c65 n70 b40", "desert"),
    ("with a koto in the in scale", "a92 b35 c40 n75", "japanese"),
    ("with a shamisen and taiko drums", "e75 a92 n70", "japanese percussion"),
    ("with a bossa nova groove", "e48 w75 a80 c70", "latin"),
    ("with sparse, quiet notes", "e15 c15", "sparse"),
    ("with a lush orchestra", "e55 w70 a92 c78", "orchestral"),
    ("with a warm Rhodes piano", "w85 a55 n70", "piano"),
    ("with heavy distorted guitars", "e85 w35 a45", "dense"),
    ("with a swinging big band", "e72 w70 a85 c75 n88", "swing jazz"),
    ("with chiptune bleeps", "e70 b75 a5 n70", "chiptune"),
    ("with cold, metallic synth tones", "w8 a5 n20", "cold synth"),
    ("with a virtuosic fugue in five voices", "a85 c98 n75", "classical intricate"),
    ("with polyrhythms and constant modulation", "e65 c95", "intricate"),
    ("with a single drone note", "e10 c5", "minimal"),
])

NEGATIONS = _parts("negation", [
    ("Nothing too loud.", "e28"), ("No synths, please.", "a82"), ("Nothing sad.", "b65"),
    ("Not too complicated.", "c30"), ("Nothing old-fashioned.", "n25"),
    ("Please, no drums.", "e28 a70"), ("Don't make it sleepy.", "e62"),
    ("Nothing cold or robotic.", "w72 a70"), ("Not too sweet.", "w42 b45"),
    ("I don't want anything gloomy.", "b68"), ("No acoustic instruments at all.", "a8"),
    ("It shouldn't feel modern.", "n75"), ("Nothing fancy.", "c22"),
    ("Don't make it too slow.", "e60"), ("No big orchestra.", "c38"),
    ("Nothing electronic.", "a88"), ("Not too bright.", "b38"), ("Not too busy.", "c30"),
    ("Nothing too wild.", "e38"), ("Never boring.", "e62 c60"),
])

CONTRASTS = _parts("contrast", [
    ("sad but hopeful", "e40 b50", "bittersweet hopeful"),
    ("quiet but full of joy", "e28 b75", "gentle"),
    ("fast yet gentle", "e70 w68", "lively"),
    ("dark but warm", "w75 b25", "dark warm"),
    ("old-fashioned but full of energy", "e75 n78", "retro lively"),
    ("futuristic but cozy", "w78 a20 n10", "futuristic cozy"),
    ("simple but beautiful", "c22 b62", "minimal"),
    ("cheerful yet a little wistful", "e55 b65 n68", "bittersweet"),
    ("calm on the surface, restless underneath", "e45 c65", ""),
    ("icy but sparkling", "w15 b85", "cold bright"),
    ("loud but loving", "e82 w80", "warm"),
    ("gloomy but intricate", "b20 c82", "dark intricate"),
    ("electronic but warm and human", "w78 a25", "synth warm"),
    ("playful but a bit spooky", "e60 b45 c60", "playful spooky"),
    ("slow but never dull", "e35 c62", "slow"),
])

CULTURE = _parts("culture", [
    ("like a Japanese folk song", "a90 c40 n78", "japanese folk"),
    ("like an Irish jig", "e78 w75 a92 c65 n75", "celtic"),
    ("like a Middle Eastern bazaar", "e65 w65 a85 c70 n65", "desert"),
    ("like a Brazilian samba", "e85 w75 b80 a80 c70", "latin dance"),
    ("like a Viennese waltz", "e62 w65 b70 a92 c70 n85", "waltz classical"),
    ("like an Indian raga at dawn", "e30 w60 a92 c75 n70", "texture"),
    ("like West African drumming", "e85 w70 a90 c80", "percussion"),
    ("like a Chinese guzheng melody", "e35 w55 a92 c50 n72", "strings"),
    ("like a Balinese gamelan", "e55 b70 a88 c78 n65", "bells"),
    ("like a Scottish lament on bagpipes", "e30 w45 b25 a95 n82", "celtic melancholy"),
    ("like an Argentine tango", "e70 w70 b40 a88 c75 n75", "latin romantic"),
    ("like an Okinawan island song", "e50 w75 b72 a88 n72", "japanese"),
    ("like a Bach chorale", "e35 a90 c82 n85", "classical"),
    ("like a 1920s speakeasy", "e70 w70 b60 a80 c72 n95", "jazz vintage"),
    ("like Berlin techno", "e85 w20 b30 a5 c45 n20", "electronic dance"),
    ("like K-pop", "e78 b78 a20 c55 n20", "pop modern"),
])

SPEAKERS = [
    "I'm the town's baker.", "I'm a fisherman.", "I'm the old clockmaker.", "I'm a nurse.",
    "I'm eight years old!", "I run the flower shop.", "I'm the blacksmith's daughter.",
    "I'm a retired sailor.", "I'm a student.", "I'm the innkeeper.", "I'm a shepherd.",
    "I'm a night-shift guard.", "I work at the observatory.", "I'm a grandmother of five.",
    "I'm the new schoolteacher.", "I'm a traveling merchant.", "I'm a programmer.",
    "I'm the mayor.", "I'm a widower.", "I'm a street dancer.", "", "", "", "", "",
]
OPENERS = [
    "Could you write something for", "I'd love a song about", "Please make me a tune for",
    "Something that feels like", "I want music for", "Can you capture", "Write me a piece about",
    "A song for", "My request:", "Just give me", "I keep thinking about", "Compose something like",
]
PURPOSES = _parts("purpose", [
    ("It's for my wedding.", "e60 w85 b75", "romantic"),
    ("It's for a funeral.", "e20 b20 n65", "solemn"),
    ("It's for my baby's bedtime.", "e10 w90 c15 n70", "lullaby"),
    ("It's for my workout.", "e88 a30", "fast"),
    ("It's for a birthday party.", "e75 w70 b82", "festive"),
    ("It's to help me study.", "e35 c40", "calm"),
    ("It's for the opening of my tech shop.", "e65 a15 n10", "modern"),
    ("It's for my grandmother's 90th birthday.", "e40 w85 n88", "nostalgic"),
    ("It's to play while I cook dinner.", "e50 w75", "warm"),
    ("It's for a horror game.", "e50 w20 b10 c65", "spooky"),
])

FRAMES = [
    "{speaker} {opener} {scene}, {emotion}. {negation}",
    "{opener} {memory}. {hint_cap}.",
    "{speaker} {opener} {scene} {hint}. {purpose}",
    "{emotion_cap} music, {contrast}, for {scene}.",
    "{opener} {scene} and {sensory}, {culture}.",
    "{memory_cap}... {emotion}, {hint}. {negation}",
    "{speaker} Something {contrast}, {culture}. {purpose}",
    "{scene_cap}. {sensory_cap}. {memory_cap}.",
    "{opener} {sensory}, {emotion} and {emotion2}.",
    "{emotion_cap}, {emotion2}, {hint}.",
    "{purpose} {opener} {memory}, {contrast}.",
    "{speaker} {opener} {scene}. Make it {emotion}, {culture}. {negation}",
    "{scene_cap}, {hint}.",
    "{opener} {scene}.",
    "{speaker} {opener} {scene}, {emotion}, {hint}.",
    "{scene_cap} {hint}, {emotion} and {emotion2}. {negation}",
    "{sensory_cap} and {memory}.",
]


@dataclass
class Generated:
    text: str
    params: Params
    parts: list[Part] = field(default_factory=list)
    justification: str = ""
    tags: list[str] = field(default_factory=list)


def combine(parts: Sequence[Part]) -> Params:
    """Per dim: weighted mean of the parts that speak about it, with a weak prior of 50."""
    vals = []
    for d in DIMS:
        num, den = 50.0 * PRIOR_WEIGHT, PRIOR_WEIGHT
        for p in parts:
            if d in p.values:
                v = p.values[d]
                w = p.weight * (0.3 + abs(v - 50.0) / 50.0)
                num += v * w
                den += w
        vals.append(num / den)
    return Params.from_list(round(v) for v in vals)


_WORDS = {
    "energy": ("still and slow", "calm", "lively", "explosive"),
    "warmth": ("icy and distant", "cool", "cozy", "warm as a hug"),
    "brightness": ("dark", "dusky", "sunny", "sparkling"),
    "acousticness": ("fully electronic", "mostly electronic", "mostly acoustic", "unplugged"),
    "complexity": ("minimal", "simple", "rich", "intricate"),
    "nostalgia": ("futuristic", "contemporary", "memory-laden", "of the distant past"),
}


def describe(params: Params) -> str:
    """Rubric words for the dims furthest from neutral, e.g. 'calm, cozy, memory-laden'."""
    vals = params.as_dict()
    words = []
    for d in sorted(DIMS, key=lambda d: -abs(vals[d] - 50)):
        v = vals[d]
        if abs(v - 50) < 12:
            break
        idx = 0 if v < 20 else 1 if v < 50 else 3 if v > 80 else 2
        words.append(f"{_WORDS[d][idx]} ({d} {v:.0f})")
        if len(words) == 3:
            break
    return ", ".join(words) if words else "neutral on every dimension"


def justify(parts: Sequence[Part], params: Params) -> str:
    cues = [p.text.rstrip(".") for p in parts if p.values][:3]
    if not cues:
        return "No cue; every dimension stays near 50."
    return f"{'; '.join(repr(c) for c in cues)} make it {describe(params)}; unmentioned dims stay near 50."


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def conflict(parts: Sequence[Part]) -> float:
    """Largest disagreement between two parts on one dim (0 = coherent, 100 = opposite)."""
    worst = 0.0
    for d in DIMS:
        vals = [p.values[d] for p in parts if d in p.values]
        if len(vals) > 1:
            worst = max(worst, max(vals) - min(vals))
    return worst


def generate(rng: random.Random, max_conflict: float = 50.0, tries: int = 30,
             speakers: Sequence[str] | None = None) -> Generated:
    """One request from a random frame, mostly coherent (parts that contradict each other
    by more than ``max_conflict`` on a dim are redrawn, except now and then: real requests
    mix feelings too); its label is computed from the parts used."""
    for _ in range(tries):
        g = _generate_once(rng, speakers or SPEAKERS)
        if conflict(g.parts) <= max_conflict or rng.random() < 0.08:
            return g
    return g


def _generate_once(rng: random.Random, speakers: Sequence[str]) -> Generated:
    frame = rng.choice(FRAMES)
    used: list[Part] = []
    fill: dict[str, str] = {}

    def take(bank: list[Part], key: str) -> None:
        p = rng.choice(bank)
        if key.endswith("2"):
            while p.text == fill.get(key[:-1]):
                p = rng.choice(bank)
        used.append(p)
        fill[key] = p.text
        fill[key + "_cap"] = _cap(p.text)

    slots = {"scene": SCENES, "memory": MEMORIES, "sensory": SENSORY, "emotion": EMOTIONS,
             "emotion2": EMOTIONS, "hint": HINTS, "negation": NEGATIONS, "contrast": CONTRASTS,
             "culture": CULTURE, "purpose": PURPOSES}
    for key, bank in slots.items():
        if "{" + key + "}" in frame or "{" + key + "_cap}" in frame:
            take(bank, key)
    fill["speaker"] = rng.choice(speakers)
    fill["opener"] = rng.choice(OPENERS)
    text = " ".join(frame.format(**fill).split())
    params = combine(used)
    tags = sorted({t for p in used for t in p.tags})
    return Generated(text, params, used, justify(used, params), tags)


# Parts that only an adult could say about themselves (a child persona never draws them).
ADULT_ONLY = ("my wedding", "my baby", "my late husband", "in the eighties", "90th birthday", "long ago",
              "a funeral", "my tech shop", "my brother left home")
PERSONA_MARGIN = 30.0  # a request may differ from its speaker's leaning by at most this on a dim
PERSONA_LEAN = 8.0  # a trait this far from 50 is a leaning worth respecting
PERSONA_TRIES = 40


@dataclass(frozen=True)
class Persona:
    """What a townsperson's own words say about the music they would ask for."""

    traits: Params  # the interpreter's reading of their personality text
    child: bool = False


def read_persona(personality: str, interpreter) -> Persona:
    child = bool(re.search(r"\b(\w+|\d+) years old\b|\bkid\b|\bchild\b", personality.lower()))
    if re.search(r"\b(teenage|teen)\b", personality.lower()):
        child = True
    return Persona(traits=interpreter.interpret(personality).params, child=child)


def persona_misfit(g: Generated, persona: Persona) -> float:
    """How far a request strays from its speaker: 0 when it fits every leaning (and no part is
    one the speaker could not say), else the worst excess in points."""
    if persona.child and any(a in p.text for p in g.parts for a in ADULT_ONLY):
        return 100.0
    worst = 0.0
    for d in DIMS:
        trait, said = getattr(persona.traits, d), getattr(g.params, d)
        if abs(trait - 50.0) >= PERSONA_LEAN:
            worst = max(worst, abs(said - trait) - PERSONA_MARGIN)
    return worst


def generate_for(rng: random.Random, persona: Persona) -> Generated:
    """A request in the speaker's own voice (no other speaker's self-introduction) that fits
    their leanings; the best-fitting of a few draws when none fits exactly."""
    best, best_misfit = None, float("inf")
    for _ in range(PERSONA_TRIES):
        g = generate(rng, speakers=("",))
        misfit = persona_misfit(g, persona)
        if misfit < best_misfit:
            best, best_misfit = g, misfit
        if misfit <= 0:
            break
    assert best is not None
    return best


def generate_commission(rng: random.Random, townsperson: str, interpreter=None, ident: str | None = None,
                        vocabulary: frozenset[str] | None = None, persona=None) -> dict:
    """A fresh commission dict (Commission schema) for the board.

    The target comes from ``interpreter`` when given (the game labels generated text with
    its interpreter, SPEC §3), else from the grammar's own label. Optional tags are the
    parts' tags that exist in ``vocabulary``. With ``persona`` (a Townsperson) and an
    interpreter, the request is written in that person's voice and fits their personality.
    """
    if persona is not None and interpreter is not None:
        g = generate_for(rng, read_persona(persona.personality, interpreter))
    else:
        g = generate(rng)
    target = interpreter.interpret(g.text).params if interpreter is not None else g.params
    tags = [t for t in g.tags if vocabulary is None or t in vocabulary][:3]
    spread = sum(abs(v - 50) for v in target.as_list()) / 6
    difficulty = max(1, min(5, 1 + int(spread // 8)))
    return {
        "id": ident or f"gen_{rng.randrange(16**8):08x}",
        "townsperson": townsperson,
        "text": g.text,
        "target": target.rounded(1),
        "tags": {"optional": tags},
        "reward": 40 + 20 * difficulty,
        "difficulty": difficulty,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m kotone.interpret.commission_gen --n 5 [--seed 1] [--backend embed]``:
    fresh commissions as JSON lines, targets labelled by the interpreter."""
    import argparse
    import json

    from kotone.assets import load_book, tag_vocabulary
    from kotone.interpret import get_interpreter

    ap = argparse.ArgumentParser(prog="python -m kotone.interpret.commission_gen")
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default=None, help="interpreter that labels the text (default: the default)")
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    people = sorted(load_book().people)
    interp = get_interpreter(a.backend)
    for i in range(a.n):
        c = generate_commission(rng, rng.choice(people), interp, f"gen_{a.seed}_{i:03d}", tag_vocabulary())
        print(json.dumps(c, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
