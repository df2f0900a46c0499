"""``python -m stacks.render_diff --base DIR --head DIR [--out FILE] [--full-diff FILE]`` (``make render-diff``).

Writes the PR comment (markdown, bounded for GitHub) and, optionally, the complete unified diff for the artifact.
Exits 0 whether or not anything changed: a change is information for the reviewer, not a failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stacks.render_diff.compare import compare, stacks_in
from stacks.render_diff.markdown import DEFAULT_MAX_CHARS, GITHUB_COMMENT_LIMIT, render_comment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.render_diff", description=__doc__)
    parser.add_argument("--base", type=Path, required=True, help="renders of the base branch (one folder per stack)")
    parser.add_argument("--head", type=Path, required=True, help="renders of the pull request's head")
    parser.add_argument("--out", type=Path, help="write the comment here (default: stdout)")
    parser.add_argument("--full-diff", type=Path, help="also write the complete unified diff here")
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS, help="comment size bound")
    parser.add_argument("--footer", default="", help="a last line (for example the commits compared)")
    args = parser.parse_args(argv)
    if not 1_000 <= args.max_chars <= GITHUB_COMMENT_LIMIT:
        parser.error(f"--max-chars must be between 1000 and {GITHUB_COMMENT_LIMIT}")
    diffs = [compare(stack, args.base / stack, args.head / stack) for stack in stacks_in(args.base, args.head)]
    comment = render_comment(diffs, args.max_chars, args.footer)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(comment)
    else:
        sys.stdout.write(comment)
    if args.full_diff:
        args.full_diff.parent.mkdir(parents=True, exist_ok=True)
        args.full_diff.write_text("".join(text for d in diffs for text in d.file_diffs.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
