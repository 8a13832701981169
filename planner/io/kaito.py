"""Deploy what was planned: a KAITO Workspace manifest and the ``az aks nodepool add`` command.

Both artefacts are generated from one Azure deployment of a planned scenario and from data:
``data/kaito_presets.csv`` maps the planner's model ids to KAITO preset names (with source), the
plan gives the VM size, node counts and pricing plan. Nothing here touches the network.

Policy for models without a KAITO preset: the manifest is still produced, headed by a comment
that says plainly "KAITO has no preset for <model>", and it names the model by its Hugging Face id
in ``inference.preset.name`` -- the best-effort path KAITO supports since v0.9.0
(kaito-project/kaito website/docs/presets.md, "Generic HuggingFace Models"). The same sentence is
returned in ``warnings`` so the CLI prints it on stderr and the dashboard can show it.

Every text that came from a user (deployment labels, scenario names) reaches a YAML or shell
comment only through :func:`comment_text`, which drops line breaks and other control characters,
and reaches a YAML value or a shell argument only in sanitised form (DNS-1123 names, label values,
node-pool names) or through ``yaml.safe_dump`` / ``shlex.quote``.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from planner.catalog import Catalog, GpuSpec, ModelSpec, Row, load_rows
from planner.errors import DataError, PlannerError
from planner.io.wording import fit_text
from planner.pipeline.plan import DeploymentPlan
from planner.pipeline.sizing import nodes_needed
from planner.registry import KAITO_CC_SOURCE, KAITO_MIN_COMPUTE_CAPABILITY
from planner.scenario import AzureTarget, Deployment, Scenario
from planner.targets import module_for

KAITO_PRESETS_FILE = "kaito_presets.csv"

# Workspace shape: kaito-project/kaito examples/inference/kaito_workspace_phi_3_mini_4k.yaml @ HEAD
# (v1beta1; `resource` and `inference` are top-level, no `spec`), quoted in facts.md section 4.1.
KAITO_API_VERSION = "kaito.sh/v1beta1"
KAITO_KIND = "Workspace"
# N independent replicas: an InferenceSet (kaito.sh group; v1alpha1 since v0.8.0, v1beta1 served
# and stored, enabled by default since v0.11.0: api/v1beta1/inferenceset_types.go and
# website/docs/inference.md @ v0.12.0). spec.replicas copies of template (resource + inference);
# resource.count is deprecated in v1beta1 Workspaces, so it is never written.
INFERENCESET_KIND = "InferenceSet"
KAITO_SOURCE = "kaito-project/kaito @ 056b8280b1a8 (tag v0.12.0)"
# Name of the Secret holding a Hugging Face token, as in KAITO's llama-3.3-70b-instruct example.
HF_TOKEN_SECRET = "hf-token"
# Label key KAITO's examples use in resource.labelSelector; the az command puts the same label on
# the nodes so KAITO can use them (KAITO FAQ: nodes must carry the labelSelector's labels).
NODE_LABEL_KEY = "apps"
# Presets serve 16-bit weights by default (KAITO presets run vLLM at the model's 16-bit dtype).
KAITO_DEFAULT_PRECISIONS = ("fp16", "bf16")


# az aks nodepool add flags: https://learn.microsoft.com/cli/azure/aks/nodepool#az-aks-nodepool-add
# (--resource-group --cluster-name --name --node-vm-size --node-count --enable-cluster-autoscaler
# --min-count --max-count --labels --node-taints --priority {Regular,Spot} --eviction-policy
# {Deallocate,Delete} --spot-max-price); the spot combination and `--spot-max-price -1` ("pay up to
# the on-demand price, never evicted for price") as in https://learn.microsoft.com/azure/aks/spot-node-pool.
AZ_DOCS = "https://learn.microsoft.com/cli/azure/aks/nodepool#az-aks-nodepool-add"
AZ_SPOT_DOCS = "https://learn.microsoft.com/azure/aks/spot-node-pool"
# The GPU taint of AKS's GPU guides; KAITO's GPU node claims carry the same taint (sku=gpu).
GPU_TAINT = "sku=gpu:NoSchedule"
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"  # added by AKS to spot pools
RESOURCE_GROUP_VAR = "RESOURCE_GROUP"
CLUSTER_NAME_VAR = "CLUSTER_NAME"
# AKS node-pool names: lowercase letters and digits, starting with a letter, at most 12 characters
# for Linux pools (az aks nodepool add --name).
NODEPOOL_NAME_MAX = 12


class ExportError(PlannerError):
    """A deployment cannot be exported (not on Azure, does not fit, unknown label)."""


PresetStatus = Literal["preset", "deprecated", "none"]


class KaitoPreset(Row):
    """Which KAITO inference preset serves a planner model, if any."""

    model_id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    preset: str = Field(default="", pattern=r"^([a-z0-9][a-z0-9.\-]*)?$")
    status: PresetStatus
    preset_hf_id: str = ""
    requires_hf_token: bool
    multi_gpu: bool = True

    @model_validator(mode="after")
    def _preset_matches_status(self) -> KaitoPreset:
        if self.status == "none" and self.preset:
            raise ValueError("status 'none' must leave preset empty")
        if self.status != "none" and not self.preset:
            raise ValueError(f"status {self.status!r} needs a preset name")
        return self


def load_kaito_presets(data_dir: Path) -> dict[str, KaitoPreset]:
    """``data_dir/kaito_presets.csv`` keyed by planner model id; raises DataError on bad rows."""
    rows = load_rows(data_dir / KAITO_PRESETS_FILE, KaitoPreset)
    out: dict[str, KaitoPreset] = {}
    for row in rows:
        if row.model_id in out:
            raise DataError(f"{KAITO_PRESETS_FILE}: duplicate model_id {row.model_id!r}")
        out[row.model_id] = row
    return out


# --- names -------------------------------------------------------------------------------------


def comment_text(text: str) -> str:
    """Text safe inside a one-line YAML or shell comment: no line breaks or control characters."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def _slug(text: str) -> str:
    """Lowercase letters, digits and single hyphens (DNS-1123 label characters)."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def workspace_name(label: str) -> str:
    """``workspace-<label>`` as a DNS-1123 label (<= 63 characters, the Service name KAITO makes)."""
    slug = _slug(label) or _digest(label)
    return ("workspace-" + slug)[:63].rstrip("-")


def label_value(label: str) -> str:
    """A Kubernetes label value for the deployment (<= 63 characters, alphanumeric at both ends)."""
    slug = _slug(label) or "d" + _digest(label)
    return slug[:63].rstrip("-")


def nodepool_name(label: str) -> str:
    """An AKS node-pool name: lowercase alphanumeric, starts with a letter, <= 12 characters."""
    alnum = re.sub(r"[^a-z0-9]", "", label.lower())
    if not alnum:
        alnum = "gpu" + _digest(label)
    elif not alnum[0].isalpha():
        alnum = "gpu" + alnum
    return alnum[:NODEPOOL_NAME_MAX]


def name_clash(label: str, labels: list[str]) -> str | None:
    """Another label among ``labels`` whose Workspace name, selector label value or node-pool
    name equals ``label``'s (``SLM`` and ``slm`` do), or None."""
    mine = (workspace_name(label), label_value(label), nodepool_name(label))
    for other in labels:
        if other != label and any(a == b for a, b in zip(
                mine, (workspace_name(other), label_value(other), nodepool_name(other)),
                strict=True)):
            return other
    return None


# --- shared context ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _AzureContext:
    plan: DeploymentPlan
    deployment: Deployment
    target: AzureTarget
    model: ModelSpec
    gpu: GpuSpec
    scenario_name: str
    min_nodes: int
    max_nodes: int


def _azure_context(plan: DeploymentPlan, scenario: Scenario, catalog: Catalog) -> _AzureContext:
    dep = next((d for d in scenario.deployments if d.label == plan.label), None)
    if dep is None:
        raise ExportError(f"deployment {plan.label!r} is not in scenario {scenario.name!r}")
    if "kaito" not in module_for(dep.target).DEPLOY_EXPORTS:
        raise ExportError(f"deployment {plan.label!r} runs on a {dep.target.kind} target: KAITO "
                          "manifests and node pools are exported for Azure deployments only")
    clash = name_clash(plan.label, [d.label for d in scenario.deployments
                                    if "kaito" in module_for(d.target).DEPLOY_EXPORTS])
    if clash is not None:
        raise ExportError(f"labels {comment_text(plan.label)!r} and {comment_text(clash)!r} export "
                          f"to the same Workspace name {workspace_name(plan.label)}, selector "
                          "label or node pool: rename one so their resources do not overwrite "
                          "each other")
    if not plan.fits or plan.nodes is None or plan.tp is None or plan.gpus_per_node is None:
        raise ExportError(f"deployment {plan.label!r} has no node plan to export: {fit_text(plan)}")
    sku = catalog.skus.get(dep.target.vm_sku)
    model = catalog.models.get(dep.model)
    if sku is None or model is None:
        raise ExportError(f"deployment {plan.label!r} names data the catalog does not have")
    min_nodes = min(nodes_needed(scenario.workload.min_replicas, plan.gpus_per_node, plan.tp),
                    plan.nodes)
    max_nodes = max([plan.nodes, *plan.nodes_by_month])
    if plan.scaling is not None and plan.scaling.policy != "fixed":  # the plan's own bounds
        min_nodes = plan.scaling.min_nodes
        max_nodes = max(max_nodes if dep.max_nodes is None else dep.max_nodes, min_nodes, 1)
    return _AzureContext(plan=plan, deployment=dep, target=dep.target, model=model,
                         gpu=catalog.gpus[sku.gpu_id], scenario_name=scenario.name,
                         min_nodes=min_nodes, max_nodes=max_nodes)


def _gpu_warnings(gpu: GpuSpec) -> list[str]:
    cc = gpu.compute_capability  # gpus.csv (NVIDIA's CUDA GPU list)
    if cc is None:
        return [f"{gpu.name}: CUDA compute capability unknown; KAITO preset images are built for "
                f"NVIDIA GPUs with compute capability >= {KAITO_MIN_COMPUTE_CAPABILITY:.1f} "
                "(support for this GPU is not confirmed)"]
    if cc < KAITO_MIN_COMPUTE_CAPABILITY:
        return [f"{gpu.name} has CUDA compute capability {cc:.1f}; KAITO's vLLM runtime at HEAD "
                f"needs >= {KAITO_MIN_COMPUTE_CAPABILITY:.1f} and fails on T4/V100 nodes "
                f"({KAITO_CC_SOURCE}): choose an A10/A100/H100-class SKU"]
    return []


# --- KAITO Workspace ---------------------------------------------------------------------------


class KaitoExport(BaseModel):
    """The KAITO object for one planned Azure deployment: a Workspace for one replica, an
    InferenceSet of ``replicas`` Workspaces for more."""

    model_config = ConfigDict(frozen=True)

    label: str
    kind: Literal["Workspace", "InferenceSet"]
    replicas: int
    bring_your_own_nodes: bool  # instanceType left empty: nodes come from the az-created pool
    workspace_name: str
    model: str
    has_preset: bool
    preset_name: str  # what goes into inference.preset.name (a preset, else a Hugging Face id)
    instance_type: str
    node_count: int
    manifest: dict
    yaml_text: str
    warnings: list[str]


def _preset_for(model: ModelSpec, catalog: Catalog) -> tuple[KaitoPreset | None, list[str]]:
    presets = load_kaito_presets(catalog.data_dir)
    row = presets.get(model.id)
    if row is None:
        return None, [f"{model.id} is not in {KAITO_PRESETS_FILE}: treated as having no preset"]
    return row, []


def kaito_export(plan: DeploymentPlan, scenario: Scenario, catalog: Catalog) -> KaitoExport:
    """Build the Workspace manifest and its warnings for an Azure deployment of a plan."""
    ctx = _azure_context(plan, scenario, catalog)
    model, gpu, dep = ctx.model, ctx.gpu, ctx.deployment
    row, warnings = _preset_for(model, catalog)
    preset_row = row if row is not None and row.status != "none" else None
    has_preset = preset_row is not None
    needs_token = row.requires_hf_token if row is not None else True
    if preset_row is not None:
        row = preset_row
        preset_name = row.preset
        if row.status == "deprecated":
            warnings.append(f"the KAITO preset {row.preset} is deprecated at {KAITO_SOURCE}")
        if row.preset_hf_id and row.preset_hf_id != model.hf_id:
            warnings.append(f"the KAITO preset {row.preset} serves {row.preset_hf_id}; the plan "
                            f"models {model.hf_id}")
    else:
        preset_name = model.hf_id
        warnings.insert(0, f"KAITO has no preset for {model.name} ({model.id}): the manifest uses "
                           f"the Hugging Face id {model.hf_id} (best effort, KAITO >= v0.9.0)")
    warnings += _gpu_warnings(gpu)
    if row is not None and not row.multi_gpu and (plan.tp or 1) > 1:
        warnings.append(f"KAITO's {model.name} preset does not support multi-GPU serving, but the "
                        f"plan uses tensor parallelism tp={plan.tp}")
    if dep.precision not in KAITO_DEFAULT_PRECISIONS:
        warnings.append(f"the plan assumes {dep.precision} weights; KAITO serves presets at 16-bit "
                        "(fp16/bf16) by default, so each replica needs more GPU memory than planned")
    if dep.kv_cache_dtype != "fp16":
        warnings.append(f"the plan assumes a {dep.kv_cache_dtype} KV cache; set it in a vLLM "
                        "inference ConfigMap (inference.config), KAITO's default is 16-bit")
    # a pool the az command creates (spot: KAITO's provisioner does not request spot capacity) is
    # bring-your-own nodes, for which KAITO wants instanceType empty and finds the nodes by label
    byo = ctx.target.pricing == "spot"
    if byo:
        warnings.append("the plan prices spot VMs, which KAITO's node provisioning does not "
                        "request: create the spot pool with the az command first; the manifest "
                        "leaves instanceType empty so KAITO uses those nodes (bring-your-own)")
    if plan.throughput is not None and not plan.throughput.meets_slo:
        warnings.append("the plan does not meet its latency SLOs at this size")
    if needs_token:
        warnings.append(f"create a Secret named {HF_TOKEN_SECRET} with a Hugging Face token in the "
                        "Workspace's namespace before applying")

    preset: dict = {"name": preset_name}
    if needs_token:
        preset["presetOptions"] = {"modelAccessSecret": HF_TOKEN_SECRET}
    name = workspace_name(plan.label)
    resource: dict = {} if byo else {"instanceType": ctx.target.vm_sku}
    selector = {"matchLabels": {NODE_LABEL_KEY: label_value(plan.label)}}
    inference = {"preset": preset}
    replicas = plan.replicas or 1
    kind = INFERENCESET_KIND if replicas > 1 else KAITO_KIND
    if kind == INFERENCESET_KIND:
        template: dict = {"resource": resource, "inference": inference} if resource else {
            "inference": inference}
        manifest: dict = {"apiVersion": KAITO_API_VERSION, "kind": kind,
                          "metadata": {"name": name},
                          "spec": {"replicas": replicas, "labelSelector": selector,
                                   "template": template}}
    else:
        manifest = {"apiVersion": KAITO_API_VERSION, "kind": kind, "metadata": {"name": name},
                    "resource": {**resource, "labelSelector": selector},
                    "inference": inference}
    header = [
        f"KAITO {kind} generated by planner for deployment {plan.label!r} of scenario "
        f"{ctx.scenario_name!r}.",
        f"Plan: {plan.replicas} replica(s) x tp={plan.tp} of {model.name} at {dep.precision} on "
        f"{ctx.target.vm_sku} ({plan.gpus_per_node} GPU/node) in {ctx.target.region}, "
        f"{ctx.target.pricing}: {plan.nodes} node(s) now, {ctx.min_nodes}..{ctx.max_nodes} "
        "over the year.",
        (f"Preset {preset_name} (data/kaito_presets.csv; {preset_row.source})." if preset_row
         else f"KAITO has no preset for {model.name}."),
        (f"Shape: {KAITO_API_VERSION} InferenceSet of {replicas} replicas (one Workspace each) as "
         f"in {KAITO_SOURCE} website/docs/inference.md." if kind == INFERENCESET_KIND else
         f"Shape: {KAITO_API_VERSION} Workspace as in {KAITO_SOURCE} examples/inference."),
    ]
    lines = [f"# {comment_text(text)}" for text in header]
    lines += [f"# WARNING: {comment_text(text)}" for text in warnings]
    text = "\n".join(lines) + "\n" + yaml.safe_dump(manifest, sort_keys=False, width=100)
    return KaitoExport(label=plan.label, workspace_name=name, model=model.id,
                       has_preset=has_preset, preset_name=preset_name,
                       instance_type=ctx.target.vm_sku, node_count=plan.nodes, kind=kind,
                       replicas=replicas, bring_your_own_nodes=byo,
                       manifest=manifest, yaml_text=text, warnings=warnings)


def kaito_workspace_yaml(plan: DeploymentPlan, scenario: Scenario, catalog: Catalog) -> str:
    """The KAITO Workspace manifest (YAML text with a comment header) for an Azure deployment.

    Raises :class:`ExportError` for deployments that are not on Azure or have no node plan.
    """
    return kaito_export(plan, scenario, catalog).yaml_text


# --- az aks nodepool add -----------------------------------------------------------------------


class NodepoolExport(BaseModel):
    """The ``az aks nodepool add`` command for one planned Azure deployment."""

    model_config = ConfigDict(frozen=True)

    label: str
    pool_name: str
    vm_size: str
    node_count: int
    min_count: int
    max_count: int
    spot: bool
    argv: list[str]  # arguments after "az"; RG and cluster are the literal "$RESOURCE_GROUP"/...
    command: str
    warnings: list[str]
    # spot as burst: the regular pool holding the base (None when the plan is not spot or the
    # base is 0); the spot pool above then holds only the burst
    base_pool_name: str | None = None
    base_node_count: int = 0
    base_argv: list[str] | None = None


def nodepool_export(plan: DeploymentPlan, scenario: Scenario, catalog: Catalog) -> NodepoolExport:
    """Build the node-pool command: GPU SKU, node count, autoscaler bounds, spot settings."""
    ctx = _azure_context(plan, scenario, catalog)
    pool = nodepool_name(plan.label)
    spot = ctx.target.pricing == "spot"
    # spot as burst: the base (stated, else the nodes min_replicas need) on a regular pool
    base = (min(ctx.target.spot_base_nodes if ctx.target.spot_base_nodes is not None
                else ctx.min_nodes, plan.nodes) if spot else 0)
    node_count, min_count, max_count = (plan.nodes - base, max(0, ctx.min_nodes - base),
                                        max(1, ctx.max_nodes - base))
    common = [("--resource-group", f"${RESOURCE_GROUP_VAR}"),
              ("--cluster-name", f"${CLUSTER_NAME_VAR}")]
    tail_args = [("--labels", f"{NODE_LABEL_KEY}={label_value(plan.label)}"),
                 ("--node-taints", GPU_TAINT)]
    base_pool = (pool[: NODEPOOL_NAME_MAX - 4] + "base") if base else None
    base_args: list[tuple[str, ...]] = [
        *common, ("--name", base_pool or ""), ("--node-vm-size", ctx.target.vm_sku),
        ("--node-count", str(base)), *tail_args] if base else []
    args: list[tuple[str, ...]] = [
        *common,
        ("--name", pool),
        ("--node-vm-size", ctx.target.vm_sku),
        ("--node-count", str(node_count)),
        ("--enable-cluster-autoscaler",),
        ("--min-count", str(min_count)),
        ("--max-count", str(max_count)),
        *tail_args,
    ]
    if spot:
        args += [("--priority", "Spot"), ("--eviction-policy", "Delete"), ("--spot-max-price", "-1")]
    warnings = _gpu_warnings(ctx.gpu)
    if spot:
        warnings.append(f"spot nodes can be evicted at short notice, and AKS adds the taint "
                        f"{SPOT_TAINT}: the serving pods need a matching toleration")
    if pool != plan.label.lower():
        warnings.append(f"node-pool name {pool!r} derived from the label (lowercase "
                        f"alphanumeric, <= {NODEPOOL_NAME_MAX} characters): check it is unique "
                        "in the cluster")
    if ctx.target.pricing not in ("payg", "spot"):
        warnings.append(f"the plan prices {ctx.target.pricing}: reservations and savings plans are "
                        "bought separately, the node pool itself is the same")

    def render(token: str) -> str:
        if token in (f"${RESOURCE_GROUP_VAR}", f"${CLUSTER_NAME_VAR}"):
            return f'"{token}"'  # expanded by the shell on purpose
        return shlex.quote(token)

    floor_text = (f"the {plan.scaling.policy} policy's floor" if plan.scaling is not None
                  and plan.scaling.policy != "fixed" else
                  f"{scenario.workload.min_replicas} min_replicas")
    header = [
        f"AKS GPU node pool generated by planner for deployment {plan.label!r} of scenario "
        f"{ctx.scenario_name!r}.",
        f"{plan.nodes} x {ctx.target.vm_sku} now; cluster autoscaler {ctx.min_nodes}..{ctx.max_nodes}"
        f" nodes (min: {floor_text}; max: peak month of the "
        f"year's growth); {'spot' if spot else ctx.target.pricing} pricing in {ctx.target.region}.",
        f"Flags: {AZ_DOCS}" + (f"; spot: {AZ_SPOT_DOCS}" if spot else ""),
        f"Set {RESOURCE_GROUP_VAR} and {CLUSTER_NAME_VAR} first (the cluster must be in "
        f"{ctx.target.region}).",
    ]
    if base:
        header.append(f"Spot as burst: {base} node(s) on the regular pool {base_pool} (never "
                      f"evicted), the burst up to {max_count} node(s) on the spot pool {pool}.")
    lines = [f"# {comment_text(text)}" for text in header]
    lines += [f"# WARNING: {comment_text(text)}" for text in warnings]

    def command(arg_list: list[tuple[str, ...]]) -> list[str]:
        out = ["az aks nodepool add \\"]
        for i, arg in enumerate(arg_list):
            tail = " \\" if i < len(arg_list) - 1 else ""
            out.append("  " + " ".join(render(t) for t in arg) + tail)
        return out

    if base:
        lines += ["# the regular pool for the base", *command(base_args),
                  "# the spot pool for burst"]
    lines += command(args)
    argv = ["aks", "nodepool", "add", *[t for arg in args for t in arg]]
    base_argv = ["aks", "nodepool", "add", *[t for arg in base_args for t in arg]] if base else None
    return NodepoolExport(label=plan.label, pool_name=pool, vm_size=ctx.target.vm_sku,
                          node_count=node_count, min_count=min_count, max_count=max_count,
                          spot=spot, argv=argv, command="\n".join(lines) + "\n",
                          warnings=warnings, base_pool_name=base_pool, base_node_count=base,
                          base_argv=base_argv)


def az_nodepool_command(plan: DeploymentPlan, scenario: Scenario, catalog: Catalog) -> str:
    """The ``az aks nodepool add`` command (shell text with a comment header) for a deployment.

    Resource group and cluster are the shell variables ``$RESOURCE_GROUP`` and ``$CLUSTER_NAME``;
    every other value is quoted with :func:`shlex.quote`. Raises :class:`ExportError` for
    deployments that are not on Azure or have no node plan.
    """
    return nodepool_export(plan, scenario, catalog).command
