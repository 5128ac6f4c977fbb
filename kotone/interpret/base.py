"""The one interface every interpreter backend implements, and the backend registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from kotone.domain.errors import InvalidInputError
from kotone.domain.params import Params

MAX_TEXT_CHARS = 500


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


def check_text(text: object) -> str:
    """Validate request text: a non-empty string of at most MAX_TEXT_CHARS characters."""
    if not isinstance(text, str):
        raise InvalidInputError(f"request text must be a string, got {type(text).__name__}")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInputError("request text is empty")
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
