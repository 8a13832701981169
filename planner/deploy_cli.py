"""Placeholder: commands are added by the issue that owns this module."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands (none yet)."""
