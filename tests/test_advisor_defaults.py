"""The advisor's default answer is deployable: a quality floor, KAITO's GPU rule, grouped rows."""

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from planner.analyses.advisor import (
    SearchSpace,
    advise,
    grouped_options,
    kaito_gpu_rejection,
    quality_floor_mmlu,
)
from planner.cli.main import main
from planner.registry import DEFAULT_MIN_MMLU, KAITO_MIN_COMPUTE_CAPABILITY
from planner.scenario import Workload, load_scenario

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.*"))


def test_quality_floor_comes_from_the_scenario_unless_the_search_says_otherwise():
    assert quality_floor_mmlu(Workload(), SearchSpace()) == DEFAULT_MIN_MMLU
    assert quality_floor_mmlu(Workload(min_mmlu=70), SearchSpace()) == 70
    assert quality_floor_mmlu(Workload(min_mmlu=0), SearchSpace()) is None  # "any quality"
    assert quality_floor_mmlu(Workload(min_mmlu=70), SearchSpace(min_mmlu=50)) == 50
    assert quality_floor_mmlu(Workload(min_mmlu=70), SearchSpace(any_quality=True)) is None


def test_kaito_gpu_rule_follows_compute_capability(catalog):
    # gpus.csv: T4 sm 7.5, V100 sm 7.0 (NVIDIA CUDA GPU list); KAITO needs >= 8.0 (kaito#2114)
    assert KAITO_MIN_COMPUTE_CAPABILITY == 8.0
    assert kaito_gpu_rejection(catalog.gpus["t4"]) == "kaito_gpu_unsupported"
    assert kaito_gpu_rejection(catalog.gpus["v100-16gb"]) == "kaito_gpu_unsupported"
    assert kaito_gpu_rejection(catalog.gpus["a10"]) is None  # sm 8.6
    assert kaito_gpu_rejection(catalog.gpus["a100-80gb-pcie"]) is None  # sm 8.0: the boundary
    assert kaito_gpu_rejection(catalog.gpus["mi300x"]) == "kaito_gpu_unconfirmed"  # no sm


def test_grouping_keeps_the_cheapest_and_the_better_precision_on_a_tie():
    ranked = pd.DataFrame([
        {"model": "m", "kind": "azure", "sku": "S", "plan": "payg", "precision": "int4",
         "monthly_cost_usd": 100.0, "mmlu_5shot": 60.0, "nodes": 1, "tp": 1},
        {"model": "m", "kind": "azure", "sku": "S", "plan": "payg", "precision": "fp16",
         "monthly_cost_usd": 100.0, "mmlu_5shot": 65.0, "nodes": 1, "tp": 1},
        {"model": "m", "kind": "azure", "sku": "S", "plan": "payg", "precision": "int8",
         "monthly_cost_usd": 150.0, "mmlu_5shot": 64.0, "nodes": 1, "tp": 1},
        {"model": "m", "kind": "azure", "sku": "S", "plan": "spot", "precision": "fp16",
         "monthly_cost_usd": 40.0, "mmlu_5shot": 65.0, "nodes": 1, "tp": 1},
    ])
    grouped = grouped_options(ranked)
    assert list(grouped["plan"]) == ["spot", "payg"]  # still cheapest first
    payg = grouped.iloc[1]
    assert payg["precision"] == "fp16" and payg["variants"] == 3
    assert payg["other_precisions"] == "int4, int8"
    assert grouped.iloc[0]["variants"] == 1 and grouped.iloc[0]["other_precisions"] == ""


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_default_top_ten_is_deployable(example, catalog):
    scenario = load_scenario(example)
    assert scenario.workload.min_mmlu is not None  # presets carry their floor
    result = advise(scenario.workload, SearchSpace(), catalog, top=10)
    top = result.ranked.head(10)
    assert len(top) == 10
    assert result.min_mmlu == scenario.workload.min_mmlu
    for row in top.to_dict("records"):
        spec = catalog.api_models.get(row["model"]) or catalog.models[row["model"]]
        assert not getattr(spec, "retired", False), row  # only hosted APIs retire
        assert row["mmlu_5shot"] >= scenario.workload.min_mmlu, row  # at the served precision
        if row["kind"] == "azure":
            gpu = catalog.gpus[catalog.skus[row["sku"]].gpu_id]
            assert gpu.compute_capability >= KAITO_MIN_COMPUTE_CAPABILITY, row
    keys = list(zip(top["model"], top["sku"], top["plan"].fillna(""), strict=True))
    assert len(set(keys)) == len(keys)
    # the grouped-away options are kept, each in a shown group
    assert len(result.variants) >= len(result.ranked)
    assert set(result.variants["group"]) == set(result.ranked["group"])


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_advise_cli_succeeds_on_every_example(fmt, capsys):
    for example in EXAMPLES:
        assert main(["advise", "--scenario", str(example), "--top", "10", "--format", fmt]) == 0
        out = capsys.readouterr().out
        if fmt == "json":
            data = json.loads(out)  # strict JSON: no NaN
            assert len(data["ranked"]) == 10
        elif fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(out)))
            assert len(rows) == 10 and "other_precisions" in rows[0]
        else:
            assert "options evaluated" in out
