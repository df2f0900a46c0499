"""The pull-request comment: per stack, what is added, removed and changed, then the unified diff folded away.

GitHub refuses comments over 65,536 characters, so the whole comment is bounded (``max_chars``): each list stops
after ``MAX_LIST_ITEMS`` with a count of the rest, and the diffs share what remains, cut at a line boundary with a
note pointing at the full diff (the workflow uploads it as an artifact).
"""

from __future__ import annotations

from collections.abc import Sequence

from stacks.render_diff.compare import PATHS_PER_RESOURCE, ChangedResource, StackDiff

#: The hidden marker the workflow's sticky comment is found by; also the comment's first line.
MARKER = "<!-- helpline-render-diff -->"
GITHUB_COMMENT_LIMIT = 65_536
DEFAULT_MAX_CHARS = 60_000
MAX_LIST_ITEMS = 40
FENCE = "````"
TRUNCATED = "\n... diff truncated here ({omitted} more lines): the workflow's `render-diff` artifact has it all\n"


def _bounded(items: Sequence[str], *, code: bool = True, limit: int = MAX_LIST_ITEMS) -> list[str]:
    """A markdown list of at most ``limit`` items, then a count of the rest; ``code`` wraps each item in backticks."""
    shown = [f"- `{item}`" if code else f"- {item}" for item in items[:limit]]
    if len(items) > limit:
        shown.append(f"- ... and {len(items) - limit} more")
    return shown


def _changed_line(change: ChangedResource) -> str:
    paths = ", ".join(f"`{p}`" for p in change.paths[:PATHS_PER_RESOURCE])
    more = f" (+{len(change.paths) - PATHS_PER_RESOURCE} more)" if len(change.paths) > PATHS_PER_RESOURCE else ""
    return f"`{change.label}`: {paths}{more}"


def counts(diff: StackDiff) -> str:
    return f"+{len(diff.added)} added, -{len(diff.removed)} removed, ~{len(diff.changed)} changed"


def summary(diff: StackDiff) -> str:
    """The always-visible part for one stack."""
    title = f"### `{diff.stack}`"
    if diff.head_missing:
        return f"{title}\n\n:x: no render on the pull request's head (it failed: see the job log).\n"
    if diff.base_missing:
        return f"{title}\n\nNew render (nothing to compare on the base branch).\n"
    if diff.unchanged:
        return f"{title}: no change\n"
    lines = [f"{title}: {counts(diff)}", ""]
    for heading, entries in (("Added", diff.added), ("Removed", diff.removed)):
        if entries:
            lines += [f"**{heading}**", *_bounded(entries), ""]
    if diff.changed:
        lines += ["**Changed**", *_bounded([_changed_line(c) for c in diff.changed], code=False), ""]
    if diff.outputs_changed:
        lines += ["**Stack outputs changed**", *_bounded(diff.outputs_changed), ""]
    return "\n".join(lines) + "\n"


def _details(diff: StackDiff, budget: int) -> str:
    """The folded unified diff of one stack, cut to ``budget`` characters at a line boundary."""
    if not diff.file_diffs:
        return ""
    opening = f"<details><summary>Unified diff of <code>{diff.stack}</code> ({len(diff.file_diffs)} files)</summary>\n\n{FENCE}diff\n"
    closing = f"{FENCE}\n</details>\n"
    lines = "".join(diff.file_diffs.values()).splitlines(keepends=True)
    room = budget - len(opening) - len(closing) - len(TRUNCATED.format(omitted=len(lines)))
    if room <= 0:
        return f"<sub>Unified diff of {diff.stack} omitted for size ({len(lines)} lines): see the artifact.</sub>\n"
    body, used = [], 0
    for line in lines:
        if used + len(line) > room:
            break
        body.append(line)
        used += len(line)
    omitted = len(lines) - len(body)
    return opening + "".join(body) + (TRUNCATED.format(omitted=omitted) if omitted else "") + closing


def render_comment(diffs: Sequence[StackDiff], max_chars: int = DEFAULT_MAX_CHARS, footer: str = "") -> str:
    """The whole comment, never longer than ``max_chars`` (summaries first; diffs share what is left)."""
    changed = sum(not d.unchanged for d in diffs)
    head = [MARKER, "## Offline render: what this pull request changes", ""]
    head.append(
        f"{changed} of {len(diffs)} renders change." if changed else f"No change in any of the {len(diffs)} renders."
    )
    text = "\n".join(head) + "\n\n" + "\n".join(summary(d) for d in diffs)
    tail = f"\n{footer}\n" if footer else ""
    with_diffs = [d for d in diffs if d.file_diffs]
    remaining = max_chars - len(text) - len(tail)
    for index, diff in enumerate(with_diffs):
        share = remaining // (len(with_diffs) - index)
        block = _details(diff, share)
        text += "\n" + block
        remaining -= len(block) + 1
    text += tail
    if len(text) > max_chars:  # only when the summaries alone exceed the budget
        cut = max_chars - len(TRUNCATED) - 10
        text = text[:cut].rsplit("\n", 1)[0] + TRUNCATED.format(omitted="some")
    return text
