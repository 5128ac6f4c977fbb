"""Request text -> six hidden dims, through several backends behind one interface."""

from kotone.interpret.base import Interpretation, Interpreter, get_interpreter, register

__all__ = ["Interpretation", "Interpreter", "get_interpreter", "register"]
