"""Share links: keep the address bar equal to the scenario, and show a link to copy."""

from __future__ import annotations

import streamlit as st

from planner.scenario import Scenario
from planner.sharelink import encode_scenario, same_params, share_link_problem, to_query_string
from ui import state


def sync_query_params(scenario: Scenario) -> str | None:
    """Write the scenario into ``st.query_params`` if it changed; the problem if it cannot be."""
    params = encode_scenario(scenario)
    problem = share_link_problem(params)
    if problem:
        if len(st.query_params):
            st.query_params.clear()
        st.session_state[state.SHARE_PROBLEM] = problem
        return problem
    st.session_state[state.SHARE_PROBLEM] = None
    if not same_params(state.query_params_dict(), params):
        st.query_params.from_dict(params)
    return None


def app_root_url(page_url_path: str) -> str:
    """The app's root URL (the Compare page), from the browser's URL of the current page."""
    url = st.context.url or ""
    if page_url_path and url.rstrip("/").endswith("/" + page_url_path):
        url = url.rstrip("/")[: -len(page_url_path) - 1]
    return url.rstrip("/") + "/" if url else ""


def share_url(scenario: Scenario, page_url_path: str = "") -> str | None:
    params = encode_scenario(scenario)
    if share_link_problem(params):
        return None
    return f"{app_root_url(page_url_path)}?{to_query_string(params)}"


def render_share_box(scenario: Scenario, page_url_path: str = "", *, key: str = "share") -> None:
    """The link to copy (st.code has a copy button) or why there is none."""
    url = share_url(scenario, page_url_path)
    if url is None:
        st.warning(f"No share link: {st.session_state.get(state.SHARE_PROBLEM) or 'too long'}.",
                   icon="🔗")
        return
    st.code(url, language=None, wrap_lines=True)
    st.caption("Copy with the icon at the top right of the box. The address bar always holds the "
               "same link: whoever opens it sees this scenario and these numbers.")
