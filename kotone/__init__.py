"""Atelier Kotone: a music-commission game.

Layers (imports point downward only):
``pipeline`` -> ``music`` / ``interpret`` / ``render`` / ``store`` -> ``domain``.
"""

__version__ = "0.1.0"
