"""Evaluation harnesses (``python -m eval.interpreter``)."""
