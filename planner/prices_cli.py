"""``python -m planner prices ...``: the Azure price snapshot."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``prices`` command group (refresh arrives with the prices client)."""
    sub.add_parser("prices", help="Azure price snapshot")
