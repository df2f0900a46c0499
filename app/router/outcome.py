"""What really became of a relayed response, decided when its body ends rather than when its headers arrive.

A streamed answer is committed at its first byte, but it can still fail afterwards: the replica's connection
breaks, or the engine reports an error in-band (vLLM sends ``data: {"error": ...}`` on a 200 stream). Counting
such a stream ``ok`` at the headers hid every mid-stream failure from the error-rate alerts; ``StreamWatch``
reads the relayed bytes (a substring search per chunk, no parsing) so the outcome is counted at the end.
"""

from __future__ import annotations

import re
from typing import Literal

Outcome = Literal["ok", "retried", "no_backend", "error", "cancelled"]
#: Every outcome, so each series exists at 0 from the start (``rate()`` needs two samples).
OUTCOMES: tuple[Outcome, ...] = ("ok", "retried", "no_backend", "error", "cancelled")

#: An SSE event whose JSON is an error object: vLLM's in-band error (``json.dumps`` puts a space, orjson none).
_IN_BAND_ERROR = re.compile(rb'(?:^|\n)data: ?\{"error"')
#: Bytes kept from the previous chunk, so a marker split across two chunks is still found.
_CARRY = 16


class StreamWatch:
    """Follows the bytes relayed for one response: an in-band error seen, and whether they end on an event."""

    def __init__(self) -> None:
        self.saw_error = False
        self._tail = b"\n"  # the start of the body counts as the start of a line

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        window = self._tail + chunk
        if not self.saw_error and _IN_BAND_ERROR.search(window):
            self.saw_error = True
        self._tail = window[-_CARRY:]

    @property
    def at_event_boundary(self) -> bool:
        """True when everything relayed so far is whole SSE events (it ends with the blank line that ends one)."""
        return self._tail.endswith((b"\n\n", b"\r\n\r\n"))
