"""The one interface every interpreter backend implements, and the backend registry."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from kotone.domain.errors import InvalidInputError
from kotone.domain.params import Params

# Natural requests run to ~120 words (about 700 characters); the limit leaves room for that.
MAX_TEXT_CHARS = 1000
MIN_TEXT_CHARS = 3


@dataclass(frozen=True)
class Interpretation:
    """What a backend made of one request."""

    params: Params
    backend: str
    latency_ms: float
    valid: bool = True  # False when the backend's own output was invalid
    fallback: bool = False  # True when another backend's answer was used instead
    justification: str = ""
    raw: str = field(default="", repr=False)


class Interpreter(Protocol):
    name: str

    def interpret(self, text: str) -> Interpretation: ...


def _bad_char(text: str) -> str | None:
    """Describe the first character a request may not contain, by code point (never the
    raw character: a lone surrogate cannot even be printed or encoded as UTF-8)."""
    for i, ch in enumerate(text):
        cp = ord(ch)
        if 0xD800 <= cp <= 0xDFFF:
            return f"an unpaired surrogate (U+{cp:04X}) at position {i + 1}; the text is not valid Unicode"
        if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r":
            return f"a control character (U+{cp:04X}) at position {i + 1}"
    return None


def check_text(text: object) -> str:
    """Validate request text and return it with whitespace collapsed.

    Refused (``InvalidInputError``, and nothing else happens): a non-string; empty or
    whitespace-only text; fewer than MIN_TEXT_CHARS non-space characters or more than MAX_TEXT_CHARS characters
    after collapsing whitespace; control characters other than tab/newline/CR; unpaired
    surrogates. Messages name the offending code point instead of echoing it.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"request text must be a string, got {type(text).__name__}")
    bad = _bad_char(text)
    if bad:
        raise InvalidInputError(f"request text contains {bad}")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInputError("request text is empty" + (" (only whitespace)" if text else ""))
    visible = len(cleaned) - cleaned.count(" ")
    if visible < MIN_TEXT_CHARS:
        raise InvalidInputError(
            f"request text is too short ({visible} characters); write at least {MIN_TEXT_CHARS}"
        )
    if len(cleaned) > MAX_TEXT_CHARS:
        raise InvalidInputError(
            f"request text is {len(cleaned)} characters; the limit is {MAX_TEXT_CHARS}"
        )
    return cleaned


_FACTORIES: dict[str, Callable[[], Interpreter]] = {}
_INSTANCES: dict[str, Interpreter] = {}
DEFAULT_BACKEND = "rule"


def register(name: str, factory: Callable[[], Interpreter]) -> None:
    _FACTORIES[name] = factory


def available() -> list[str]:
    return sorted(_FACTORIES)


def get_interpreter(name: str | None = None) -> Interpreter:
    """Return the named backend, built once and cached (default: the embedded default)."""
    name = name or DEFAULT_BACKEND
    if name not in _FACTORIES:
        raise InvalidInputError(f"unknown interpreter backend {name!r}; known: {available()}")
    if name not in _INSTANCES:
        _INSTANCES[name] = _FACTORIES[name]()
    return _INSTANCES[name]
