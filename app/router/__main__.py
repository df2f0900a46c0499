"""``python -m app.router [serve] [--host H] [--port P]`` (the Deployment passes ``--port 8080``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.core.cli import Command, run_cli
from app.core.server import serve


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to listen on (default HELPLINE_HOST, else 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port to listen on (default HELPLINE_PORT, else 8080)")


def _serve(arguments: argparse.Namespace) -> None:
    from app.router.app import create_router_app  # noqa: PLC0415  (settings errors print before heavy imports)
    from app.router.settings import RouterSettings  # noqa: PLC0415

    overrides = {name: value for name in ("host", "port") if (value := getattr(arguments, name)) is not None}
    settings = RouterSettings(**overrides)
    serve(create_router_app(settings), settings)


COMMANDS = {"serve": Command("run the router (the default)", _serve, _serve_arguments)}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0].startswith("-"):  # flags without a command mean `serve`, as in the contract
        arguments = ["serve", *arguments]
    return run_cli("app.router", COMMANDS, arguments)


if __name__ == "__main__":
    sys.exit(main())
