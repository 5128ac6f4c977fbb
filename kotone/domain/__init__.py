"""Pure domain: six-dim params, cards, commissions, scoring, theory, song plans.

Nothing here imports torch, gradio or does file I/O beyond parsing given data.
"""
