"""``python -m app.chat [serve|migrate]``."""

from __future__ import annotations

import argparse
import sys

from app.chat.app import MIGRATIONS, build_app
from app.chat.models import SCHEMA
from app.chat.settings import ChatSettings
from app.core.cli import Command, run_cli
from app.core.logging import configure_logging
from app.core.migrations import upgrade_to_head
from app.core.server import serve


def _serve(_args: argparse.Namespace) -> None:
    settings = ChatSettings()
    serve(build_app(settings), settings)


def _migrate(_args: argparse.Namespace) -> None:
    settings = ChatSettings()
    configure_logging(settings.service_name, level=settings.log_level)
    upgrade_to_head(settings.database_url, MIGRATIONS, SCHEMA)


COMMANDS = {
    "serve": Command("run the HTTP server (default)", _serve),
    "migrate": Command("upgrade the chat schema to the latest revision", _migrate),
}

if __name__ == "__main__":
    sys.exit(run_cli("python -m app.chat", COMMANDS))
