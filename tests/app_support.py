"""AppTest helpers for the dashboard's sections drawn only when opened (the sidebar's lazy
expanders, Compare's download menu): open one as a click would, then run."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def open_section(at: AppTest, name: str) -> AppTest:
    """Open the editor's section ``exp.<name>`` (e.g. ``slo``, ``day``, ``carbon``, or an
    option's id) and run: its widgets are drawn from then on."""
    at.session_state[f"exp.{name}"] = True
    at.session_state[f"open.{name}"] = True
    return at.run()


def open_downloads(at: AppTest) -> AppTest:
    """Open Compare's download menu and run: its four download buttons are drawn."""
    at.session_state["downloads"] = True
    return at.run()
