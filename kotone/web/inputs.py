"""Every event's raw inputs are checked before Gradio preprocesses them, so malformed calls
(over the named API or straight through the queue routes) get one clear message instead of
Gradio's generic "has not enabled verbose error reporting":

- text must be valid UTF-8 (no lone surrogates, which would also break the response
  stream), without control characters, and bounded (a Textbox's ``max_length``, else
  :data:`MAX_TEXT_CHARS`); nested JSON (BrowserState) is bounded in size and depth;
- a value must have the type its component takes (text for a Textbox, a number for a Number);
- numbers must be finite; ``"7"`` is read as 7, ``""`` as empty;
- a choice (Radio, Dropdown) must be one this session was offered (Gradio's own message
  lists every choice and logs a traceback).

:func:`harden_inputs` installs the check on a Blocks app (one wrapper around
``Blocks.preprocess_data``, the step every event goes through).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import gradio as gr
from gradio.exceptions import ComponentProcessingError

from kotone.domain.errors import InvalidInputError
from kotone.web.edge import clean_message, refuse

MAX_TEXT_CHARS = 2000
MAX_JSON_ITEMS = 5000
MAX_JSON_DEPTH = 12
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TEXT_TYPES = (gr.Textbox, gr.Radio, gr.Dropdown)


def input_name(block: Any) -> str:
    label = getattr(block, "label", None)
    if label:
        return str(label)
    return "saved progress" if isinstance(block, gr.BrowserState) else type(block).__name__.lower()


def check_text(name: str, text: str, max_chars: int) -> str:
    if len(text) > max_chars:
        raise InvalidInputError(f"{name}: {len(text)} characters is too long (at most {max_chars})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{name}: the text contains characters that are not valid unicode") from None
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise InvalidInputError(f"{name}: the text contains control characters")
    return text


def check_json(name: str, value: Any, max_chars: int = MAX_TEXT_CHARS) -> None:
    """Bounded JSON: at most MAX_JSON_ITEMS values, MAX_JSON_DEPTH deep, valid text, finite numbers."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack:
        v, depth = stack.pop()
        seen += 1
        if seen > MAX_JSON_ITEMS or depth > MAX_JSON_DEPTH:
            raise InvalidInputError(f"{name}: the value is too large or too deeply nested")
        if isinstance(v, str):
            check_text(name, v, max_chars)
        elif isinstance(v, float) and not math.isfinite(v):
            raise InvalidInputError(f"{name}: numbers must be finite, got {v}")
        elif isinstance(v, dict):
            stack.extend((k, depth + 1) for k in v)
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)


def parse_number(name: str, value: Any) -> float | int | None:
    """A finite number from a JSON number or numeric text; None for null or ''."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidInputError(f"{name}: expected a number, got {type(value).__name__}")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not _NUMBER_RE.fullmatch(text):
            raise InvalidInputError(f"{name}: expected a number, got {text[:20]!r}")
        value = float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(f"{name}: expected a finite number, got {value}")
    return value


def check_choice(name: str, block: Any, payload: Any) -> Any:
    """A Radio's or single Dropdown's value must be one of the choices offered (or empty)."""
    if payload is None or getattr(block, "allow_custom_value", False) or getattr(block, "multiselect", False):
        return payload
    offered = [value for _, value in (getattr(block, "choices", None) or [])]
    if payload not in offered:
        shown = repr(payload) if len(str(payload)) <= 40 else f"a value of {len(str(payload))} characters"
        if not offered:
            raise InvalidInputError(f"{name}: nothing to choose from yet, got {shown}; reload the page")
        raise InvalidInputError(f"{name}: {shown} is not one of the {len(offered)} choices offered")
    return payload


def check_payload(block: Any, payload: Any) -> Any:
    """The payload Gradio will preprocess for ``block``, checked (and numbers normalized)."""
    name = input_name(block)
    if isinstance(block, gr.Number):
        value = parse_number(name, payload)
        low, high = getattr(block, "minimum", None), getattr(block, "maximum", None)
        if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            raise InvalidInputError(f"{name}: must be {bounds}, got {value}")
        return value
    if isinstance(block, _TEXT_TYPES):
        if payload is None:
            return None
        if not isinstance(payload, (str, int, float)) or isinstance(payload, bool):
            raise InvalidInputError(f"{name}: expected text, got {type(payload).__name__}")
        if isinstance(payload, str):
            payload = check_text(name, payload, getattr(block, "max_length", None) or MAX_TEXT_CHARS)
        else:
            payload = parse_number(name, payload)
        return check_choice(name, block, payload) if isinstance(block, (gr.Radio, gr.Dropdown)) else payload
    check_json(name, payload)
    return payload


def harden_inputs(demo: gr.Blocks) -> gr.Blocks:
    """Check every event's raw inputs before Gradio's preprocessing (see module docstring)."""
    original = demo.preprocess_data

    @functools.wraps(original)
    async def preprocess_data(block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False) -> Any:
        where = getattr(block_fn, "name", None) or "event"
        try:
            if not isinstance(inputs, list) or len(inputs) < len(block_fn.inputs):
                got = len(inputs) if isinstance(inputs, list) else type(inputs).__name__
                raise InvalidInputError(f"expected {len(block_fn.inputs)} input values, got {got}")
            for i, block in enumerate(block_fn.inputs):
                if not getattr(block, "stateful", False) and i not in block_fn.component_prop_inputs:
                    session_block = state[block._id] if state is not None and block._id in state else block
                    inputs[i] = check_payload(session_block, inputs[i])
        except InvalidInputError as exc:
            if getattr(block_fn, "is_validator_function", False):  # Gradio prints a validator's error: one line
                raise gr.Error(clean_message(str(exc)), print_exception=False) from None
            raise refuse(where, exc) from None
        try:
            return await original(block_fn, inputs, state, explicit_call)
        except ComponentProcessingError as exc:
            found = re.search(r"at index (\d+)", str(exc))
            i = int(found.group(1)) if found else -1
            name = input_name(block_fn.inputs[i]) if 0 <= i < len(block_fn.inputs) else "an input"
            raise refuse(where, InvalidInputError(f"{name}: this value has the wrong type or shape")) from exc

    demo.preprocess_data = preprocess_data  # type: ignore[method-assign]
    return demo
