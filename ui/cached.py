"""Engine calls for the pages, cached here (and only here) so a re-render is fast.

Scenarios are passed to cached functions as their JSON text: a stable, hashable key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import streamlit as st

from planner import api
from planner.api import (
    AdvisorResult,
    Catalog,
    EngineProfile,
    PlannerError,
    PlanResult,
    Scenario,
    SearchSpace,
    Workload,
)
from ui import breakeven

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _catalog() -> Catalog:
    return api.load_catalog()


@st.cache_resource(show_spinner=False)
def _snapshot_seen() -> dict[str, object]:
    """The price snapshot's signature when the cached catalog was loaded (one per process)."""
    return {"signature": api.prices_snapshot_signature()}


def catalog() -> Catalog:
    """The reference tables (validated once per server process), reloaded with every plan
    forgotten when the price snapshot file has been replaced (a scheduled refresh writes a new
    one that every replica reads, so replicas never serve different prices)."""
    seen = _snapshot_seen()
    signature = api.prices_snapshot_signature()
    if signature != seen["signature"]:
        seen["signature"] = signature
        reload_reference_data()
    return _catalog()


@st.cache_resource(show_spinner=False)
def profiles() -> dict[str, EngineProfile]:
    return api.load_profiles()


def reload_reference_data() -> None:
    """Forget the cached catalog, profiles and every plan (e.g. after a price refresh)."""
    _catalog.clear()
    profiles.clear()
    _per_catalog.clear()
    st.cache_data.clear()


@st.cache_resource(show_spinner=False, max_entries=64)
def _per_catalog(key: str, signature: object, _build: Callable[[], Any]) -> Any:
    return _build()


def per_catalog(key: str, build: Callable[[], T]) -> T:
    """``build()`` once per server process and price snapshot, shared by every session: for
    tables made from the reference data only (the Catalog page's). ``key`` names what ``build``
    makes; the result is shared, so never change it in place."""
    catalog()  # a replaced snapshot is noticed (and this cache cleared) first
    return _per_catalog(key, _snapshot_seen()["signature"], build)


@st.cache_data(show_spinner=False, max_entries=1024)  # traffic sweeps and bisections reuse these
def _plan(scenario_json: str) -> PlanResult:
    return api.plan_scenario(Scenario.model_validate_json(scenario_json), catalog(), profiles())


def plan(scenario: Scenario) -> PlanResult:
    """The engine's plan of the scenario (cached on the scenario's JSON)."""
    return _plan(scenario.model_dump_json())


def _costs(scenario: Scenario, requests_per_day: float) -> dict[str, float | None]:
    """Compare's cost function: each deployment's monthly cost as planned (None = unpriced)."""
    try:
        result = plan(breakeven.at_traffic(scenario, requests_per_day))
    except PlannerError:
        return {}
    return {p.label: p.monthly_cost_usd for p in result.deployments}


def _usable_costs(scenario: Scenario, requests_per_day: float) -> dict[str, float | None]:
    """The Advisor's cost function: only costs of options that fit and meet the SLOs count."""
    try:
        result = plan(api.with_traffic(scenario, requests_per_day))
    except PlannerError:
        return {}
    return {p.label: api.usable_cost(p) for p in result.deployments}


@st.cache_data(show_spinner=False, max_entries=64)
def _traffic(scenario_json: str) -> tuple[breakeven.Sweep, list[breakeven.PairSummary]]:
    scenario = Scenario.model_validate_json(scenario_json)
    costs = api.CurveCosts(api.traffic_curves(scenario, catalog(), profiles()), _costs,
                           usable=False)
    data = breakeven.sweep(scenario, costs)
    return data, breakeven.summarise(scenario, data, costs)


def traffic(scenario: Scenario) -> tuple[breakeven.Sweep, list[breakeven.PairSummary]]:
    """Cost at every grid traffic and the self-hosted/API break-evens (traffic-independent key)."""
    return _traffic(breakeven.at_traffic(scenario, 1.0).model_dump_json())


@st.cache_data(show_spinner=False, max_entries=128)
def _pair_break_even(pair_json: str, kind: str, first: str, second: str) -> breakeven.PairBreakEven:
    pair = Scenario.model_validate_json(pair_json)
    costs = api.CurveCosts(api.traffic_curves(pair, catalog(), profiles()), _usable_costs)
    return breakeven.pair_break_even(pair, kind, first, second, costs)


def break_evens(scenario: Scenario) -> list[breakeven.PairBreakEven]:
    """Break-evens of every self-hosted/API pair and every two self-hosted models (each pair
    cached on its own two deployments and workload, whatever today's traffic)."""
    out = []
    for kind, first, second in breakeven.pairs_to_compare(scenario):
        pair = api.with_traffic(scenario.model_copy(update={"deployments": tuple(
            d for d in scenario.deployments if d.label in (first, second))}), 1.0)
        out.append(_pair_break_even(pair.model_dump_json(), kind, first, second))
    return out


@st.cache_data(show_spinner=False, max_entries=64)
def _sensitivity(single_json: str, label: str) -> list[api.Sensitivity]:
    return api.sensitivity(Scenario.model_validate_json(single_json), label, catalog(),
                                profiles())


def sensitivity(scenario: Scenario, label: str) -> list[api.Sensitivity]:
    """How far each input moves one deployment's monthly cost (largest swing first)."""
    dep = next(d for d in scenario.deployments if d.label == label)
    single = scenario.model_copy(update={"deployments": (dep,)})
    return _sensitivity(single.model_dump_json(), label)


@st.cache_data(show_spinner=False, max_entries=32)
def _advise(workload_json: str, space_json: str, top: int) -> tuple[AdvisorResult, float]:
    start = time.perf_counter()
    result = api.advise(Workload.model_validate_json(workload_json),
                        SearchSpace.model_validate_json(space_json), catalog(), top=top,
                        profiles=profiles())
    # the flat arrays of every viable option stay behind: the page shows the ranked frame
    return replace(result, evaluation=None), time.perf_counter() - start


def advise(workload: Workload, space: SearchSpace, top: int) -> tuple[AdvisorResult, float]:
    """The advisor's ranking for the workload, and how long the search took (seconds; the first
    run's time when served from the cache). Raises ScenarioError for a space it refuses."""
    return _advise(workload.model_dump_json(), space.model_dump_json(), top)


@st.cache_data(show_spinner=False, ttl=300)
def accuracy() -> dict | None:
    """The throughput model's stated error, or None until calibration lands."""
    return api.throughput_accuracy()


def batch_curve(scenario: Scenario, label: str) -> dict[str, Any] | None:
    """TPOT, TTFT and tokens/s of one replica at every batch up to the memory/engine cap: the
    curve the plan sized the option with (None for a hosted API or an option that does not fit)."""
    result = plan(scenario)
    p = next(p for p in result.deployments if p.label == label)
    return p.batch_curve.model_dump() if p.batch_curve is not None else None
