"""One setting scales every wait for a process or an event, so a loaded machine slows waits down instead of failing.

``HELPLINE_WAIT_SCALE`` (a float, default 1) multiplies every deadline that tests, launchers (the simulator, the
local run, a real vLLM) and the benchmark wait for: a process's start-up, a stream's end, a metric to appear. Set
it to 2 or 3 on a busy machine; never write a bare number of seconds into a wait.

    from app.core.waits import scaled
    engine.wait_ready(timeout=scaled(20))
"""

from __future__ import annotations

import os

WAIT_SCALE_ENV = "HELPLINE_WAIT_SCALE"


def wait_scale() -> float:
    """The current multiplier (read each time: a test may set it for the processes it starts)."""
    raw = os.environ.get(WAIT_SCALE_ENV, "1")
    try:
        scale = float(raw)
    except ValueError as exc:
        raise ValueError(f"{WAIT_SCALE_ENV}={raw!r} is not a number; set it to 1 (default), 2, 3, ...") from exc
    if scale <= 0:
        raise ValueError(f"{WAIT_SCALE_ENV}={raw!r} must be greater than 0")
    return scale


def scaled(seconds: float) -> float:
    """``seconds`` times the wait scale: the deadline to use for something that normally takes ``seconds``."""
    return seconds * wait_scale()
