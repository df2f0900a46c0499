"""Parse ``vllm serve`` argument lists with vLLM's own parser; run by the vLLM tool env's python, not .venv's.

    <vllm env>/bin/python tests/support/vllm_argcheck.py < lists.json > verdicts.json

stdin: ``{"<label>": ["<model>", "--flag", "value", ...], ...}``, the arguments after ``vllm serve`` exactly as a
pod's container gets them. stdout: ``{"<label>": {"unknown": [flags vLLM does not know], "error": "<what vLLM's
parser or its serve-args validation refused>" | null}}``. Nothing is loaded or downloaded: only the parser runs,
the way ``vllm serve`` builds it (``vllm.entrypoints.cli.serve``: the ``serve`` subcommand under vLLM's
``FlexibleArgumentParser``, then the subcommand's ``validate``), and ``EngineArgs.from_cli_args`` so a value of
the wrong type for an engine field fails here too. This file imports nothing from the repository: it runs where
only vLLM is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

UNRECOGNIZED = "unrecognized arguments:"


class ParserRefusedError(Exception):
    """argparse's ``error`` (which would print usage and exit 2), as an exception with its message."""


def _raise_instead_of_exit(parser: argparse.ArgumentParser) -> None:
    def error(message: str) -> NoReturn:
        raise ParserRefusedError(message)

    parser.error = error  # type: ignore[method-assign]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _raise_instead_of_exit(sub)


def serve_parser() -> tuple[argparse.ArgumentParser, Any]:
    """vLLM's top-level CLI parser with the ``serve`` subcommand, as ``vllm`` (the console script) builds it."""
    from vllm.entrypoints.cli import serve
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(description="vLLM CLI")
    subparsers = parser.add_subparsers(required=False, dest="subparser")
    (command,) = serve.cmd_init()
    command.subparser_init(subparsers).set_defaults(dispatch_function=command.cmd)
    _raise_instead_of_exit(parser)
    return parser, command


def verdict(parser: argparse.ArgumentParser, command: Any, args: list[str]) -> dict[str, Any]:
    """Parse as ``vllm serve <args>`` would; an unknown flag is reported by name."""
    from vllm.engine.arg_utils import AsyncEngineArgs

    try:
        namespace = parser.parse_args(["serve", *args])
        command.validate(namespace)
        if getattr(namespace, "model_tag", None):
            namespace.model = namespace.model_tag  # what ``ServeSubcommand.cmd`` does before building the engine
        AsyncEngineArgs.from_cli_args(namespace)
    except ParserRefusedError as exc:
        message = str(exc)
        unknown = []
        if message.startswith(UNRECOGNIZED):
            unknown = [arg.split("=", 1)[0] for arg in message.removeprefix(UNRECOGNIZED).split() if arg[:1] == "-"]
        return {"unknown": unknown, "error": message}
    except (ValueError, TypeError) as exc:
        return {"unknown": [], "error": f"{type(exc).__name__}: {exc}"}
    return {"unknown": [], "error": None}


def main() -> int:
    out, sys.stdout = sys.stdout, sys.stderr  # vLLM logs to stdout: keep it off the JSON answer
    lists: dict[str, list[str]] = json.load(sys.stdin)
    parser, command = serve_parser()
    json.dump({label: verdict(parser, command, args) for label, args in lists.items()}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
