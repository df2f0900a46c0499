"""The sessions service: conversations, their messages and lifecycle, feedback, and the history for prompts.

It owns the ``sessions`` schema. Chat calls it once per customer message (``turns``: store the message and
return the history window together) and once when the answer ends (``finish``); the gateway forwards the
customer and agent-desk routes to it.
"""
