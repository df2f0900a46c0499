"""Canary rollouts of a served model: which variant a conversation talks to, and whether the canary may grow.

``assignment`` puts each conversation on a variant by weight, stable for the conversation's life; ``analysis``
compares canary and stable over a window of Prometheus counters and decides promote, hold or roll back.
"""
