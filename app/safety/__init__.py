"""Safety: PII kept from the model, the stores and the logs (``pii``), and guardrails on what comes in and what
goes out (``guardrails``). Pure, engine-free building blocks; the chat service wires them into a turn
(``app.chat.safety``)."""
