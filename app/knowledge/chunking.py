"""Articles into passages: sections under their heading path, split into pieces of a bounded size.

A passage is the unit retrieved, cited and put into a prompt. It keeps the path of headings above it (the article
title first), because "Returns > Damaged items" says what a three-line paragraph is about; the path is indexed
with the text (keyword and vector) and shown in citations. Paragraphs are never split mid-sentence unless one
paragraph alone is longer than a passage may be.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from app.contracts.knowledge import BodyFormat

#: ~120 words per passage: long enough to hold a policy and its conditions, short enough that five fit a prompt.
MAX_PASSAGE_WORDS = 120
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Section:
    heading_path: tuple[str, ...]
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class PassageText:
    heading_path: tuple[str, ...]
    text: str

    @property
    def indexed_text(self) -> str:
        """What is embedded and keyword-indexed: the heading path, then the text."""
        return " > ".join(self.heading_path) + "\n" + self.text

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.indexed_text.encode()).hexdigest()

    @property
    def words(self) -> int:
        return len(self.text.split())


def _clean_markdown(line: str) -> str:
    return _EMPHASIS.sub("", _LINK.sub(r"\1", line)).strip()


def markdown_sections(title: str, body: str) -> list[Section]:
    """Sections of a Markdown body. A top-level ``#`` heading equal to the title is not repeated in the path."""
    sections: list[Section] = []
    path: list[str] = []  # headings below the title, by level
    levels: list[int] = []
    paragraphs: list[str] = []
    current: list[str] = []

    def end_paragraph() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    def end_section() -> None:
        end_paragraph()
        if paragraphs:
            sections.append(Section((title, *path), tuple(paragraphs)))
            paragraphs.clear()

    for raw in body.splitlines():
        heading = _HEADING.match(raw.strip())
        if heading:
            end_section()
            level, text = len(heading.group(1)), _clean_markdown(heading.group(2))
            while levels and levels[-1] >= level:
                levels.pop()
                path.pop()
            if not (level == 1 and text.casefold() == title.casefold()):
                levels.append(level)
                path.append(text)
            continue
        line = _clean_markdown(raw)
        if not line or set(line) <= {"-", "=", "*", "_", "|", ":"}:
            end_paragraph()
            continue
        current.append(line)
    end_section()
    return sections


class _HtmlToMarkdown(HTMLParser):
    """Headings become ``#`` lines, block elements paragraph breaks; scripts and styles are dropped."""

    _BLOCKS = frozenset({"p", "div", "li", "br", "tr", "section", "article", "ul", "ol", "table", "blockquote"})
    _SKIPPED = frozenset({"script", "style", "head", "nav", "footer"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._skipping = 0
        self._heading_level = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._line).split())
        if text:
            self.lines.append(("#" * self._heading_level + " " if self._heading_level else "") + text)
        self.lines.append("")
        self._line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading_level = int(tag[1])
        elif tag in self._BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading_level = 0
        elif tag in self._BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._line.append(data)


def html_to_markdown(body: str) -> str:
    parser = _HtmlToMarkdown()
    parser.feed(body)
    parser.close()
    parser._flush()
    return "\n".join(parser.lines)


def _pieces(paragraph: str, max_words: int) -> list[str]:
    """A paragraph longer than a passage, cut at sentence ends (or, for one huge sentence, by words)."""
    if len(paragraph.split()) <= max_words:
        return [paragraph]
    pieces: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        while len(words) > max_words:
            pieces.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if current and len(current) + len(words) > max_words:
            pieces.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        pieces.append(" ".join(current))
    return pieces


def split_article(
    title: str, body: str, body_format: BodyFormat, *, max_words: int = MAX_PASSAGE_WORDS
) -> list[PassageText]:
    """The passages of an article, in reading order: paragraphs of one section joined up to ``max_words``."""
    if body_format == BodyFormat.HTML:
        sections = markdown_sections(title, html_to_markdown(body))
    elif body_format == BodyFormat.MARKDOWN:
        sections = markdown_sections(title, body)
    else:
        paragraphs = tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip())
        sections = [Section((title,), paragraphs)]
    passages: list[PassageText] = []
    for section in sections:
        current: list[str] = []
        for paragraph in section.paragraphs:
            for piece in _pieces(paragraph, max_words):
                if current and len(" ".join(current).split()) + len(piece.split()) > max_words:
                    passages.append(PassageText(section.heading_path, " ".join(current)))
                    current = []
                current.append(piece)
        if current:
            passages.append(PassageText(section.heading_path, " ".join(current)))
    return passages
