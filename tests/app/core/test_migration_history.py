"""Every service's migrations form one line: unique revision ids and a single head.

Two features developed side by side each added a sessions revision "0004" on top of "0003"; Alembic then refused
to migrate ("Multiple head revisions"), and every service start failed. This catches it at once, per service.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from app.core.migrations import alembic_config

ROOT = Path(__file__).resolve().parents[3]
MIGRATION_FOLDERS = sorted(path.parent for path in (ROOT / "app").glob("*/migrations/env.py"))


def test_every_service_with_a_schema_has_migrations() -> None:
    assert {folder.parent.name for folder in MIGRATION_FOLDERS} >= {"auth", "sessions", "chat", "knowledge"}


@pytest.mark.parametrize("folder", MIGRATION_FOLDERS, ids=lambda folder: folder.parent.name)
def test_revisions_are_unique_and_end_in_one_head(folder: Path) -> None:
    files = sorted((folder / "versions").glob("*.py"))
    script = ScriptDirectory.from_config(alembic_config("sqlite://", folder, folder.parent.name))
    revisions = list(script.walk_revisions())
    assert len(revisions) == len(files), f"{folder}: {len(files)} files but {len(revisions)} distinct revisions"
    assert len(script.get_heads()) == 1, f"{folder}: several heads {script.get_heads()}: chain the newer one"
