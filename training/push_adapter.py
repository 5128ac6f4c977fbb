"""Upload a trained ``lm`` LoRA adapter to the Hugging Face Hub with a generated model card.

    HF_TOKEN=... python -m training.push_adapter --repo-id you/kotone-lm-smollm2-lora \
        [--adapter space_assets/interpreter/lm_adapter] [--eval eval/results/lm_quick.json] [--public]
    python -m training.push_adapter --repo-id you/x --dry-run   # writes the staged folder, uploads nothing

The token comes from the environment (``HF_TOKEN``) and is never printed or written. The
adapter folder is copied to a staging folder together with ``README.md`` (the model card:
base model, prompt version, data, LoRA/training config and measured results read from
``training_config.json`` and, when given, the eval JSON), then ``create_repo`` (exist_ok) and
``upload_folder`` are called on an ``HfApi``. Tests pass a fake API; with ``HF_HUB_OFFLINE=1``
the push refuses before any network call.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_ADAPTER = ROOT / "space_assets" / "interpreter" / "lm_adapter"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin", "training_config.json")


class PushError(RuntimeError):
    pass


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _fmt(v: Any, nd: int = 4) -> str:
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def model_card(adapter_dir: Path, repo_id: str, eval_result: dict[str, Any] | None = None) -> str:
    """README.md for the adapter repo, from its adapter/training configs and eval numbers."""
    ac = _read_json(adapter_dir / "adapter_config.json")
    tc = _read_json(adapter_dir / "training_config.json")
    cfg = tc.get("config", {})
    base = ac.get("base_model_name_or_path") or cfg.get("base", "unknown")
    lora = cfg.get("lora", {})
    lines = [
        "---",
        f"base_model: {base}",
        "library_name: peft",
        "license: apache-2.0",
        "pipeline_tag: text-generation",
        "tags:",
        "- lora",
        "- peft",
        "- atelier-kotone",
        "- music",
        "---",
        "",
        f"# {repo_id.split('/')[-1]}",
        "",
        "LoRA adapter of the Atelier Kotone **interpreter**: it reads a townsperson's emotional music",
        "request and writes one justification sentence, then strict JSON with six hidden dimensions",
        "(energy, warmth, brightness, acousticness, complexity, nostalgia; each 0-100 on the game's rubric).",
        "",
        "````text",
        "Justification: <one sentence>",
        "```json",
        '{"energy": 20, "warmth": 80, "brightness": 55, "acousticness": 80, "complexity": 25, "nostalgia": 85}',
        "```",
        "````",
        "",
        "## Training",
        "",
        f"- base model: `{tc.get('base_resolved', base)}`",
        f"- prompt: `{tc.get('prompt_version', '?')}` (fixed system prompt in `kotone/interpret/prompts.py`, "
        "the same for training, eval and inference)",
        f"- LoRA: r={lora.get('r', ac.get('r'))}, alpha={lora.get('alpha', ac.get('lora_alpha'))}, "
        f"dropout={lora.get('dropout', ac.get('lora_dropout'))}, targets={lora.get('target_modules', ac.get('target_modules'))}",
        f"- examples: {tc.get('n_train', '?')} train ({tc.get('train_sources', {})}), {tc.get('n_valid', '?')} valid; "
        f"max_seq_len {cfg.get('max_seq_len', '?')}, epochs {cfg.get('epochs', '?')}, lr {cfg.get('lr', '?')}, "
        f"batch {cfg.get('batch_size', '?')} x accum {cfg.get('grad_accum', '?')}",
        f"- steps: {tc.get('steps', '?')} (stopped by {tc.get('stopped_by', '?')}), "
        f"{tc.get('train_seconds', '?')} s on {tc.get('device', '?')} x {tc.get('num_processes', '?')} process(es)",
        f"- answer-token loss on valid: {_fmt(tc.get('valid_loss_before', '?'))} before -> "
        f"{_fmt(tc.get('valid_loss_after', '?'))} after",
    ]
    if cfg.get("init_adapter"):
        lines.append(f"- continued from an earlier adapter run (`{cfg['init_adapter']}`), not from fresh LoRA layers")
    lines += [
        "",
    ]
    if eval_result:
        m = eval_result.get("metrics", eval_result)
        lines += [
            "## Evaluation",
            "",
            f"On `{eval_result.get('data', 'frozen_eval.jsonl')}` ({m.get('n', '?')} requests, hand-labelled):",
            "",
            "| json_valid_rate (before fallback) | vector_mae | p50 latency ms | p95 latency ms |",
            "|---:|---:|---:|---:|",
            f"| {_fmt(m.get('json_valid_rate'))} | {_fmt(m.get('vector_mae'), 2)} | {_fmt(m.get('p50_latency_ms'), 0)} "
            f"| {_fmt(m.get('p95_latency_ms'), 0)} |",
            "",
            "Invalid output falls back to the rule baseline in the game; the rate above is before fallback.",
            "",
        ]
    lines += [
        "## Use",
        "",
        "```bash",
        f"KOTONE_LM_BASE={base} KOTONE_LM_ADAPTER={repo_id} python -m kotone.interpret --backend lm",
        "```",
        "",
    ]
    return "\n".join(lines)


def stage(adapter_dir: Path, repo_id: str, eval_result: dict[str, Any] | None, dest: Path) -> Path:
    """Copy the adapter files and write README.md into dest (returned)."""
    if not (adapter_dir / "adapter_config.json").exists():
        raise PushError(f"{adapter_dir} has no adapter_config.json: not a PEFT adapter folder")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ADAPTER_FILES:
        if (adapter_dir / name).exists():
            shutil.copy2(adapter_dir / name, dest / name)
    (dest / "README.md").write_text(model_card(adapter_dir, repo_id, eval_result), encoding="utf-8")
    return dest


def push(adapter_dir: str | Path, repo_id: str, *, api: Any = None, token: str | None = None, private: bool = True,
         eval_path: str | Path | None = None, commit_message: str | None = None) -> Any:
    """Create (exist_ok) the model repo and upload the staged adapter; returns upload_folder's result."""
    adapter_dir = Path(adapter_dir)
    if "/" not in repo_id:
        raise PushError(f"repo id must be 'owner/name', got {repo_id!r}")
    token = token if token is not None else os.environ.get("HF_TOKEN")
    if api is None:
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
            raise PushError("HF_HUB_OFFLINE is set: not pushing (unset it to upload)")
        if not token:
            raise PushError("set HF_TOKEN in the environment to push an adapter")
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    eval_result = _read_json(Path(eval_path)) if eval_path else None
    with tempfile.TemporaryDirectory(prefix="kotone-adapter-") as tmp:
        staged = stage(adapter_dir, repo_id, eval_result, Path(tmp) / "adapter")
        api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=str(staged),
            repo_type="model",
            commit_message=commit_message or "Upload Atelier Kotone lm interpreter LoRA adapter",
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Upload an lm LoRA adapter with a model card (token from HF_TOKEN).")
    ap.add_argument("--adapter", default=str(DEFAULT_ADAPTER))
    ap.add_argument("--repo-id", required=True)
    ap.add_argument("--eval", dest="eval_path", help="eval JSON with metrics (eval/results/lm_quick.json)")
    ap.add_argument("--public", action="store_true", help="create the repo public (default private)")
    ap.add_argument("--dry-run", metavar="DIR", nargs="?", const="runs/push_dry_run",
                    help="only stage the folder (adapter + README.md) into DIR")
    args = ap.parse_args(argv)
    try:
        if args.dry_run:
            ev = _read_json(Path(args.eval_path)) if args.eval_path else None
            out = stage(Path(args.adapter), args.repo_id, ev, Path(args.dry_run))
            print(f"staged {sorted(p.name for p in out.iterdir())} in {out}")
            return 0
        info = push(args.adapter, args.repo_id, private=not args.public, eval_path=args.eval_path)
    except PushError as exc:
        print(f"push_adapter: {exc}", file=sys.stderr)
        return 2
    print(f"pushed {args.adapter} to {args.repo_id}: {getattr(info, 'commit_url', info)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
