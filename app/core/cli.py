"""The command line of every service: ``python -m app.<service> [serve|migrate|...]``.

``serve`` is the default (the container command stays ``python -m app.<service>``). Settings errors (a missing
or placeholder secret) print one clear line naming the variable and exit 2 instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError


def _no_arguments(_parser: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[argparse.Namespace], int | None]
    add_arguments: Callable[[argparse.ArgumentParser], None] = field(default=_no_arguments)


def run_cli(
    prog: str, commands: Mapping[str, Command], argv: Sequence[str] | None = None, default: str = "serve"
) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the chosen command; returns the exit code."""
    parser = argparse.ArgumentParser(prog=prog)
    subparsers = parser.add_subparsers(dest="command")
    for name, command in commands.items():
        command.add_arguments(subparsers.add_parser(name, help=command.help))
    arguments = list(sys.argv[1:] if argv is None else argv)
    namespace = parser.parse_args(arguments or [default])
    try:
        return commands[namespace.command].run(namespace) or 0
    except ValidationError as exc:
        messages = "; ".join(_readable(error) for error in exc.errors())
        print(f"{prog}: invalid settings: {messages}", file=sys.stderr)
        return 2


def _readable(error: Mapping[str, object]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) or ())  # type: ignore[union-attr]
    message = str(error.get("msg", "invalid"))
    return f"{location}: {message}" if location else message
