"""JSON logs through structlog, with stdlib (uvicorn, SQLAlchemy, httpx) routed through the same pipeline.

Every line carries ``service`` and whatever the request bound (``request_id``, ``tenant_id``,
``conversation_id``) plus the current ``trace_id``/``span_id``, so one request can be followed across services
and joined with its trace. Message text is personal data: fields that could carry it are dropped unless
``HELPLINE_LOG_MESSAGE_TEXT=true``, and every rendered line is scrubbed of PII-shaped strings
(``log_redaction``) whatever that setting says.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import orjson
import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

from app.core.log_redaction import scrub_pii

#: Log fields that may hold customer or assistant text; removed unless message text logging is on.
MESSAGE_TEXT_FIELDS = frozenset({"content", "text", "message_text", "prompt", "completion", "messages"})

_NOISY_LOGGERS = {"uvicorn.access": logging.WARNING, "httpx": logging.WARNING, "httpcore": logging.WARNING}


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """The structlog logger every module uses (``log = get_logger(__name__)``)."""
    return structlog.stdlib.get_logger(name)


def bind_log_context(**values: Any) -> None:
    """Add fields to every log line of the current request (async context), e.g. ``conversation_id``."""
    structlog.contextvars.bind_contextvars(**{key: value for key, value in values.items() if value is not None})


def clear_log_context() -> None:
    structlog.contextvars.clear_contextvars()


def log_context() -> dict[str, Any]:
    """What is bound for the current request (the internal HTTP client forwards the request id from here)."""
    return structlog.contextvars.get_contextvars()


def add_trace_ids(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Add the active OpenTelemetry span's ids, so logs and traces join on ``trace_id``."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event


def drop_message_text(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Remove fields that may hold message text (the default: such text is personal data)."""
    for field in MESSAGE_TEXT_FIELDS.intersection(event):
        del event[field]
    return event


def _service_adder(service: str) -> Processor:
    def add_service(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        event.setdefault("service", service)
        return event

    return add_service


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is when a record is emitted (test runners swap it per test)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        return


def _serialize(event: Mapping[str, Any] | MutableMapping[str, Any], **_kwargs: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def shared_processors(service: str, *, log_message_text: bool) -> list[Processor]:
    """The processors structlog and stdlib records both go through (exposed for tests)."""
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _service_adder(service),
        add_trace_ids,
    ]
    if not log_message_text:
        processors.append(drop_message_text)
    return processors


def configure_logging(service: str, *, level: str = "INFO", log_message_text: bool = False) -> None:
    """Configure structlog and the stdlib root logger to write one JSON object per line to stdout.

    Idempotent (tests build many apps in one process): the root handler is replaced, not added to.
    """
    shared = shared_processors(service, log_message_text=log_message_text)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a process that builds several apps (tests) must see each new configuration.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub_pii,  # after the traceback is text: an exception message can quote a customer
            structlog.processors.JSONRenderer(serializer=_serialize),
        ],
    )
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    for name, noisy_level in _NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(max(noisy_level, logging.getLevelName(level)))
