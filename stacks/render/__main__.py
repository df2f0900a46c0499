"""CLI of the offline render; exits 2 with the config error when the stack's config is invalid."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stacks.config.base import StackConfigError
from stacks.render.artifacts import write_render
from stacks.render.runner import render_program
from stacks.render.stack_files import ROOT, StackFileError, load_stack_settings


def output_dir(stack: str, cloud: str | None) -> Path:
    return ROOT / "build" / "render" / (f"{stack}-{cloud}" if cloud else stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.render", description=__doc__)
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--cloud", choices=["aws", "gcp"], help="override helpline:cloud")
    parser.add_argument("--out", type=Path, help="output folder (default build/render/<stack>[-<cloud>])")
    parser.add_argument("--project-dir", type=Path, default=ROOT, help="folder holding Pulumi.yaml (default: repo)")
    parser.add_argument("--secrets-file", type=Path, help="also write the known secret values here (tests only)")
    args = parser.parse_args(argv)
    try:
        settings = load_stack_settings(args.stack, args.cloud, args.project_dir)
        result = render_program(settings)
    except StackConfigError as exc:
        print(f"render {args.stack}: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, StackFileError) as exc:
        print(f"render {args.stack}: {exc}", file=sys.stderr)
        return 2
    out = args.out or output_dir(args.stack, args.cloud)
    counts = write_render(out, result.resources, result.outputs)
    if args.secrets_file:
        args.secrets_file.write_text(json.dumps(sorted(result.secret_values)))
    summary = ", ".join(f"{count} {what}" for what, count in counts.items())
    print(
        f"rendered {args.stack} ({settings.config.get('helpline:cloud')}) -> {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {summary}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
