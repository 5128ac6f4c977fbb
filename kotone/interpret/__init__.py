"""Request text -> six hidden dims, through several backends behind one interface."""

from kotone.interpret.base import Interpretation, Interpreter, get_interpreter, register

__all__ = ["Interpretation", "Interpreter", "get_interpreter", "register"]

# register the shipped backends (rule, embed, api) and pick the default; loads no model
from kotone.interpret import backends as _backends  # noqa: F401
