"""The lm backend, offline and fast: prompt, JSON extraction, fallback counting, bounded
generation, a 2-step LoRA training smoke, adapter save/load and the Hub push (fake HfApi).

The model is a tiny random Llama built here with a small BPE tokenizer trained in memory, so
nothing is downloaded and nothing large is loaded.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from kotone.domain.params import DIMS, Params  # noqa: E402
from kotone.interpret import base, prompts  # noqa: E402
from kotone.interpret import lm as lmmod  # noqa: E402
from kotone.interpret.base import Interpretation  # noqa: E402
from kotone.interpret.jsonio import FallbackInterpreter  # noqa: E402
from kotone.interpret.lm import LMInterpreter, LMRunner, LMSettings  # noqa: E402

ROWS = [
    {"id": "t1", "text": "something for the first snow, the way my grandmother hummed while she knitted",
     "params": {"energy": 20, "warmth": 82, "brightness": 55, "acousticness": 80, "complexity": 25, "nostalgia": 85},
     "justification": "Hand label: of the distant past (nostalgia 85), warm as a hug (warmth 82) (cues: snow, knit)."},
    {"id": "t2", "text": "Neon rain on a rooftop rave, fast and cold.",
     "params": {"energy": 90, "warmth": 20, "brightness": 45, "acousticness": 10, "complexity": 55, "nostalgia": 15},
     "justification": "'rooftop rave'; 'cold' make it explosive (energy 90), icy (warmth 20); unmentioned dims stay near 50."},
    {"id": "t3", "text": "A lullaby for my baby sister.",
     "params": {"energy": 12, "warmth": 90, "brightness": 60, "acousticness": 85, "complexity": 20, "nostalgia": 80},
     "justification": "Calm and cozy."},
    {"id": "t4", "text": "Fiddles at the harvest dance!",
     "params": {"energy": 80, "warmth": 70, "brightness": 75, "acousticness": 90, "complexity": 50, "nostalgia": 70},
     "justification": ""},
]

GOOD = 'Justification: Cozy and old.\n```json\n{"energy": 20, "warmth": 80, "brightness": 55, ' \
       '"acousticness": 80, "complexity": 25, "nostalgia": 85}\n```'


# ---------------------------------------------------------------- tiny model


@pytest.fixture(scope="module")
def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [prompts.SYSTEM_PROMPT, GOOD] + [r["text"] for r in ROWS] + \
             [prompts.format_response(r["justification"], r["params"]) for r in ROWS]
    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(corpus * 3, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<pad>", unk_token="<unk>")


def tiny_model(vocab_size: int, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      pad_token_id=0, bos_token_id=2, eos_token_id=3, tie_word_embeddings=True)
    return LlamaForCausalLM(cfg).eval()


class FakeRunner:
    """Stands in for a loaded model: returns canned answers, records prompts."""

    def __init__(self, outputs):
        self.outputs = list(outputs)
        self.tokenizer = type("Tok", (), {"chat_template": None})()
        self.last_timed_out = False
        self.prompts = []

    def generate_text(self, prompt, *, max_new_tokens, max_time_s, prefix=""):
        self.prompts.append(prompt)
        return self.outputs.pop(0)


class FakeRule:
    name = "rule"

    def interpret(self, text):
        return Interpretation(Params(energy=42), "rule", 0.1)


# ---------------------------------------------------------------- prompt


def test_prompt_has_rubric_and_request_in_both_template_paths(tiny_tokenizer):
    msgs = prompts.build_messages("rainy café")
    assert [m["role"] for m in msgs] == ["system", "user"] and "rainy café" in msgs[1]["content"]
    for d in DIMS:
        assert d in prompts.SYSTEM_PROMPT
    plain = prompts.render_prompt(tiny_tokenizer, "rainy café")  # no chat template: built-in ChatML
    assert plain.startswith("<|im_start|>system\n") and plain.endswith("<|im_start|>assistant\n")
    assert "Request: rainy café" in plain
    tiny_tokenizer.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                                    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    try:
        assert prompts.render_prompt(tiny_tokenizer, "rainy café") == plain
    finally:
        tiny_tokenizer.chat_template = None
    pre = prompts.shared_prefix(tiny_tokenizer)
    assert plain.startswith(pre) and pre.endswith("user\n") and prompts.SYSTEM_PROMPT in pre


def test_response_format_and_justification_cleaning():
    resp = prompts.format_response(ROWS[0]["justification"], ROWS[0]["params"])
    first, fence, body, close = resp.split("\n")
    assert first.startswith("Justification: ") and "Hand label" not in first and "cues" not in first
    assert fence == "```json" and close == "```"
    assert list(json.loads(body)) == list(DIMS) and json.loads(body)["warmth"] == 82
    grammar = prompts.clean_justification(ROWS[1]["justification"])
    assert grammar == "Explosive (energy 90), icy (warmth 20)."
    assert prompts.clean_justification("", ROWS[2]["params"]).startswith("The request mostly sets warmth (90)")
    long = prompts.clean_justification(" ".join(["word"] * 60))
    assert len(long.split()) <= prompts.MAX_JUSTIFICATION_WORDS and long.endswith(".")
    assert prompts.split_justification(GOOD) == "Cozy and old."


# ---------------------------------------------------------------- extraction and fallback


@pytest.mark.parametrize("raw,expect", [
    (GOOD, {"energy": 20, "nostalgia": 85}),
    ('Justification: ok.\n{"energy": 70, "warmth": 30, "brightness": 50, "acousticness": 10, '
     '"complexity": 40, "nostalgia": 5}', {"energy": 70, "nostalgia": 5}),
    ('```json\n{"energy": 140, "warmth": -5, "brightness": "55", "acousticness": 80, '
     '"complexity": 25, "nostalgia": 85}\n```', {"energy": 100, "warmth": 0, "brightness": 55}),
])
def test_valid_outputs_fenced_raw_and_clamped(raw, expect):
    it = LMInterpreter(runner=FakeRunner([raw]), settings=LMSettings(threads=0))
    out = it.interpret("first snow")
    assert out.valid and not out.fallback and out.backend == "lm"
    for k, v in expect.items():
        assert getattr(out.params, k) == v
    assert it.stats["valid"] == 1 and it.json_valid_rate == 1.0


@pytest.mark.parametrize("raw", [
    "Justification: cozy.\n```json\n{\"energy\": 20, \"warmth\": 80",  # cut off by the token bound
    "I think it is cozy and slow.",  # no JSON at all
    '```json\n{"energy": 20, "warmth": 80}\n```',  # missing dims
    "",
])
def test_broken_outputs_fall_back_to_rule_and_are_counted(raw):
    inner = LMInterpreter(runner=FakeRunner([raw, GOOD]), settings=LMSettings(threads=0))
    wrapped = FallbackInterpreter(inner, FakeRule())
    bad = wrapped.interpret("first snow")
    assert not bad.valid and bad.fallback and bad.params.energy == 42 and bad.backend == "lm"
    good = wrapped.interpret("first snow")
    assert good.valid and not good.fallback and good.params.energy == 20
    assert wrapped.calls == 2 and wrapped.fallbacks == 1
    assert inner.stats["invalid"] == 1 and inner.stats["valid"] == 1 and inner.json_valid_rate == 0.5


def test_json_closed_stops_right_after_the_block():
    assert not lmmod.json_closed("Justification: x.\n```json\n{\"energy\": 2")
    assert not lmmod.json_closed("Justification: x.\n```json\n{\"energy\": 2}")
    assert lmmod.json_closed(GOOD)
    assert lmmod.json_closed('{"a": {"b": 1}}') and not lmmod.json_closed('{"a": {"b": 1}')


def test_registration_settings_and_gpu_duration(monkeypatch):
    lmmod.register_lm()
    assert "lm" in base.available()
    s = LMSettings.from_env({"KOTONE_LM_BASE": "org/model", "KOTONE_LM_ADAPTER": "none",
                             "KOTONE_LM_MAX_TIME_S": "7", "KOTONE_LM_MAX_NEW_TOKENS": "50"})
    assert s.base == "org/model" and s.adapter_source() is None and s.max_time_s == 7 and s.max_new_tokens == 50
    assert LMSettings.from_env({}).base == lmmod.LOCAL_BASE
    assert LMSettings(base="org/model").adapter_source() is None  # the shipped adapter is for SmolLM2 only
    assert LMSettings(adapter="/x/y").adapter_source() == "/x/y"
    assert 10 <= lmmod.gpu_duration(None, "p", 96, 20.0) <= 120
    assert lmmod.gpu_duration(None, "p", 96, 20.0) >= 20  # covers the wall-clock bound


def test_hub_load_failure_falls_back_to_local_default(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # read once at import
    with pytest.raises(Exception):  # noqa: B017 - offline: a hub id cannot load, and fails fast
        lmmod.load_base("kotone-nonexistent-org/kotone-nonexistent-model")
    calls = []

    def loader(base_src, adapter):
        calls.append((base_src, adapter))
        if base_src != lmmod.LOCAL_BASE:
            return lmmod.load_pair(base_src, adapter)  # the real loader: offline -> raises
        return "model", "tok"

    model, tok, base_name, _adapter, note = lmmod.load_with_fallback(
        LMSettings(base="kotone-nonexistent-org/kotone-nonexistent-model", adapter="none"), loader)
    assert (model, tok, base_name) == ("model", "tok", lmmod.LOCAL_BASE)
    assert "using the local default" in note and calls[0][0].startswith("kotone-nonexistent-org")


# ---------------------------------------------------------------- real (tiny) generation


def test_tiny_model_generation_is_bounded_and_falls_back(tiny_tokenizer):
    model = tiny_model(len(tiny_tokenizer))
    runner = LMRunner(model, tiny_tokenizer, device="cpu")
    inner = LMInterpreter(runner=runner, settings=LMSettings(max_new_tokens=12, max_time_s=5.0, threads=0))
    wrapped = FallbackInterpreter(inner, FakeRule())
    out = wrapped.interpret("first snow at grandmother's")
    assert out.fallback and not out.valid  # a random model writes no valid JSON
    assert len(tiny_tokenizer(inner_raw(inner, runner), add_special_tokens=False)["input_ids"]) <= 12 + 2
    # the wall-clock criterion: a near-zero budget returns at once and is counted as a time-out
    inner.settings = LMSettings(max_new_tokens=400, max_time_s=0.001, threads=0)
    t0 = time.perf_counter()
    inner.interpret("first snow")
    assert time.perf_counter() - t0 < 5 and inner.stats["timeouts"] >= 1
    # the prefix cache gives the same greedy text as a full prefill
    prompt = prompts.render_prompt(tiny_tokenizer, "harvest dance")
    pre = prompts.shared_prefix(tiny_tokenizer)
    runner.prefix_cache = False
    a = runner.generate_text(prompt, max_new_tokens=8, max_time_s=5, prefix=pre)
    runner.prefix_cache = True
    b = runner.generate_text(prompt, max_new_tokens=8, max_time_s=5, prefix=pre)
    assert a == b


def inner_raw(inner, runner):
    prompt = prompts.render_prompt(runner.tokenizer, "first snow")
    return runner.generate_text(prompt, max_new_tokens=inner.settings.max_new_tokens, max_time_s=5)


# ---------------------------------------------------------------- training smoke + adapter roundtrip


def test_two_step_lora_training_then_adapter_roundtrip(tiny_tokenizer, tmp_path):
    from training import sft_lora

    base_dir = tmp_path / "base"
    model = tiny_model(len(tiny_tokenizer), seed=1)
    model.save_pretrained(base_dir)
    tiny_tokenizer.save_pretrained(base_dir)
    cfg = sft_lora.load_config(None, {
        "base": str(base_dir), "output_dir": str(tmp_path / "adapter"), "batch_size": 2, "grad_accum": 1,
        "max_steps": 2, "lr": 5e-3, "warmup_steps": 1, "threads": 0, "log_every": 1, "max_seq_len": 512,
        "time_budget_s": 60,
    })
    cfg["wandb"]["mode"] = "disabled"
    ex = sft_lora.encode_example(tiny_tokenizer, ROWS[0], 512)
    assert ex and ex["n_prompt"] < len(ex["input_ids"])
    batch = sft_lora.collate([ex, sft_lora.encode_example(tiny_tokenizer, ROWS[3], 512)], tiny_tokenizer.pad_token_id)
    assert batch["input_ids"][0, 0] == tiny_tokenizer.pad_token_id or batch["input_ids"][1, 0] == tiny_tokenizer.pad_token_id
    n_answer = int((batch["labels"] != -100).sum())
    assert n_answer == sum(len(e["input_ids"]) - e["n_prompt"] for e in
                           [ex, sft_lora.encode_example(tiny_tokenizer, ROWS[3], 512)])

    summary = sft_lora.train(cfg, model=model, tokenizer=tiny_tokenizer, train_rows=ROWS, valid_rows=ROWS[:2],
                             log_wandb=False)
    out = tmp_path / "adapter"
    assert summary["steps"] == 2 and summary["stopped_by"] == "max_steps"
    assert (out / "adapter_config.json").exists() and (out / "adapter_model.safetensors").exists()
    tc = json.loads((out / "training_config.json").read_text())
    assert tc["config"]["lora"]["r"] == 8 and tc["prompt_version"] == prompts.PROMPT_VERSION
    assert tc["n_train"] == 4 and tc["valid_loss_after"] == tc["valid_loss_after"]  # not NaN
    ac = json.loads((out / "adapter_config.json").read_text())
    assert sorted(ac["target_modules"]) == ["q_proj", "v_proj"]

    # the trained LoRA weights are not zero (lora_B starts at zero; two steps moved it)
    from safetensors.torch import load_file

    weights = load_file(str(out / "adapter_model.safetensors"))
    assert any("lora_B" in k and float(v.abs().sum()) > 0 for k, v in weights.items())

    # reload: base from its folder + adapter, merged; same logits as the trained peft model
    trained = model  # get_peft_model wrapped this model in place
    reloaded, tok = lmmod.load_pair(str(base_dir), str(out))
    ids = tiny_tokenizer(prompts.render_prompt(tiny_tokenizer, "harvest"), return_tensors="pt")["input_ids"]
    trained.eval()
    with torch.no_grad():
        a = trained(input_ids=ids).logits
        b = reloaded(input_ids=ids).logits
        plain = tiny_model(len(tiny_tokenizer), seed=1)(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4)
    assert not torch.allclose(plain, b, atol=1e-4)
    assert tok.pad_token is not None

    # a second round continues from the saved adapter (init_adapter) instead of fresh layers
    from transformers import LlamaForCausalLM

    cfg2 = {**cfg, "init_adapter": str(out), "output_dir": str(tmp_path / "adapter2"), "max_steps": 1}
    s2 = sft_lora.train(cfg2, model=LlamaForCausalLM.from_pretrained(base_dir), tokenizer=tiny_tokenizer,
                        train_rows=ROWS[:2], valid_rows=ROWS[:2], log_wandb=False)
    assert s2["steps"] == 1 and s2["valid_loss_before"] == pytest.approx(summary["valid_loss_after"], abs=1e-4)


# ---------------------------------------------------------------- push to the Hub (fake API)


class FakeHfApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, **kw):
        self.calls.append(("create_repo", kw))
        return f"https://huggingface.co/{kw['repo_id']}"

    def upload_folder(self, **kw):
        files = sorted(p.name for p in Path(kw["folder_path"]).iterdir())
        card = (Path(kw["folder_path"]) / "README.md").read_text()
        self.calls.append(("upload_folder", {**kw, "files": files, "card": card}))
        return type("Info", (), {"commit_url": "https://huggingface.co/x/commit/1"})()


def _fake_adapter(tmp_path: Path) -> Path:
    d = tmp_path / "adapter"
    d.mkdir()
    (d / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct",
                                                       "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}))
    (d / "adapter_model.safetensors").write_bytes(b"\0" * 16)
    (d / "training_config.json").write_text(json.dumps({"config": {"lora": {"r": 8}}, "n_train": 500, "steps": 60,
                                                        "prompt_version": prompts.PROMPT_VERSION}))
    return d


def test_push_adapter_uploads_with_model_card_and_keeps_token_secret(tmp_path, monkeypatch, capsys):
    from training import push_adapter

    secret = "hf_SECRETtoken123"
    monkeypatch.setenv("HF_TOKEN", secret)
    d = _fake_adapter(tmp_path)
    ev = tmp_path / "eval.json"
    ev.write_text(json.dumps({"metrics": {"n": 160, "json_valid_rate": 0.9, "vector_mae": 14.2,
                                          "p50_latency_ms": 8000.0, "p95_latency_ms": 12000.0}}))
    api = FakeHfApi()
    push_adapter.push(d, "someone/kotone-lm", api=api, eval_path=ev)
    (name1, kw1), (name2, kw2) = api.calls
    assert name1 == "create_repo" and kw1["repo_id"] == "someone/kotone-lm" and kw1["exist_ok"] and kw1["private"]
    assert name2 == "upload_folder" and kw2["repo_type"] == "model"
    assert kw2["files"] == ["README.md", "adapter_config.json", "adapter_model.safetensors", "training_config.json"]
    card = kw2["card"]
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card and "library_name: peft" in card
    assert "0.9000" in card and "14.20" in card and prompts.PROMPT_VERSION in card
    assert secret not in card and secret not in capsys.readouterr().out


def test_push_adapter_refuses_offline_or_without_token(tmp_path, monkeypatch):
    from training import push_adapter

    d = _fake_adapter(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(push_adapter.PushError, match="HF_HUB_OFFLINE"):
        push_adapter.push(d, "someone/kotone-lm")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    with pytest.raises(push_adapter.PushError, match="HF_TOKEN"):
        push_adapter.push(d, "someone/kotone-lm")
    assert push_adapter.main(["--adapter", str(d), "--repo-id", "someone/x", "--dry-run", str(tmp_path / "st")]) == 0
    assert (tmp_path / "st" / "README.md").exists()


def test_lm_quick_summary_counts_validity_before_fallback():
    from eval import lm_quick

    gold = ROWS[0]["params"]
    recs = [
        {"id": "a", "valid": True, "fallback": False, "timed_out": False, "params": gold, "gold": gold,
         "rule": {**gold, "energy": 50}, "latency_ms": 100.0, "lm_latency_ms": 100.0},
        {"id": "b", "valid": False, "fallback": True, "timed_out": True, "params": {**gold, "energy": 80}, "gold": gold,
         "rule": {**gold, "energy": 80}, "latency_ms": 300.0, "lm_latency_ms": None},
    ]
    s = lm_quick.summarize(recs, {"data": "x", "rows_total": 2})
    m = s["metrics"]
    assert m["json_valid_rate"] == 0.5 and m["fallbacks"] == 1 and m["timeouts"] == 1
    assert m["vector_mae"] == pytest.approx(60 / 12) and m["vector_mae_valid_only"] == 0.0
    assert m["rule_mae_same_valid_rows"] == pytest.approx(30 / 6)
    assert m["p50_latency_ms"] == 200.0 and m["p95_latency_ms"] == pytest.approx(290.0)
