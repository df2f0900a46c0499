"""``python -m app.knowledge [serve|migrate|import]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from uuid import UUID

from app.core.cli import Command, run_cli
from app.core.logging import configure_logging
from app.core.migrations import upgrade_to_head
from app.core.server import serve
from app.knowledge.app import MIGRATIONS, build_app, build_components, open_database
from app.knowledge.embeddings import EmbeddingClient
from app.knowledge.importer import files_of_archive, files_of_folder, import_files
from app.knowledge.models import SCHEMA
from app.knowledge.settings import KnowledgeSettings


def _serve(_args: argparse.Namespace) -> None:
    settings = KnowledgeSettings()
    serve(build_app(settings), settings)


def _migrate(_args: argparse.Namespace) -> None:
    settings = KnowledgeSettings()
    configure_logging(settings.service_name, level=settings.log_level)
    upgrade_to_head(settings.database_url, MIGRATIONS, SCHEMA)


def _import(args: argparse.Namespace) -> None:
    """Import a folder or archive for one tenant straight into the database (operators, ``make run``'s seed)."""
    settings = KnowledgeSettings()
    configure_logging(settings.service_name, level=settings.log_level)
    source = Path(args.source)
    files = files_of_folder(source) if source.is_dir() else files_of_archive(source.read_bytes())

    async def run() -> None:
        database = open_database(settings)
        embeddings = EmbeddingClient(settings)
        try:
            knowledge = build_components(settings, embeddings)
            async with database.transaction() as session:
                result = await import_files(
                    session, knowledge.articles, UUID(args.tenant), files, publish=not args.draft
                )
            print(
                f"imported {source}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
            )
        finally:
            await embeddings.aclose()
            await database.dispose()

    asyncio.run(run())


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="a folder, or a .zip / .tar.gz archive, of Markdown and HTML files")
    parser.add_argument("--tenant", required=True, help="the tenant id the articles belong to")
    parser.add_argument("--draft", action="store_true", help="import as drafts (front matter `status` still wins)")


COMMANDS = {
    "serve": Command("run the HTTP server (default)", _serve),
    "migrate": Command("upgrade the knowledge schema to the latest revision", _migrate),
    "import": Command("import a folder or archive of articles for a tenant (idempotent)", _import, _import_arguments),
}

if __name__ == "__main__":
    sys.exit(run_cli("python -m app.knowledge", COMMANDS))
