"""The supervisor's terminal output: one prefixed, coloured line per child log line, readable JSON logs.

The services log one JSON object per line (what a log pipeline wants); at a terminal that is hard to read, so
each line is shown as ``time level event key=value ...`` after a coloured ``name |`` prefix. Anything that is
not a JSON log line (the simulators' text logs, tracebacks) passes through unchanged. Colour only on a
terminal, and never when ``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import orjson

_RESET = "\x1b[0m"
_PALETTE = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")  # cyan, magenta, yellow, green, blue...
_LEVEL_COLOURS = {"warning": "33", "error": "31", "critical": "31", "exception": "31"}
#: JSON log fields shown in the prefix or the head of the line, not again as key=value.
_HEAD_FIELDS = frozenset({"event", "level", "timestamp", "service", "logger"})


def colour_enabled(stream: TextIO, environ: Mapping[str, str]) -> bool:
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def paint(text: str, code: str | None, *, enabled: bool) -> str:
    return f"\x1b[{code}m{text}{_RESET}" if enabled and code else text


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return f'"{text}"' if (" " in text or not text) and isinstance(value, str) else text


def render_log_line(line: str, *, colour: bool = False) -> str:
    """A structlog JSON line as ``HH:MM:SS.mmm level event key=value ...``; any other line unchanged."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return line.rstrip("\n")
    try:
        record = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return line.rstrip("\n")
    if not isinstance(record, dict) or "event" not in record:
        return line.rstrip("\n")
    timestamp = str(record.get("timestamp", ""))
    clock = timestamp[11:23] if len(timestamp) >= 23 else timestamp
    level = str(record.get("level", "info")).lower()
    fields = " ".join(f"{key}={_value(value)}" for key, value in record.items() if key not in _HEAD_FIELDS)
    head = paint(f"{level:<7}", _LEVEL_COLOURS.get(level), enabled=colour)
    return " ".join(part for part in (clock, head, str(record["event"]), fields) if part)


class Output:
    """Writes children's lines with a fixed-width coloured prefix, and the supervisor's own notices."""

    def __init__(
        self,
        names: Iterable[str],
        *,
        stream: TextIO | None = None,
        colour: bool | None = None,
        raw_logs: bool = False,
    ) -> None:
        self.stream = stream or sys.stdout
        self.colour = colour_enabled(self.stream, os.environ) if colour is None else colour
        self.raw_logs = raw_logs
        ordered = list(dict.fromkeys(["devrun", *names]))
        self.width = max(len(name) for name in ordered)
        self._colours = {name: _PALETTE[index % len(_PALETTE)] for index, name in enumerate(ordered)}

    def prefix(self, name: str) -> str:
        return paint(f"{name:<{self.width}} |", self._colours.get(name, "37"), enabled=self.colour)

    def line(self, name: str, text: str) -> None:
        body = text.rstrip("\n") if self.raw_logs else render_log_line(text, colour=self.colour)
        self._write(f"{self.prefix(name)} {body}")

    def notice(self, text: str) -> None:
        """A line from the supervisor itself."""
        for part in text.splitlines() or [""]:
            self._write(f"{self.prefix('devrun')} {part}")

    def block(self, text: str) -> None:
        """Unprefixed text (the banner: URLs and keys people copy)."""
        self._write(text)

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
