"""The editor sets a traffic shape and a scaling policy; Compare and the link follow."""

from pathlib import Path

from app_support import open_section
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def costs(at):
    return {m.label.removesuffix(" · monthly cost").replace("\\", ""): m.value for m in at.metric
            if m.label.endswith("monthly cost")}


def test_shape_and_autoscaler_from_the_editor():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    at.number_input(key="w.rpd").set_value(2_000_000.0).run()
    fixed = costs(at)["SLM"]
    open_section(at, "day")
    at.selectbox(key="w.shape").set_value("business-hours").run()
    assert at.query_params["shape"] == "business-hours"
    assert costs(at)["SLM"] == fixed  # a shape alone changes nothing while nodes stay fixed
    open_section(at, "0")
    at.selectbox(key="w.0.scaling").set_value("autoscale").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    scaled = costs(at)["SLM"]
    assert float(scaled.strip("$").replace(",", "")) < float(fixed.strip("$").replace(",", ""))
    assert "scale_autoscale" in str(dict(at.query_params))
