"""The Space's Ministral 3B path, end to end offline, under ``accelerate launch``.

A tiny random model of the same architecture (``Mistral3ForConditionalGeneration``: a
Pixtral vision tower + a Ministral3 language model) is built from a config -- nothing is
downloaded -- and saved with a small in-memory BPE tokenizer. ``training/configs/lm_space.json``
is then run as is (only the base, the data, the output folder and the size of the run are
overridden) through ``accelerate launch -m training.sft_lora``; the adapter it writes must
touch only the language model's attention, and the backend's own loader must load base +
adapter and answer a request (falling back to rule, counted, since a random model writes no
JSON).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("accelerate")

from kotone.interpret import prompts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

ROWS = [
    {"id": f"r{i}", "text": t, "params": p, "justification": "Calm and cozy.", "source": "natural_w1"}
    for i, (t, p) in enumerate([
        ("Forty winters I kept the lighthouse; write me something lonely for the lamp.",
         {"energy": 20, "warmth": 35, "brightness": 30, "acousticness": 60, "complexity": 30, "nostalgia": 75}),
        ("yo need smth to grind ranked to, fast and loud pls",
         {"energy": 92, "warmth": 40, "brightness": 60, "acousticness": 15, "complexity": 55, "nostalgia": 20}),
        ("A slow waltz for solo accordion at dusk by the fish market.",
         {"energy": 30, "warmth": 70, "brightness": 45, "acousticness": 95, "complexity": 40, "nostalgia": 80}),
        ("Bread still warm from the oven, the street asleep.",
         {"energy": 22, "warmth": 85, "brightness": 55, "acousticness": 80, "complexity": 30, "nostalgia": 65}),
    ])
]


def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [prompts.SYSTEM_PROMPT] + [r["text"] for r in ROWS] + \
             [prompts.format_response(r["justification"], r["params"]) for r in ROWS]
    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(corpus * 3, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<pad>", unk_token="<unk>")


def tiny_ministral(vocab_size: int):
    """Same classes as mistralai/Ministral-3-3B-Instruct-2512, a few thousand random weights."""
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration, PixtralVisionConfig
    from transformers.models.ministral3 import Ministral3Config

    torch.manual_seed(0)
    text = Ministral3Config(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=512,
                            pad_token_id=0, bos_token_id=2, eos_token_id=3, tie_word_embeddings=True)
    vision = PixtralVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 head_dim=8, image_size=32, patch_size=16)
    return Mistral3ForConditionalGeneration(Mistral3Config(vision_config=vision, text_config=text,
                                                           image_token_index=1)).eval()


@pytest.mark.slow
def test_space_config_runs_under_accelerate_launch_with_a_tiny_ministral(tmp_path):
    tok = tiny_tokenizer()
    base = tmp_path / "tiny-ministral3"
    tiny_ministral(len(tok)).save_pretrained(base)
    tok.save_pretrained(base)
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    space = json.loads((ROOT / "training" / "configs" / "lm_space.json").read_text())
    out = tmp_path / "adapter"
    cfg = {**space, "base": str(base), "train_files": [str(data)], "valid_file": str(data), "n_valid": 2,
           "output_dir": str(out), "max_steps": 2, "batch_size": 2, "grad_accum": 1, "dtype": "float32",
           "mixed_precision": "no", "threads": 1, "log_every": 1,
           "wandb": {**space["wandb"], "mode": "disabled"}}
    cfg_path = tmp_path / "lm_space_dry.json"
    cfg_path.write_text(json.dumps(cfg))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WANDB_MODE": "disabled"}
    proc = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--cpu",
                           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                           "-m", "training.sft_lora", "--config", str(cfg_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "training_config.json").read_text())
    assert summary["steps"] == 2 and summary["num_processes"] == 1
    adapter_cfg = json.loads((out / "adapter_config.json").read_text())
    assert adapter_cfg["target_modules"] == space["lora"]["target_modules"]
    from safetensors.torch import load_file

    names = list(load_file(str(out / "adapter_model.safetensors")))
    assert names and all("language_model" in n for n in names)  # the vision tower is left alone
    assert {n.split(".")[-3] for n in names} == {"q_proj", "k_proj", "v_proj", "o_proj"}

    from kotone.interpret.lm import LMInterpreter, LMSettings, make_backend

    settings = LMSettings(base=str(base), adapter=str(out), max_new_tokens=8, max_time_s=5.0, threads=1)
    backend = make_backend(settings)
    assert isinstance(backend.lm, LMInterpreter) and backend.lm.adapter_name == str(out)
    res = backend.interpret("a lullaby for the lighthouse")
    assert res.backend == "lm" and (res.valid or res.fallback)
    assert backend.calls == 1
