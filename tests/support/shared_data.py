"""Locate the shared test data (CRD schemas, JSON schemas) kept outside the repo.

``HELPLINE_SHARED_DIR`` points at it; by default it is ``../shared`` beside the clone. Where it is absent (a
user's clone), the files are fetched once from their public sources at the pinned commits named in each
folder's README into ``build/shared-cache``; when that fails too (offline), the checks that need them are
skipped with a message naming what was skipped.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / "shared-cache"

#: folder -> raw URL prefix at the pinned commit named in ../shared/<folder>/README.md (full SHAs; the files
#: there were checked byte for byte against these commits).
SOURCES = {
    "crd-schemas": "https://raw.githubusercontent.com/datreeio/CRDs-catalog/7b1e26ef9deea49293714d204c1a2270aab1178f",
    "json-schemas": "https://raw.githubusercontent.com/SchemaStore/schemastore/3b6446ad8a077bac56f4a4796c0b7fd88927fc8e/src/schemas/json",
}


def shared_dir() -> Path:
    configured = os.environ.get("HELPLINE_SHARED_DIR")
    return Path(configured) if configured else ROOT.parent / "shared"


def _fetch(folder: str, relative: str) -> Path:
    target = CACHE / folder / relative
    if target.exists():
        return target
    url = f"{SOURCES[folder]}/{relative}"
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            data = response.read()
    except (urllib.error.URLError, TimeoutError) as exc:
        pytest.skip(f"skipped: {folder}/{relative} is not in {shared_dir()} and could not be fetched ({exc})")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def shared_file(folder: str, relative: str) -> Path:
    """Path of ``<shared>/<folder>/<relative>``, fetched at the pinned commit when the folder is absent."""
    local = shared_dir() / folder / relative
    if local.exists():
        return local
    if (shared_dir() / folder).exists():
        raise FileNotFoundError(f"{local} does not exist (the shared folder is there, so the name is wrong)")
    return _fetch(folder, relative)
