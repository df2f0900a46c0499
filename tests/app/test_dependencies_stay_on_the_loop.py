"""Every request dependency of every service is async: FastAPI runs a plain ``def`` dependency in its thread pool,
one thread hop per request (found by the overhead benchmark's profile of sessions and chat)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter

from app.auth.app import build_app as build_auth
from app.auth.settings import AuthSettings
from app.chat.app import build_app as build_chat
from app.chat.settings import ChatSettings
from app.gateway.app import build_app as build_gateway
from app.gateway.settings import GatewaySettings
from app.router.app import create_router_app
from app.router.settings import RouterSettings
from app.sessions.app import build_app as build_sessions
from app.sessions.settings import SessionsSettings


def service_apps(tmp: Path) -> dict[str, Callable[[], FastAPI]]:
    """Each service's real app (nothing connects until the lifespan runs)."""
    database = {"database_url": f"sqlite+aiosqlite:///{tmp}/x.db"}
    return {
        "gateway": lambda: build_gateway(GatewaySettings()),
        "auth": lambda: build_auth(AuthSettings(**database)),  # type: ignore[arg-type]
        "sessions": lambda: build_sessions(SessionsSettings(**database), housekeeping=False),  # type: ignore[arg-type]
        "chat": lambda: build_chat(ChatSettings(**database)),  # type: ignore[arg-type]
        "router": lambda: create_router_app(RouterSettings(backends={"m": {"static": ["http://127.0.0.1:1"]}})),  # type: ignore[arg-type]
    }


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (kept nested by this FastAPI version)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None) or (route if isinstance(route, APIRouter) else None)
        if nested is not None:
            yield from api_routes(nested.routes)


def dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from dependencies(sub)


def runs_on_the_loop(call: Any) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


@pytest.mark.parametrize("service", ["gateway", "auth", "sessions", "chat", "router"])
def test_no_dependency_hops_to_a_thread(service: str, tmp_path: Path) -> None:
    app = service_apps(tmp_path)[service]()
    offenders = {
        f"{route.path}: {getattr(call, '__qualname__', type(call).__qualname__)}"
        for route in api_routes(app.routes)
        for call in dependencies(route.dependant)
        if not runs_on_the_loop(call)
    }
    assert not offenders, f"sync dependencies run in the thread pool on every request: {sorted(offenders)}"
    assert sum(1 for _ in api_routes(app.routes)) > 3  # the service's own routes were found, not just the probes
