"""python -m inspector: the inspector's web app on 127.0.0.1:8088 (--host, --port), over the
connection flags and environment variables every tool reads (docs/inspector.md)."""

from __future__ import annotations

import connection.dependency_check  # noqa: F401  # isort: skip  (first: one line outside the venv)

import argparse
import sys
from collections.abc import Sequence

from connection.cli import OneLineErrorParser, port_number
from connection.defaults import LOOPBACK
from connection.settings import SettingsError, add_connection_arguments, settings_from_args
from inspector.server import serve

DEFAULT_PORT = 8088


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="python -m inspector",
        description="A read-only web app over the topics, their typed records, the "
        "contract's versions and follow mode's live statistics.",
    )
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help="address to listen on (default %(default)s: this machine only; 0.0.0.0 in a "
        "container)",
    )
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help="default %(default)s"
    )
    add_connection_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except SettingsError as error:
        print(f"python -m inspector: error: {error}", file=sys.stderr)
        return 2
    print(f"inspector: http://{args.host}:{args.port}/", file=sys.stderr)
    serve(settings, args.host, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
