"""Command line: ``python -m planner <command> ...``; each command is a thin layer over the engine."""

from planner.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
