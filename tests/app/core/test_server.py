"""``serve``: the startup heap is frozen before uvicorn runs, so requests' garbage collections never scan it."""

from __future__ import annotations

import gc
from typing import ClassVar

import pytest
import uvicorn
from fastapi import FastAPI

from app.core import server
from app.core.settings import ServiceSettings


class QuietSettings(ServiceSettings):
    service_name: ClassVar[str] = "test-server"


def test_serve_freezes_what_startup_built_before_running(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_when_running: list[int] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda _self: frozen_when_running.append(gc.get_freeze_count()))
    gc.unfreeze()
    try:
        server.serve(FastAPI(), QuietSettings())
    finally:
        gc.unfreeze()  # the test process keeps collecting as usual
    assert frozen_when_running
    assert frozen_when_running[0] > 10_000  # the imported modules, FastAPI, pydantic: all out of the collector's reach
