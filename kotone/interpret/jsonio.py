"""Strict JSON for model backends: extract, validate, clamp, and fall back (counted).

A generative backend (``lm``, ``api``) returns text. ``parse_params`` pulls the first JSON
object out of it (inside a ```json fence or raw, with prose around it), checks it against
the schema -- the six dims, each a finite number, optionally under a ``params`` key, and an
optional ``justification`` string -- and clamps every value into 0-100. Anything else is an
``InvalidOutput``. ``FallbackInterpreter`` wraps such a backend: on invalid output or an
exception it answers with the rule backend instead and counts the fallback.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from kotone.domain.params import DIMS, Params, clamp
from kotone.interpret.base import Interpretation, Interpreter, check_text

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_ALIASES = {"acoustic": "acousticness", "complex": "complexity", "bright": "brightness"}


class InvalidOutput(ValueError):
    """Model output that is not a valid six-dim JSON object."""


@dataclass(frozen=True)
class Parsed:
    params: Params
    justification: str
    clamped: bool  # True when at least one value had to be moved into 0-100


def _balanced_objects(text: str) -> list[str]:
    """Every top-level {...} span in text, honouring strings and escapes."""
    spans: list[str] = []
    depth = 0
    start = -1
    in_str = False
    esc = False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = depth > 0
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    return spans


def extract_json(text: str) -> dict:
    """The first JSON object in text: fenced blocks are tried first, then raw spans."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidOutput("empty model output")
    candidates: list[str] = []
    for block in _FENCE.findall(text):
        candidates.extend(_balanced_objects(block) or [block.strip()])
    candidates.extend(_balanced_objects(text))
    errors: list[str] = []
    for cand in candidates:
        try:
            obj = json.loads(cand)
        except json.JSONDecodeError as exc:
            errors.append(str(exc))
            continue
        if isinstance(obj, dict):
            return obj
    if errors:
        raise InvalidOutput(f"no parseable JSON object in model output ({errors[0]})")
    raise InvalidOutput("no JSON object in model output")


def validate(obj: dict) -> Parsed:
    """Check the six dims (numbers, finite) and clamp them; extra keys are ignored."""
    if not isinstance(obj, dict):
        raise InvalidOutput(f"expected a JSON object, got {type(obj).__name__}")
    body = obj.get("params", obj)
    if not isinstance(body, dict):
        raise InvalidOutput("'params' must be an object")
    body = {_ALIASES.get(str(k).lower(), str(k).lower()): v for k, v in body.items()}
    values: dict[str, float] = {}
    clamped = False
    missing = [d for d in DIMS if d not in body]
    if missing:
        raise InvalidOutput(f"missing dims {missing}")
    for d in DIMS:
        v = body[d]
        if isinstance(v, bool):
            raise InvalidOutput(f"{d} must be a number, got a boolean")
        if isinstance(v, str):
            try:
                v = float(v.strip().rstrip("%"))
            except ValueError:
                raise InvalidOutput(f"{d} must be a number, got {v!r}") from None
        if not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            raise InvalidOutput(f"{d} must be a finite number, got {v!r}")
        fv = float(v)
        c = clamp(fv)
        clamped = clamped or c != fv
        values[d] = c
    just = obj.get("justification", "")
    if not isinstance(just, str):
        just = str(just)
    return Parsed(Params(**values), just.strip()[:300], clamped)


def parse_params(text: str) -> Parsed:
    return validate(extract_json(text))


class FallbackInterpreter:
    """Wraps a backend; invalid output or an error falls back to another backend (counted).

    ``inner`` returns an Interpretation; when it says ``valid=False`` or raises anything but
    an input error, the fallback answers, marked ``fallback=True, valid=False``.
    """

    def __init__(self, inner: Interpreter, fallback: Interpreter | Callable[[], Interpreter]):
        self.inner = inner
        self.name = inner.name
        self._fallback = fallback
        self._lock = threading.Lock()
        self.calls = 0
        self.fallbacks = 0
        self.last_error = ""

    def _fb(self) -> Interpreter:
        if isinstance(self._fallback, type) or not hasattr(self._fallback, "interpret"):
            self._fallback = self._fallback()
        return self._fallback  # type: ignore[return-value]

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.calls if self.calls else 0.0

    def interpret(self, text: str) -> Interpretation:
        cleaned = check_text(text)  # input errors are the caller's, never a fallback
        t0 = time.perf_counter()
        with self._lock:
            self.calls += 1
        try:
            out = self.inner.interpret(cleaned)
            if out.valid:
                return out
            reason = "invalid output"
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.fallbacks += 1
            self.last_error = reason[:200]
        fb = self._fb().interpret(cleaned)
        ms = (time.perf_counter() - t0) * 1000.0
        return replace(fb, backend=self.name, latency_ms=ms, valid=False, fallback=True,
                       justification=f"fallback to {fb.backend}: {reason[:120]}")
