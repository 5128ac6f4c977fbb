"""Part generators per role. Rule-based by default; neural experts plug in per role."""

from __future__ import annotations

from kotone.domain.plan import SongPlan, TrackSpec
from kotone.music.generators.bass import RuleBass
from kotone.music.generators.drums import RuleDrums, RulePercussion
from kotone.music.generators.harmony import RuleHarmony, RulePad
from kotone.music.generators.melody import RuleCounter, RuleMelody
from kotone.music.generators.texture import RuleTexture
from kotone.music.types import PartGenerator

FAST_ARPEGGIO_STYLES = ("style_chiptune",)


def double_time_section(plan: SongPlan) -> str:
    """The section type a Double Time gimmick doubles: the chorus, or the bridge of a song without one."""
    kinds = {s.section_type for s in plan.sections}
    return "chorus" if "chorus" in kinds else "bridge"


def rule_generator(track: TrackSpec, plan: SongPlan) -> PartGenerator:
    role = track.role
    effect = plan.effects[0] if plan.effects else ""
    if role == "drums":
        return RuleDrums(kit=track.kit or "standard", double_in=double_time_section(plan) if effect == "double_time" else "")
    if role == "percussion":
        return RulePercussion()
    if role == "bass":
        return RuleBass(style=plan.bass_style)
    if role == "harmony":
        fast = effect == "arpeggiator" or plan.cards.get("style") in FAST_ARPEGGIO_STYLES
        return RuleHarmony(comp=plan.comp_style, fast_arpeggio=fast)
    if role == "pad":
        return RulePad()
    if role == "melody":
        return RuleMelody()
    if role == "counter":
        return RuleCounter(mode={"canon": "canon", "call_response": "response"}.get(effect, "guide"))
    if role == "texture":
        return RuleTexture(effect=effect or "rain")
    raise ValueError(f"no generator for role {role!r}")


def generator_for(track: TrackSpec, plan: SongPlan) -> PartGenerator:
    """The generator a track uses: its named expert when one is loaded, else the rules."""
    if track.generator != "rule":
        from kotone.music.experts_registry import expert_for  # optional neural layer

        expert = expert_for(track.role, track.generator)
        if expert is not None:
            return expert
    return rule_generator(track, plan)
