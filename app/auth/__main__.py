"""``python -m app.auth [serve|migrate|bootstrap ...]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from app.auth.app import MIGRATIONS, build_app
from app.auth.bootstrap import bootstrap
from app.auth.models import SCHEMA
from app.auth.settings import AuthSettings
from app.contracts.api import Tier
from app.core.cli import Command, run_cli
from app.core.logging import configure_logging
from app.core.migrations import upgrade_to_head
from app.core.server import serve


def _serve(_args: argparse.Namespace) -> None:
    settings = AuthSettings()
    serve(build_app(settings), settings)


def _migrate(_args: argparse.Namespace) -> None:
    settings = AuthSettings()
    configure_logging(settings.service_name, level=settings.log_level)
    upgrade_to_head(settings.database_url, MIGRATIONS, SCHEMA)


def _bootstrap_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, help="tenant slug (login name of the tenant)")
    parser.add_argument("--tenant-name", help="display name (defaults to the slug)")
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--tier", choices=[tier.value for tier in Tier], default=Tier.STANDARD.value)
    parser.add_argument("--migrate", action="store_true", help="upgrade the schema first")


def _bootstrap(args: argparse.Namespace) -> None:
    settings = AuthSettings()
    configure_logging(settings.service_name, level="WARNING")
    if args.migrate:
        upgrade_to_head(settings.database_url, MIGRATIONS, SCHEMA)
    result = asyncio.run(
        bootstrap(
            settings,
            tenant_slug=args.tenant,
            tenant_name=args.tenant_name,
            admin_email=args.admin_email,
            # From the environment, never argv: command lines are visible to every user of the machine.
            admin_password=os.environ.get("HELPLINE_BOOTSTRAP_ADMIN_PASSWORD"),
            tier=Tier(args.tier),
        )
    )
    json.dump(result.as_dict(), sys.stdout)
    sys.stdout.write("\n")


COMMANDS = {
    "serve": Command("run the HTTP server (default)", _serve),
    "migrate": Command("upgrade the auth schema to the latest revision", _migrate),
    "bootstrap": Command(
        "create a tenant, its first admin and an API key; prints JSON", _bootstrap, _bootstrap_arguments
    ),
}

if __name__ == "__main__":
    sys.exit(run_cli("python -m app.auth", COMMANDS))
