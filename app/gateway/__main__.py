"""``python -m app.gateway [serve]``."""

from __future__ import annotations

import argparse
import sys

from app.core.cli import Command, run_cli
from app.core.server import serve
from app.gateway.app import build_app
from app.gateway.settings import GatewaySettings


def _serve(_args: argparse.Namespace) -> None:
    settings = GatewaySettings()
    serve(build_app(settings), settings)


COMMANDS = {"serve": Command("run the HTTP server (default)", _serve)}

if __name__ == "__main__":
    sys.exit(run_cli("python -m app.gateway", COMMANDS))
