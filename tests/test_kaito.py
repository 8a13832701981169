"""KAITO Workspace manifests and az node-pool commands generated from a plan."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from planner.catalog import DATA_DIR
from planner.cli import main
from planner.errors import DataError
from planner.io.kaito import (
    GPU_TAINT,
    KAITO_PRESETS_FILE,
    ExportError,
    az_nodepool_command,
    kaito_export,
    kaito_workspace_yaml,
    label_value,
    load_kaito_presets,
    nodepool_export,
    nodepool_name,
    workspace_name,
)
from planner.pipeline.plan import plan_scenario
from planner.scenario import scenario_from_dict

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support-bot.json"
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
# Preset names in presets/workspace/models/supported_models.yaml @ 056b8280 (facts.md section 4.3).
KAITO_HEAD_PRESETS = set("""llama-3.1-8b-instruct llama-3.3-70b-instruct deepseek-r1-0528
deepseek-v3-0324 falcon-7b falcon-7b-instruct falcon-40b falcon-40b-instruct mistral-7b
mistral-7b-instruct ministral-3-3b-instruct ministral-3-8b-instruct ministral-3-14b-instruct
mistral-large-3-675b-instruct phi-2 phi-3-mini-4k-instruct phi-3-mini-128k-instruct
phi-3-medium-4k-instruct phi-3-medium-128k-instruct phi-3.5-mini-instruct phi-4-mini-instruct
phi-4 qwen2.5-coder-7b-instruct qwen2.5-coder-32b-instruct deepseek-r1-distill-qwen-14b
deepseek-r1-distill-llama-8b gemma-3-4b-instruct gemma-3-27b-instruct gpt-oss-20b
gpt-oss-120b""".split())


def azure(sku: str, pricing: str = "payg") -> dict:
    return {"kind": "azure", "vm_sku": sku, "region": "eastus", "pricing": pricing}


def planned(deployments: list[dict], catalog, **workload):
    scenario = scenario_from_dict({"name": "t", "workload": {
        "requests_per_day": 200_000, "min_replicas": 2, **workload}, "deployments": deployments})
    return scenario, plan_scenario(scenario, catalog)


@pytest.fixture(scope="module")
def support_bot(catalog):
    scenario = scenario_from_dict(json.loads(EXAMPLE.read_text()))
    return scenario, plan_scenario(scenario, catalog)


def by_label(result, label):
    return next(p for p in result.deployments if p.label == label)


def body(text: str) -> dict:
    docs = list(yaml.safe_load_all(text))
    assert len(docs) == 1
    return docs[0]


def assert_workspace_shape(ws: dict, byo: bool = False) -> tuple[dict, dict]:
    """The v1beta1 fields KAITO needs, for a Workspace (one replica) or an InferenceSet of
    Workspaces (kaito-project/kaito v0.12.0 api/v1beta1, website/docs/inference.md). Returns the
    resource block (labelSelector inside) and the inference block."""
    assert ws["apiVersion"] == "kaito.sh/v1beta1"
    assert DNS1123_LABEL.match(ws["metadata"]["name"]) and len(ws["metadata"]["name"]) <= 63
    if ws["kind"] == "Workspace":
        assert set(ws) == {"apiVersion", "kind", "metadata", "resource", "inference"}  # no spec
        res, inference = ws["resource"], ws["inference"]
        selector = res["labelSelector"]
    else:
        assert ws["kind"] == "InferenceSet"
        assert set(ws) == {"apiVersion", "kind", "metadata", "spec"}
        spec = ws["spec"]
        assert isinstance(spec["replicas"], int) and spec["replicas"] >= 2
        selector = spec["labelSelector"]
        res = {**spec["template"].get("resource", {}), "labelSelector": selector}
        inference = spec["template"]["inference"]
    assert "count" not in res  # deprecated in v1beta1: replicas are an InferenceSet
    if byo:
        assert "instanceType" not in res  # bring-your-own nodes: KAITO wants it empty
    else:
        assert res["instanceType"].startswith("Standard_")
    labels = selector["matchLabels"]
    assert labels and all(LABEL_VALUE.match(v) and len(v) <= 63 for v in labels.values())
    assert isinstance(inference["preset"]["name"], str) and inference["preset"]["name"]
    return res, inference


# --- the presets table --------------------------------------------------------------------------


def test_presets_table_keeps_provenance_and_names_known_models(catalog):
    presets = load_kaito_presets(DATA_DIR)
    assert presets, "empty presets table"
    for row in presets.values():
        assert row.source.strip() and row.as_of.year >= 2023
        assert row.model_id in catalog.models
        if row.status != "none":
            assert row.preset in KAITO_HEAD_PRESETS, row.preset
    planned_models = """phi-2 phi-3-mini-4k phi-3-mini-128k phi-3-small-8k phi-3-medium-4k
    phi-3.5-mini mistral-7b mixtral-8x7b llama-2-7b llama-2-13b llama-2-70b llama-3-8b llama-3-70b
    llama-3.1-8b llama-3.1-70b llama-3.1-405b falcon-7b falcon-40b gemma-2b gemma-7b orca-2-7b
    orca-2-13b gpt-neo-1.3b gpt-neo-2.7b qwen2.5-7b""".split()
    assert set(planned_models) <= set(presets), "every planned model says whether KAITO has it"


def test_model_missing_from_the_table_is_treated_as_no_preset(tmp_path):
    from planner.catalog import load_catalog

    data = _copy_data(tmp_path)
    path = data / KAITO_PRESETS_FILE
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                            if not line.startswith("phi-3-mini-4k,")))
    catalog = load_catalog(data)
    scenario, result = planned([{"label": "a", "model": "phi-3-mini-4k",
                                 "target": azure("Standard_NC24ads_A100_v4")}], catalog)
    export = kaito_export(result.deployments[0], scenario, catalog)
    assert export.preset_name == "microsoft/Phi-3-mini-4k-instruct" and not export.has_preset
    assert any("not in kaito_presets.csv" in w for w in export.warnings)


@pytest.mark.parametrize(("model", "preset"), [
    ("phi-3-mini-4k", "phi-3-mini-4k-instruct"), ("phi-3-mini-128k", "phi-3-mini-128k-instruct"),
    ("phi-3-medium-4k", "phi-3-medium-4k-instruct"), ("phi-3.5-mini", "phi-3.5-mini-instruct"),
    ("mistral-7b", "mistral-7b"), ("falcon-7b", "falcon-7b"), ("falcon-40b", "falcon-40b"),
    ("llama-3.1-8b", "llama-3.1-8b-instruct"), ("phi-2", "phi-2"),
])
def test_preset_mapping(model, preset):
    row = load_kaito_presets(DATA_DIR)[model]
    assert row.preset == preset and row.status in ("preset", "deprecated")


def test_presets_say_what_is_missing_or_special():
    presets = load_kaito_presets(DATA_DIR)
    assert presets["qwen2.5-7b"].status == "none"  # only the Coder variants have presets
    assert presets["llama-3.1-70b"].status == "none"  # KAITO has 3.3-70b, not 3.1-70b
    assert presets["phi-2"].status == "deprecated"
    assert presets["llama-3.1-8b"].requires_hf_token
    assert not presets["phi-3-mini-4k"].requires_hf_token
    assert not presets["falcon-7b"].multi_gpu and not presets["falcon-40b"].multi_gpu


def _copy_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    return data


def test_bad_preset_rows_are_rejected(tmp_path):
    data = _copy_data(tmp_path)
    path = data / KAITO_PRESETS_FILE
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    with pytest.raises(DataError, match="duplicate model_id"):
        load_kaito_presets(data)
    path.write_text("\n".join([lines[0], lines[4].replace(",,none,", ",phi-3-small,none,")]) + "\n")
    with pytest.raises(DataError, match="status 'none' must leave preset empty"):
        load_kaito_presets(data)


# --- the Workspace -------------------------------------------------------------------------------


def test_workspace_for_a_preset_model(support_bot, catalog):
    scenario, result = support_bot
    plan = by_label(result, "SLM")
    text = kaito_workspace_yaml(plan, scenario, catalog)
    ws = body(text)
    res, inference = assert_workspace_shape(ws)
    assert ws["metadata"]["name"] == "workspace-slm"
    # two replicas: an InferenceSet of two Workspaces, not a count on one
    assert ws["kind"] == "InferenceSet" and ws["spec"]["replicas"] == plan.replicas == 2
    assert res == {"instanceType": "Standard_NC24ads_A100_v4",
                   "labelSelector": {"matchLabels": {"apps": "slm"}}}
    assert inference == {"preset": {"name": "phi-3-mini-4k-instruct"}}
    assert "KAITO has no preset" not in text
    assert text.startswith("# KAITO InferenceSet generated by planner")


def test_workspace_without_preset_says_so_and_uses_the_hf_id(support_bot, catalog):
    scenario, result = support_bot
    export = kaito_export(by_label(result, "LLM"), scenario, catalog)
    ws = body(export.yaml_text)
    _, inference = assert_workspace_shape(ws)
    assert not export.has_preset
    assert export.warnings[0].startswith("KAITO has no preset for Meta Llama 3 70B")
    assert "# WARNING: KAITO has no preset for Meta Llama 3 70B" in export.yaml_text
    assert inference["preset"] == {"name": "meta-llama/Meta-Llama-3-70B",
                                   "presetOptions": {"modelAccessSecret": "hf-token"}}
    assert any("fp8 weights" in w and "16-bit" in w for w in export.warnings)  # precision note


def test_workspace_names_token_secret_for_gated_preset(catalog):
    scenario, result = planned([{"label": "Llama 8B", "model": "llama-3.1-8b",
                                 "context_tokens": 8192,
                                 "target": azure("Standard_NC24ads_A100_v4")}], catalog)
    export = kaito_export(result.deployments[0], scenario, catalog)
    preset = assert_workspace_shape(body(export.yaml_text))[1]["preset"]
    assert preset == {"name": "llama-3.1-8b-instruct",
                      "presetOptions": {"modelAccessSecret": "hf-token"}}
    assert any("serves meta-llama/Llama-3.1-8B-Instruct" in w for w in export.warnings)


def test_old_gpu_and_falcon_multi_gpu_are_warned(catalog):
    scenario, result = planned([
        {"label": "t4", "model": "phi-3-mini-4k", "target": azure("Standard_NC4as_T4_v3")},
        {"label": "falcon", "model": "falcon-40b", "target": azure("Standard_NC48ads_A100_v4")},
    ], catalog)
    t4 = kaito_export(by_label(result, "t4"), scenario, catalog)
    assert any("compute capability 7.5" in w and "#2114" in w for w in t4.warnings)
    assert "# WARNING: NVIDIA T4" in t4.yaml_text
    falcon_plan = by_label(result, "falcon")
    assert falcon_plan.tp == 2
    falcon = kaito_export(falcon_plan, scenario, catalog)
    assert any("does not support multi-GPU" in w for w in falcon.warnings)


def test_only_planned_azure_deployments_export(support_bot, catalog):
    scenario, result = support_bot
    for label in ("On-prem", "API"):
        with pytest.raises(ExportError, match="Azure deployments only"):
            kaito_workspace_yaml(by_label(result, label), scenario, catalog)
        with pytest.raises(ExportError):
            az_nodepool_command(by_label(result, label), scenario, catalog)
    scenario, result = planned([{"label": "big", "model": "llama-3.1-405b",
                                 "target": azure("Standard_NC24ads_A100_v4")}], catalog)
    with pytest.raises(ExportError, match="no node plan"):
        kaito_workspace_yaml(result.deployments[0], scenario, catalog)


HOSTILE = 'x"\n- rm -rf ~;`touch PWNED`$(touch PWNED)\u2028\r\nkind: Secret'


def test_hostile_label_cannot_break_out_of_yaml(catalog):
    scenario, result = planned([{"label": HOSTILE, "model": "phi-3-mini-4k",
                                 "target": azure("Standard_NC24ads_A100_v4")}], catalog)
    text = kaito_workspace_yaml(result.deployments[0], scenario, catalog)
    ws = body(text)
    assert_workspace_shape(ws)
    assert ws["kind"] == "InferenceSet"  # planned() keeps at least two replicas
    for line in text.splitlines():
        if "rm -rf" in line or "PWNED" in line:
            assert line.startswith("# ")


# --- az aks nodepool add -------------------------------------------------------------------------


def argv_of(command: str) -> list[str]:
    """Tokens of the az command as a POSIX shell would split them (comments dropped)."""
    text = command.replace('"$RESOURCE_GROUP"', "RG").replace('"$CLUSTER_NAME"', "CLUSTER")
    return shlex.split(text, comments=True)


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_nodepool_command_carries_the_plan(support_bot, catalog):
    scenario, result = support_bot
    plan = by_label(result, "SLM")
    argv = argv_of(az_nodepool_command(plan, scenario, catalog))
    assert argv[:4] == ["az", "aks", "nodepool", "add"]
    assert flag(argv, "--resource-group") == "RG" and flag(argv, "--cluster-name") == "CLUSTER"
    assert POOL_NAME.match(flag(argv, "--name"))
    assert flag(argv, "--node-vm-size") == "Standard_NC24ads_A100_v4"
    assert int(flag(argv, "--node-count")) == plan.nodes
    assert "--enable-cluster-autoscaler" in argv
    assert int(flag(argv, "--min-count")) <= plan.nodes <= int(flag(argv, "--max-count"))
    assert flag(argv, "--labels") == "apps=slm"  # the Workspace's labelSelector
    assert flag(argv, "--node-taints") == GPU_TAINT
    assert "--priority" not in argv and "--spot-max-price" not in argv


def test_nodepool_autoscaler_bounds_follow_min_replicas_and_growth(catalog):
    scenario, result = planned([{"label": "grow", "model": "phi-3-mini-4k",
                                 "target": azure("Standard_NC24ads_A100_v4")}], catalog,
                               requests_per_day=2_000_000, min_replicas=1, monthly_growth=0.2)
    plan = result.deployments[0]
    export = nodepool_export(plan, scenario, catalog)
    assert export.min_count == 1 < export.node_count == plan.nodes
    assert export.max_count == max(plan.nodes_by_month) > plan.nodes
    argv = argv_of(export.command)
    assert (int(flag(argv, "--min-count")), int(flag(argv, "--max-count"))) == (
        export.min_count, export.max_count)


def test_spot_plan_gets_spot_flags(catalog):
    scenario, result = planned([{"label": "cheap", "model": "phi-3-mini-4k",
                                 "target": azure("Standard_NC24ads_A100_v4", "spot")}], catalog)
    export = nodepool_export(result.deployments[0], scenario, catalog)
    argv = argv_of(export.command)
    assert flag(argv, "--priority") == "Spot"
    assert flag(argv, "--eviction-policy") == "Delete"
    assert flag(argv, "--spot-max-price") == "-1"
    assert any("scalesetpriority=spot:NoSchedule" in w for w in export.warnings)


def test_hostile_label_cannot_inject_shell(tmp_path, catalog):
    """Run the generated script with a stub `az`: it must receive exactly the planned arguments
    and nothing else may run."""
    scenario, result = planned([{"label": HOSTILE, "model": "phi-3-mini-4k",
                                 "target": azure("Standard_NC24ads_A100_v4")}], catalog)
    export = nodepool_export(result.deployments[0], scenario, catalog)
    assert POOL_NAME.match(export.pool_name)
    stub = tmp_path / "bin" / "az"
    stub.parent.mkdir()
    stub.write_text(f"#!{sys.executable}\nimport json, sys\n"
                    f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{stub.parent}{os.pathsep}{os.environ['PATH']}",
           "RESOURCE_GROUP": "my rg; touch PWNED", "CLUSTER_NAME": "aks $(touch PWNED)"}
    subprocess.run(["bash", "-c", export.command], cwd=tmp_path, env=env, check=True, timeout=30)
    assert not (tmp_path / "PWNED").exists()
    got = json.loads((tmp_path / "argv.json").read_text())
    expected = [{"$RESOURCE_GROUP": env["RESOURCE_GROUP"], "$CLUSTER_NAME": env["CLUSTER_NAME"]}
                .get(a, a) for a in export.argv]
    assert got == expected


# --- names ---------------------------------------------------------------------------------------


@given(st.text(min_size=1, max_size=60))
def test_generated_names_are_always_valid(label):
    ws, value, pool = workspace_name(label), label_value(label), nodepool_name(label)
    assert DNS1123_LABEL.match(ws) and len(ws) <= 63 and ws.startswith("workspace-")
    assert LABEL_VALUE.match(value) and 1 <= len(value) <= 63
    assert POOL_NAME.match(pool)


def test_names_are_readable_for_ordinary_labels():
    assert workspace_name("SLM") == "workspace-slm"
    assert label_value("Phi-3 mini (A100)") == "phi-3-mini-a100"
    assert nodepool_name("Phi-3 mini (A100)") == "phi3minia100"
    assert nodepool_name("3rd option") == "gpu3rdoption"


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_export_kaito(capsys):
    assert main(["export", "--scenario", str(EXAMPLE), "--deployment", "LLM",
                 "--kind", "kaito"]) == 0
    out, err = capsys.readouterr()
    assert_workspace_shape(body(out))
    assert "warning: KAITO has no preset for Meta Llama 3 70B" in err


def test_cli_export_az_to_file(tmp_path, capsys):
    out_file = tmp_path / "pool.sh"
    assert main(["export", "--scenario", str(EXAMPLE), "--deployment", "SLM", "--kind", "az",
                 "--out", str(out_file)]) == 0
    assert argv_of(out_file.read_text())[:4] == ["az", "aks", "nodepool", "add"]
    assert capsys.readouterr().out == ""


def test_cli_export_errors_name_the_problem(capsys):
    assert main(["export", "--scenario", str(EXAMPLE), "--deployment", "nope",
                 "--kind", "az"]) == 2
    assert "no deployment labelled 'nope'" in capsys.readouterr().err
    assert main(["export", "--scenario", str(EXAMPLE), "--deployment", "API",
                 "--kind", "kaito"]) == 2
    assert "Azure deployments only" in capsys.readouterr().err


def test_one_replica_is_a_workspace_and_a_spot_pool_is_bring_your_own(catalog):
    """One replica: a Workspace without the deprecated resource.count. Spot: the az command makes
    the pool, so the manifest leaves instanceType empty (KAITO v0.12.0 validation: "instanceType
    must be empty" for bring-your-own nodes) and selects the nodes by the pool's label."""
    scenario, result = planned([
        {"label": "one", "model": "phi-4-mini", "target": azure("Standard_NC24ads_A100_v4")},
        {"label": "spot", "model": "phi-4-mini", "target": azure("Standard_NC24ads_A100_v4",
                                                                 pricing="spot")}],
        catalog, requests_per_day=1000, min_replicas=1)
    one = kaito_export(by_label(result, "one"), scenario, catalog)
    assert one.kind == "Workspace" and one.replicas == 1 and not one.bring_your_own_nodes
    res, inference = assert_workspace_shape(body(one.yaml_text))
    assert res["instanceType"] == "Standard_NC24ads_A100_v4"
    assert inference["preset"]["name"] == "phi-4-mini-instruct"  # KAITO v0.12.0 preset
    spot = kaito_export(by_label(result, "spot"), scenario, catalog)
    assert spot.bring_your_own_nodes
    res, _ = assert_workspace_shape(body(spot.yaml_text), byo=True)
    pool = nodepool_export(by_label(result, "spot"), scenario, catalog)
    assert res["labelSelector"]["matchLabels"]["apps"] in pool.command
    assert not any("resource.count" in w for w in spot.warnings + one.warnings)
