"""Session state: the one Scenario every page reads, the editor's draft, and link messages.

Flow of a run: :func:`init_session` (first run only: the link, or the default preset) →
the editor updates the draft from its widgets → :func:`commit_draft` validates it with the
engine's ``scenario_from_dict`` and the catalog check → pages read :func:`current_scenario`.
An invalid draft never replaces the scenario: pages keep showing the last valid one.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from planner.api import (
    Catalog,
    Scenario,
    ScenarioError,
    check_against_catalog,
    decode_params,
    field_words,
    has_scenario_params,
    scenario_from_dict,
)
from ui import draft as drafts
from ui.format import escape_md
from ui.presets import default_scenario

SCENARIO = "scenario"
DRAFT = "draft"
EDITOR_ERROR = "editor_error"
LINK_MESSAGES = "link_messages"
SHARE_PROBLEM = "share_problem"
INITIALISED = "initialised"
FIRST_VISIT = "first_visit"
WIDGET_PREFIX = "w."
SEED_PREFIX = "_seed."
EDITOR_UI_PREFIXES = ("exp.", "open.", "more.")  # per-option expander and toggle state


def query_params_dict() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def init_session(catalog: Catalog) -> bool:
    """On a session's first run: the scenario from the link, or the default preset. Returns
    whether this was the session's first run."""
    ss = st.session_state
    if ss.get(INITIALISED):
        return False
    params = query_params_dict()
    if has_scenario_params(params):
        scenario, messages = decode_params(params, catalog, fallback=default_scenario())
    else:
        scenario, messages = default_scenario(), []
    try:
        check_against_catalog(scenario, catalog)
    except ScenarioError as exc:  # only if the default itself is broken by a data change
        messages.append(f"The scenario does not match the reference data: {exc}")
    load_scenario(scenario)
    ss[LINK_MESSAGES] = messages
    ss[FIRST_VISIT] = not has_scenario_params(params)  # no link: the example preset is shown
    ss[INITIALISED] = True
    return True


def first_visit() -> bool:
    """Whether the session opened without a scenario link (it shows the example preset)."""
    return bool(st.session_state.get(FIRST_VISIT))


def load_scenario(scenario: Scenario) -> None:
    """Replace the draft and the scenario; forget every editor widget so they re-read the draft.

    Call before the editor renders (first run, or a widget callback)."""
    ss = st.session_state
    for key in list(ss.keys()):
        if isinstance(key, str) and key.startswith((WIDGET_PREFIX, SEED_PREFIX, *EDITOR_UI_PREFIXES)):
            del ss[key]
    ss[DRAFT] = drafts.draft_from_scenario(scenario)
    ss[SCENARIO] = scenario
    ss[EDITOR_ERROR] = None


def draft() -> dict[str, Any]:
    return st.session_state[DRAFT]


def current_scenario() -> Scenario:
    """The last valid scenario: what every page shows."""
    return st.session_state[SCENARIO]


def _readable(message: str, draft_data: dict[str, Any]) -> str:
    """'deployments[1].label: …' -> "deployment 'LLM' (2nd): label: …"."""
    deps = draft_data["deployments"]

    def name(match: re.Match[str]) -> str:
        i = int(match.group(1))
        label = deps[i]["label"] if i < len(deps) else "?"
        return f"deployment {i + 1} ('{label}') → "

    text = re.sub(r"deployments\[(\d+)\]\.?", name, message)
    text = text.replace("workload.", "workload → ")
    for path, label in sorted(field_words().items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"(?<![\w.]){re.escape(path)}(?!\w)", f"'{label}'", text)
    return text


def commit_draft(catalog: Catalog) -> None:
    """Validate the draft with the engine; on success it becomes the scenario."""
    ss = st.session_state
    data = drafts.scenario_dict(ss[DRAFT])
    try:
        scenario = scenario_from_dict(data)
        check_against_catalog(scenario, catalog)
    except ScenarioError as exc:
        ss[EDITOR_ERROR] = _readable(str(exc), ss[DRAFT])
        return
    ss[EDITOR_ERROR] = None
    if scenario != ss.get(SCENARIO):
        ss[SCENARIO] = scenario


def render_banners() -> None:
    """Messages every page shows above its content: what a link lost, an invalid edit."""
    ss = st.session_state
    messages = ss.get(LINK_MESSAGES) or []
    if messages:
        with st.container(border=True):
            st.warning("**The link was opened, but not everything in it could be used.** "
                       "What was ignored or replaced by a default:\n\n"
                       + "\n".join(f"- {escape_md(m)}" for m in messages), icon="⚠️")
            st.button("Dismiss", key="dismiss_link_messages", on_click=_dismiss_link_messages)
    error = ss.get(EDITOR_ERROR)
    if error:
        st.error(f"**The scenario editor has a problem; showing the last valid scenario.** "
                 f"{escape_md(error)}", icon="✏️")


def _dismiss_link_messages() -> None:
    st.session_state[LINK_MESSAGES] = []
