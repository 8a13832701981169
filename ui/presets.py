"""Starting points for the editor: the scenario files in ``examples/``, one preset each.

The presets are the examples themselves (the same files the CLI, the golden tests and the README
use), so a preset and the example of the same name can never differ. Figures in them are
illustrative workloads, not measurements; every price and performance number comes from the
catalog and the engine.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from planner.api import Scenario, load_scenario

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
# preset name -> example file, in the order the editor offers them
PRESET_FILES: dict[str, str] = {
    "Customer-support chatbot": "support-bot.json",
    "Document summarisation": "document-summarisation.yaml",
    "Internal copilot": "internal-copilot.yaml",
}
PRESETS = tuple(PRESET_FILES)
DEFAULT_PRESET = "Customer-support chatbot"


@cache
def preset(name: str) -> Scenario:
    """The named preset as a validated Scenario, read from its example file."""
    return load_scenario(EXAMPLES_DIR / PRESET_FILES[name])


def default_scenario() -> Scenario:
    return preset(DEFAULT_PRESET)
