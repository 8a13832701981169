"""Starting points for the editor: three common workloads, each with a few options to compare.

Figures are illustrative workloads, not measurements; every price and performance number still
comes from the catalog and the engine.
"""

from __future__ import annotations

from typing import Any

from planner.scenario import Scenario, scenario_from_dict


def _azure(label: str, model: str, precision: str, sku: str, **extra: Any) -> dict[str, Any]:
    return {"label": label, "model": model, "precision": precision,
            "target": {"kind": "azure", "vm_sku": sku, "region": "eastus", "pricing": "payg"},
            **extra}


def _api(label: str, model: str) -> dict[str, Any]:
    return {"label": label, "model": model, "target": {"kind": "api"}}


PRESETS: dict[str, dict[str, Any]] = {
    # the shipped example (examples/support-bot.json): short chats, tight latency, steady traffic
    "Customer-support chatbot": {
        "name": "support-bot",
        "workload": {"requests_per_day": 200_000, "input_tokens": 800, "output_tokens": 200,
                     "peak_to_average": 3.0, "ttft_slo_ms": 2000, "tpot_slo_ms": 100,
                     "min_replicas": 2, "monthly_growth": 0.0},
        "deployments": [
            _azure("SLM", "phi-3-mini-4k", "fp16", "Standard_NC24ads_A100_v4"),
            _azure("LLM", "llama-3-70b", "fp8", "Standard_ND96isr_H100_v5"),
            {"label": "On-prem", "model": "phi-3-mini-4k", "precision": "int4",
             "target": {"kind": "local", "hardware": "workstation-1x-rtx-4090",
                        "amortization_years": 3}},
            _api("API", "gpt-4o-mini"),
        ],
    },
    # long inputs, short summaries, batch-like traffic with relaxed latency
    "Document summarisation": {
        "name": "document-summarisation",
        "workload": {"requests_per_day": 20_000, "input_tokens": 3000, "output_tokens": 300,
                     "peak_to_average": 2.0, "ttft_slo_ms": 10_000, "tpot_slo_ms": 150,
                     "min_replicas": 1, "monthly_growth": 0.0},
        "deployments": [
            _azure("SLM", "phi-3.5-mini", "fp16", "Standard_NC24ads_A100_v4", context_tokens=8192),
            _azure("Llama 8B", "llama-3.1-8b", "fp16", "Standard_NC24ads_A100_v4",
                   context_tokens=8192),
            _azure("Llama 70B", "llama-3.1-70b", "fp8", "Standard_ND96isr_H100_v5",
                   context_tokens=8192),
            _api("API", "gpt-4o"),
        ],
    },
    # business-hours coding assistant: bursty, latency-sensitive, adoption growing
    "Internal copilot": {
        "name": "internal-copilot",
        "workload": {"requests_per_day": 40_000, "input_tokens": 2000, "output_tokens": 400,
                     "peak_to_average": 4.0, "ttft_slo_ms": 1500, "tpot_slo_ms": 60,
                     "min_replicas": 1, "monthly_growth": 0.1},
        "deployments": [
            _azure("SLM on A10", "qwen2.5-7b", "int4", "Standard_NV36ads_A10_v5",
                   context_tokens=8192),
            _azure("SLM on H100", "llama-3.1-8b", "fp8", "Standard_NC40ads_H100_v5",
                   context_tokens=8192),
            _api("API mini", "gpt-4o-mini"),
            _api("API", "gpt-4o"),
        ],
    },
}
DEFAULT_PRESET = "Customer-support chatbot"


def preset(name: str) -> Scenario:
    """The named preset as a validated Scenario."""
    return scenario_from_dict(PRESETS[name])


def default_scenario() -> Scenario:
    return preset(DEFAULT_PRESET)
