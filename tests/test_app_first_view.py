"""A new session's first view (ui/first_view.py) run by AppTest, told it is a browser: the first
run draws Compare's headline and stops; the run the browser's paint report starts draws the whole
page. A scenario that cannot be planned, or a page that fails, still leaves the editor."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner.errors import ScenarioError

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT_S = 60


@pytest.fixture
def as_a_browser(monkeypatch):
    from ui import first_view
    monkeypatch.setattr(first_view, "_from_a_browser", lambda: True)


def editor_inputs(at: AppTest) -> int:
    return len(at.sidebar.number_input)


def reports_paint(at: AppTest) -> bool:
    """Whether the run ended as a first view: the paint reporter is mounted (its report is what
    starts the next run in a browser)."""
    return any(getattr(e, "key", None) == "first_view" for e in at.get("bidi_component"))


def test_first_run_is_the_headline_then_the_whole_page(as_a_browser):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception
    # the headline: the answer and the four cost cards, the API at its list prices
    costs = {m.label.removesuffix(" · monthly cost"): m.value for m in at.metric}
    assert costs["API"] == "$1,460" and len(costs) == 4
    # and nothing else yet: no editor, no tables, no exports
    assert editor_inputs(at) == 0 and not at.dataframe
    assert not at.get("download_button") and not at.get("popover")
    assert reports_paint(at)
    at.run()  # what the browser's paint report does
    assert not at.exception and not reports_paint(at)
    assert editor_inputs(at) >= 6 and len(at.dataframe) == 2
    assert [b.proto.popover.label for b in at.get("popover")] == ["Download"]  # the exports
    assert {m.label.removesuffix(" · monthly cost"): m.value for m in at.metric} == costs
    at.run()  # later runs are ordinary ones
    assert editor_inputs(at) >= 6 and len(at.dataframe) == 2


def test_without_a_browser_the_whole_page_comes_in_one_run():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert editor_inputs(at) >= 6 and len(at.dataframe) == 2
    assert not reports_paint(at)


def test_an_unplannable_scenario_still_gets_its_editor(as_a_browser, monkeypatch):
    from ui import cached

    def broken(scenario):
        raise ScenarioError("deployment 'SLM': no such thing")

    monkeypatch.setattr(cached, "plan", broken)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert any("cannot plan this scenario" in e.value for e in at.error)
    assert reports_paint(at)  # so a browser asks for the whole page
    at.run()  # the report of the first view's paint
    assert not at.exception
    assert any("cannot plan this scenario" in e.value for e in at.error)
    assert editor_inputs(at) >= 6  # the editor to fix it with


def test_a_failing_page_still_draws_the_editor(as_a_browser, monkeypatch):
    from ui import cached

    def failing(scenario):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cached, "plan", failing)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert at.exception  # shown, as on any run
    assert editor_inputs(at) >= 6
