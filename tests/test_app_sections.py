"""The editor's sections drawn only when opened (ui/editor.py ``_lazy_expander``): closed, they
draw no inputs, their titles say what they hold, and what was set in them stays in the scenario
(and its link) after they close."""

from __future__ import annotations

from pathlib import Path

from app_support import open_section
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def section_titles(at: AppTest) -> list[str]:
    return [e.label for e in at.sidebar.expander]


def has_input(at: AppTest, key: str) -> bool:
    return any(getattr(w, "key", None) == key for w in at.sidebar.number_input)


def test_a_closed_section_draws_no_inputs_and_keeps_what_was_set():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    # the default preset's SLOs (examples/support-bot.json) and its flat day, in the titles
    assert "Service levels · TTFT 2,000 ms · TPOT 100 ms" in section_titles(at)
    assert "Traffic over the day · flat" in section_titles(at)
    assert not has_input(at, "w.ttft") and not has_input(at, "w.tz")
    assert has_input(at, "w.rpd")  # the workload's own inputs are always drawn

    open_section(at, "slo")
    at.number_input(key="w.ttft").set_value(500.0).run()
    assert not at.exception
    assert at.session_state["scenario"].workload.ttft_slo_ms == 500
    assert at.query_params["ttft"] == "500"
    assert "Service levels · TTFT 500 ms · TPOT 100 ms" in section_titles(at)  # open still
    assert has_input(at, "w.ttft")

    at.session_state["exp.slo"] = False  # closed, as a click on its title does
    at.session_state["open.slo"] = False
    at.run()
    assert not has_input(at, "w.ttft")
    at.number_input(key="w.rpd").set_value(400_000.0).run()  # an edit elsewhere keeps it
    scenario = at.session_state["scenario"]
    assert scenario.workload.ttft_slo_ms == 500 and scenario.workload.requests_per_day == 400_000
    assert "Service levels · TTFT 500 ms · TPOT 100 ms" in section_titles(at)

    open_section(at, "slo")  # opened again: the input shows the scenario's value
    assert at.number_input(key="w.ttft").value == 500


def test_the_day_section_names_the_shape_chosen_in_it():
    at = AppTest.from_file(APP, default_timeout=60).run()
    open_section(at, "day")
    at.selectbox(key="w.shape").set_value("follow-the-sun").run()
    assert not at.exception
    assert "Traffic over the day · follow the sun" in section_titles(at)
    assert at.session_state["scenario"].workload.traffic_shape == "follow-the-sun"
