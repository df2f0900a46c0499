"""Guardrails: rules on the customer's message before the model sees it (``input``) and a held-back check on the
answer while it streams (``output``)."""
