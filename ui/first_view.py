"""A new session's first view: the page's answer first, the rest once the browser has drawn it.

A browser draws the elements that arrive together as one batch, and the whole Compare page (about
90 elements: the sidebar editor's widgets, two tables, the exports) takes headless Chromium on a
2-core machine ~2-3 s to draw, so its monthly costs showed only when everything had been drawn.
On a session's first run a page may therefore end its *first view* after its headline numbers
(:func:`end`): the run stops there and mounts a small component that reports back once the browser
has painted; that report reruns the script, which sends the whole page as on any other run. The
numbers are painted within ~0.2-0.5 s of a one-metric Streamlit page's (benchmarks/page_speed.py),
and the whole page follows.

Only a browser can report a paint, so only a client that says it is one gets a first view; any
other (Streamlit's AppTest, the websocket benchmark) gets the whole page in one run.
"""

from __future__ import annotations

import streamlit as st

KEY = "first_view"  # the component's key: its element carries the class st-key-first_view
_ACTIVE = "_first_view_active"
# The report is sent once the page has no loading skeleton left (the headline's elements are
# drawn) and a frame has been painted since; a hidden tab draws no frames, so it reports at once,
# and after 3 s the report goes whatever happens.
_JS = """export default function (component) {
  let sent = false;
  const send = () => { if (!sent) { sent = true; component.setTriggerValue("painted", true); } };
  const deadline = performance.now() + 3000;
  const check = () => {
    if (document.hidden || performance.now() > deadline) return send();
    if (!document.querySelector('[data-testid="stSkeleton"]')) {
      return requestAnimationFrame(() => setTimeout(send, 0));
    }
    requestAnimationFrame(check);
  };
  check();
  setTimeout(send, 3000);
}"""
_painted = st.components.v2.component("planner_first_view", js=_JS)


def _from_a_browser() -> bool:
    """Whether the session's client is a browser (every browser's User-Agent starts 'Mozilla/')."""
    return (st.context.headers.get("User-Agent") or "").startswith("Mozilla/")


def begin(opening: bool) -> bool:
    """Called once per run before anything is drawn: whether this run is a first view (the
    session's first run, in a browser). ``opening``: this is the session's first run."""
    active = opening and _from_a_browser()
    st.session_state[_ACTIVE] = active
    return active


def active() -> bool:
    """Whether this run is a first view (see :func:`begin`)."""
    return bool(st.session_state.get(_ACTIVE))


def end() -> None:
    """A page calls this after its headline numbers, and before any ``st.stop()`` that comes
    first (on a first view the sidebar is drawn after the page, so a page that stopped would
    leave it out). In a first view the run ends here, and the browser's paint report starts the
    run that draws the whole page; otherwise nothing happens."""
    if not active():
        return
    st.session_state[_ACTIVE] = False
    _painted(key=KEY, on_painted_change=_ignore)
    st.stop()


def _ignore() -> None:
    """The report's only job is the rerun it causes."""
