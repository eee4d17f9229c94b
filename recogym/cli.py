"""The ``recogym`` command."""
from __future__ import annotations

import argparse
import sys


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recogym", description="Fast, faithful RecoGym.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="the getting-started walkthrough and a random/popularity comparison")
    demo.add_argument("--seed", type=_non_negative, default=42)
    demo.add_argument("--offline-users", type=_non_negative, default=1000)
    demo.add_argument("--online-users", type=_non_negative, default=1000)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    if arguments.command == "demo":
        from .demo import run_demo

        run_demo(arguments.seed, arguments.offline_users, arguments.online_users)
    return 0


if __name__ == "__main__":
    sys.exit(main())
