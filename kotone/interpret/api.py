"""Mistral chat API backend: the teacher. Used to generate training data, never in play.

Plain HTTPS with ``httpx``. The key comes from MISTRAL_API_KEY and is only ever placed in
the Authorization header: it is never printed, logged, or put in an error message. The
model answers with a JSON object (six dims + justification) that ``jsonio`` extracts,
validates and clamps; invalid output makes the Interpretation ``valid=False`` so the
``FallbackInterpreter`` wrapper answers with ``rule`` and counts it.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Protocol

from kotone.domain.errors import InvalidInputError
from kotone.interpret.base import Interpretation, check_text
from kotone.interpret.jsonio import InvalidOutput, parse_params

API_URL = "https://api.mistral.ai/v1/chat/completions"
DEFAULT_MODEL = "mistral-large-latest"
# USD per 1M tokens (input, output) used for the eval's cost estimate; list prices may change.
PRICES_PER_M = {"mistral-large-latest": (2.0, 6.0), "ministral-3b-latest": (0.04, 0.04)}

RUBRIC = """You label music commission requests with six numbers, each 0-100:
energy: 0 stillness (<60 bpm, near-silent), 25 calm/slow/soft, 50 walking pace, 75 upbeat with driving drums, 100 explosive (>160 bpm, loud, dense).
warmth: 0 icy/clinical/metallic/distant, 25 cool/airy, 50 neutral, 75 cozy/intimate, 100 a hug by the fire.
brightness: 0 dark (low register, minor, muted), 25 dusky, 50 neutral, 75 sunny major, 100 sparkling (bells, radiant major).
acousticness: 0 fully electronic, 25 mostly electronic, 50 mixed, 75 mostly acoustic, 100 only acoustic instruments.
complexity: 0 minimal (few repeated notes, one chord), 25 simple triads, 50 moderate, 75 rich (7ths, syncopation, counter-lines), 100 intricate (dense counterpoint, modulation, odd meter).
nostalgia: 0 futuristic/brand new, 25 contemporary, 50 neutral, 75 evokes memories/childhood, 100 strongly of the past (old records, music box, old lullabies).
A dimension the request says nothing about is 50. Negations count ("nothing too loud" lowers energy).
Answer with one JSON object only: {"justification": "<one short sentence>", "energy": n, "warmth": n, "brightness": n, "acousticness": n, "complexity": n, "nostalgia": n}"""


class HTTPClient(Protocol):
    def post(self, url: str, *, headers: dict[str, str], json: Any, timeout: float) -> Any: ...


def api_key() -> str | None:
    key = os.environ.get("MISTRAL_API_KEY", "").strip()
    return key or None


class MistralInterpreter:
    """One request -> one chat completion -> six dims. ``client`` is injectable for tests."""

    name = "api"

    def __init__(self, key: str, model: str = DEFAULT_MODEL, client: HTTPClient | None = None,
                 timeout: float = 30.0, temperature: float = 0.2):
        if not key:
            raise InvalidInputError("MISTRAL_API_KEY is not set; the api backend needs it")
        self._key = key
        self.model = model
        self.timeout = timeout
        self.temperature = temperature
        self._client = client
        self.tokens_in = 0
        self.tokens_out = 0

    def __repr__(self) -> str:  # never show the key
        return f"MistralInterpreter(model={self.model!r})"

    @classmethod
    def from_env(cls, **kw) -> MistralInterpreter:
        key = api_key()
        if key is None:
            raise InvalidInputError("MISTRAL_API_KEY is not set; the api backend needs it")
        return cls(key, model=os.environ.get("MISTRAL_MODEL", DEFAULT_MODEL), **kw)

    def _http(self) -> HTTPClient:
        if self._client is None:
            import httpx

            self._client = httpx.Client()
        return self._client

    def chat(self, messages: list[dict[str, str]], temperature: float | None = None) -> str:
        """POST a chat completion; return the assistant's text. Errors never include the key."""
        body = {"model": self.model, "messages": messages,
                "temperature": self.temperature if temperature is None else temperature,
                "response_format": {"type": "json_object"}}
        headers = {"Authorization": f"Bearer {self._key}", "Content-Type": "application/json",
                   "Accept": "application/json"}
        resp = self._http().post(API_URL, headers=headers, json=body, timeout=self.timeout)
        status = getattr(resp, "status_code", 200)
        if status != 200:
            raise RuntimeError(f"Mistral API answered HTTP {status}")
        data = resp.json()
        usage = data.get("usage") or {}
        self.tokens_in += int(usage.get("prompt_tokens", 0))
        self.tokens_out += int(usage.get("completion_tokens", 0))
        try:
            return str(data["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as exc:
            raise RuntimeError("Mistral API answer has no choices[0].message.content") from exc

    def interpret(self, text: str) -> Interpretation:
        t0 = time.perf_counter()
        cleaned = check_text(text)
        raw = self.chat([{"role": "system", "content": RUBRIC},
                         {"role": "user", "content": json.dumps({"request": cleaned})}])
        ms = (time.perf_counter() - t0) * 1000.0
        try:
            parsed = parse_params(raw)
        except InvalidOutput:
            from kotone.domain.params import NEUTRAL

            return Interpretation(params=NEUTRAL, backend=self.name, latency_ms=ms, valid=False, raw=raw[:500])
        return Interpretation(params=parsed.params, backend=self.name, latency_ms=ms,
                              justification=parsed.justification, raw=raw[:500])

    def cost_usd(self) -> float:
        pin, pout = PRICES_PER_M.get(self.model, PRICES_PER_M[DEFAULT_MODEL])
        return (self.tokens_in * pin + self.tokens_out * pout) / 1e6
