"""Share links: keep the address bar equal to the scenario, and show a link to copy."""

from __future__ import annotations

import streamlit as st

from planner.api import (
    Scenario,
    ScenarioError,
    check_against_catalog,
    encode_scenario,
    parse_scenario_bytes,
    same_params,
    share_link_problem,
    to_query_string,
)
from ui import state
from ui.format import escape_md

VIEW_PARAM = "view"  # ?...&view=summary opens the read-only summary for readers
SUMMARY_VIEW = "summary"


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


def render_share_box(scenario: Scenario, page_url_path: str = "") -> None:
    """The link to copy (st.code has a copy button) or why there is none."""
    url = share_url(scenario, page_url_path)
    if url is None:
        st.warning(f"No share link: {st.session_state.get(state.SHARE_PROBLEM) or 'too long'}.",
                   icon="🔗")
        return
    st.code(url, language=None, wrap_lines=True)
    st.caption("Copy with the icon at the top right of the box. The address bar always holds the "
               "same link: whoever opens it sees this scenario and these numbers.")
    st.markdown("**For readers** (read-only summary that prints to PDF):")
    st.code(f"{url}&{VIEW_PARAM}={SUMMARY_VIEW}", language=None, wrap_lines=True)


@st.dialog("Share this scenario", width="large", icon=":material/link:")
def _share_dialog(scenario: Scenario, page_url_path: str) -> None:
    render_share_box(scenario, page_url_path)


def share_button(scenario: Scenario, page_url_path: str = "", *, key: str) -> None:
    """A button that opens the share links in a dialog. The links are drawn only when asked for:
    a code box on the page costs a first open ~1 s of the browser's time (its highlighter)."""
    if st.button("Share this scenario", icon=":material/link:", key=key):
        _share_dialog(scenario, page_url_path)


UPLOAD_KEY = "scenario_upload"
UPLOAD_ERROR = "upload_error"
UPLOAD_NOTE = "upload_note"


def _load_upload(catalog) -> None:
    """Callback: a JSON/YAML scenario file replaces the scenario, or its problem is shown and
    nothing is lost (the current scenario stays)."""
    ss = st.session_state
    file = ss.get(UPLOAD_KEY)
    ss[UPLOAD_ERROR] = ss[UPLOAD_NOTE] = None
    if file is None:
        return
    try:
        scenario = parse_scenario_bytes(file.name, file.getvalue())
        check_against_catalog(scenario, catalog)
    except ScenarioError as exc:
        ss[UPLOAD_ERROR] = f"{file.name}: {exc}"
        return
    state.load_scenario(scenario)
    ss[UPLOAD_NOTE] = f"Loaded {file.name}: scenario '{scenario.name}'."


def render_upload(catalog) -> None:
    """Load a scenario from a JSON or YAML file (the format of examples/ and the JSON download)."""
    st.file_uploader("Scenario file (JSON or YAML)", type=["json", "yaml", "yml"],
                     key=UPLOAD_KEY, on_change=_load_upload, args=(catalog,),
                     help="The same format as the 'Scenario (JSON)' download (in Compare's "
                          "Download menu) and the files in examples/.")
    if st.session_state.get(UPLOAD_ERROR):
        # the file name, the scenario's name and the model ids in the message are the
        # uploader's text: escaped, so no Markdown (remote images, links) is rendered from it
        st.error(f"Not loaded — {escape_md(st.session_state[UPLOAD_ERROR])}. The current "
                 "scenario is unchanged.", icon="📄")
    elif st.session_state.get(UPLOAD_NOTE):
        st.success(escape_md(st.session_state[UPLOAD_NOTE]), icon="📄")
