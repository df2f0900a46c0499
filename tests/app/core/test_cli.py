"""The service command line: serve by default, settings errors as one readable line and exit code 2."""

from __future__ import annotations

import argparse

import pytest

from app.core.cli import Command, run_cli
from app.core.settings import ServiceSettings


def test_serve_is_the_default_command() -> None:
    called: list[str] = []
    commands = {
        "serve": Command("serve", lambda _args: called.append("serve")),
        "migrate": Command("migrate", lambda _args: called.append("migrate")),
    }

    assert run_cli("svc", commands, argv=[]) == 0
    assert run_cli("svc", commands, argv=["migrate"]) == 0
    assert called == ["serve", "migrate"]


def test_invalid_settings_exit_2_with_the_variable_named(capsys: pytest.CaptureFixture[str]) -> None:
    def start(_args: argparse.Namespace) -> None:
        ServiceSettings(environment="production")

    assert run_cli("svc", {"serve": Command("serve", start)}, argv=["serve"]) == 2
    assert "HELPLINE_INTERNAL_TOKEN_SECRET is a development placeholder" in capsys.readouterr().err
