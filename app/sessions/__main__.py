"""``python -m app.sessions [serve|migrate|sweep]``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.core.cli import Command, run_cli
from app.core.db import Database
from app.core.logging import configure_logging
from app.core.migrations import upgrade_to_head
from app.core.server import serve
from app.sessions.app import MIGRATIONS, build_app
from app.sessions.housekeeping import Housekeeping
from app.sessions.models import SCHEMA
from app.sessions.settings import SessionsSettings


def _serve(_args: argparse.Namespace) -> None:
    settings = SessionsSettings()
    serve(build_app(settings), settings)


def _migrate(_args: argparse.Namespace) -> None:
    settings = SessionsSettings()
    configure_logging(settings.service_name, level=settings.log_level)
    upgrade_to_head(settings.database_url, MIGRATIONS, SCHEMA)


def _housekeeping(_args: argparse.Namespace) -> None:
    """One round of both jobs now (a CronJob or an operator after changing retention)."""
    settings = SessionsSettings()
    configure_logging(settings.service_name, level=settings.log_level)

    async def once() -> None:
        database = Database(settings.database_url, schema=SCHEMA)
        try:
            jobs = Housekeeping(database, settings)
            await jobs.sweep()
            await jobs.enforce_retention()
        finally:
            await database.dispose()

    asyncio.run(once())


COMMANDS = {
    "serve": Command("run the HTTP server (default)", _serve),
    "migrate": Command("upgrade the sessions schema to the latest revision", _migrate),
    "housekeeping": Command("sweep abandoned answers and apply retention once, now", _housekeeping),
}

if __name__ == "__main__":
    sys.exit(run_cli("python -m app.sessions", COMMANDS))
