"""Bulk import: a folder or an archive (zip, tar.gz) of Markdown and HTML files becomes articles.

Idempotent by path: a file whose path (inside the folder or archive) matches an article's ``source_path``
updates that article, and a file whose content did not change leaves it untouched (no new version, no
re-embedding). Markdown may start with YAML front matter (``title``, ``url``, ``language``, ``tags``,
``status``); otherwise the title is the first ``#`` heading (HTML: ``<title>`` or ``<h1>``) or the file name.
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from uuid import UUID

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.knowledge import (
    ArticleCreate,
    ArticleStatus,
    BodyFormat,
    ImportedArticle,
    ImportResult,
)
from app.knowledge.articles import ArticleService
from app.knowledge.errors import InvalidImportError
from app.knowledge.models import Article

FORMATS = {
    ".md": BodyFormat.MARKDOWN,
    ".markdown": BodyFormat.MARKDOWN,
    ".html": BodyFormat.HTML,
    ".htm": BodyFormat.HTML,
}
MAX_FILES = 2000
MAX_FILE_BYTES = 1_000_000
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_MD_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_HTML_TITLE = re.compile(r"<(title|h1)[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SourceFile:
    path: str
    content: bytes


def _front_matter(text: str, path: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise InvalidImportError(f"{path}: the front matter is not valid YAML ({exc.__class__.__name__}).") from exc
    if not isinstance(meta, dict):
        raise InvalidImportError(f"{path}: the front matter must be a mapping of keys to values.")
    return meta, text[match.end() :]


def parse_file(source: SourceFile, *, publish: bool) -> ArticleCreate:
    """One file as an article; ``InvalidImportError`` names the file and what is wrong with it."""
    body_format = FORMATS[PurePosixPath(source.path).suffix.lower()]
    try:
        text = source.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidImportError(f"{source.path}: not UTF-8 text.") from exc
    meta, body = _front_matter(text, source.path) if body_format == BodyFormat.MARKDOWN else ({}, text)
    title = meta.get("title")
    if title is None:
        found = _MD_TITLE.search(body) if body_format == BodyFormat.MARKDOWN else _HTML_TITLE.search(body)
        title = found.group(found.lastindex or 1) if found else PurePosixPath(source.path).stem.replace("-", " ")
        title = re.sub(r"<[^>]+>", "", str(title)).strip()
    default_status = ArticleStatus.PUBLISHED if publish else ArticleStatus.DRAFT
    try:
        return ArticleCreate(
            title=str(title),
            body=body,
            format=body_format,
            url=meta.get("url"),
            language=meta.get("language", "en"),
            tags=[str(tag) for tag in meta.get("tags", [])],
            source_path=source.path,
            status=meta.get("status", default_status),
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidImportError(f"{source.path}: {problems}") from exc


def _importable(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return PurePosixPath(path).suffix.lower() in FORMATS and not any(p.startswith(".") for p in parts)


def _checked(files: Iterable[SourceFile]) -> list[SourceFile]:
    result = sorted(files, key=lambda f: f.path)
    if len(result) > MAX_FILES:
        raise InvalidImportError(f"{len(result)} files; at most {MAX_FILES} per import.")
    if not result:
        raise InvalidImportError("No .md, .markdown, .html or .htm files found.")
    return result


def files_of_folder(folder: Path) -> list[SourceFile]:
    return _checked(
        SourceFile(path.relative_to(folder).as_posix(), path.read_bytes())
        for path in folder.rglob("*")
        if path.is_file() and _importable(path.relative_to(folder).as_posix())
    )


def files_of_archive(data: bytes) -> list[SourceFile]:
    """Files of a zip or (gzipped) tar archive; members outside the archive root or too large are refused."""
    files: list[SourceFile] = []
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir() or not _importable(info.filename):
                    continue
                if info.file_size > MAX_FILE_BYTES:
                    raise InvalidImportError(f"{info.filename}: larger than {MAX_FILE_BYTES} bytes.")
                files.append(SourceFile(info.filename.lstrip("/"), archive.read(info)))
        return _checked(files)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive.getmembers():
                if not member.isfile() or not _importable(member.name):
                    continue
                if member.size > MAX_FILE_BYTES:
                    raise InvalidImportError(f"{member.name}: larger than {MAX_FILE_BYTES} bytes.")
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files.append(SourceFile(member.name.removeprefix("./").lstrip("/"), extracted.read()))
    except tarfile.TarError as exc:
        raise InvalidImportError("The body is neither a zip nor a tar archive.") from exc
    return _checked(files)


async def import_files(
    session: AsyncSession, articles: ArticleService, tenant_id: UUID, files: list[SourceFile], *, publish: bool
) -> ImportResult:
    """Create or update one article per file, all or nothing (every file is parsed before anything is written)."""
    parsed = [parse_file(source, publish=publish) for source in files]
    existing = {
        row.source_path: row
        for row in await session.scalars(
            select(Article)
            .where(Article.tenant_id == tenant_id, Article.source_path.in_([p.source_path for p in parsed]))
            .with_for_update()
        )
    }
    results: list[ImportedArticle] = []
    for article in parsed:
        assert article.source_path is not None
        current = existing.get(article.source_path)
        if current is None:
            created = await articles.create(session, tenant_id, article)
            results.append(ImportedArticle(source_path=article.source_path, article_id=created.id, outcome="created"))
            continue
        version = current.version
        await articles.apply(session, current, article, status=article.status)
        outcome = "unchanged" if current.version == version else "updated"
        results.append(ImportedArticle(source_path=article.source_path, article_id=current.id, outcome=outcome))
    return ImportResult(
        created=sum(r.outcome == "created" for r in results),
        updated=sum(r.outcome == "updated" for r in results),
        unchanged=sum(r.outcome == "unchanged" for r in results),
        articles=results,
    )
