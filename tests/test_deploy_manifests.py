"""The dashboard's container image and Kubernetes manifests, checked statically.

No container engine or cluster runs here: the Dockerfile is parsed line by line and every manifest
in deploy/ is parsed with yaml.safe_load_all and checked for the fields, probes, limits, security
settings and cross-references (selectors, ports, names) a cluster would need. One slow test starts
Streamlit the way the image does and runs the image's HEALTHCHECK command against it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
HEALTH_PATH = "/_stcore/health"
PORT = 8501
SELECTOR = {"app.kubernetes.io/name": "planner", "app.kubernetes.io/component": "dashboard"}


# --- Dockerfile ----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends with a line continuation"
    return out


def instruction(name: str) -> list[str]:
    return [args for kw, args in dockerfile_instructions() if kw == name]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def test_dockerfile_base_and_user():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert len(instruction("FROM")) == 1
    users = instruction("USER")
    assert users, "the image must drop root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # USER comes after every RUN/COPY that needs root, and nothing runs as root afterwards.
    kinds = [kw for kw, _ in instructions]
    assert kinds.index("USER") > max(i for i, kw in enumerate(kinds) if kw in ("RUN", "COPY"))
    assert any(f"--uid {user}" in run for run in instruction("RUN")), "user is created"


def test_dockerfile_installs_runtime_requirements_only():
    runs = " ".join(instruction("RUN"))
    assert "pip install --no-cache-dir -r requirements.txt" in runs
    assert "requirements-dev" not in (ROOT / "Dockerfile").read_text()
    assert any(args.split()[0] == "requirements.txt" for args in instruction("COPY"))


def test_dockerfile_serves_streamlit_on_the_exposed_port():
    cmd = exec_form(instruction("CMD")[-1])
    assert cmd[:3] == ["streamlit", "run", "app.py"]
    options = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    assert options == {"--server.address": "0.0.0.0", "--server.port": str(PORT),
                       "--server.headless": "true"}
    assert instruction("EXPOSE") == [str(PORT)]


def test_dockerfile_healthcheck_hits_streamlit_health_without_curl():
    [check] = instruction("HEALTHCHECK")
    assert "--interval=" in check and "--timeout=" in check and "--retries=" in check
    command = exec_form(check[check.index("CMD") + 3:].strip())
    assert command[:2] == ["python", "-c"]
    assert f"http://127.0.0.1:{PORT}{HEALTH_PATH}" in command[2]
    assert "curl" not in check and "wget" not in check


def test_dockerfile_has_no_secrets():
    text = (ROOT / "Dockerfile").read_text()
    for kw, args in dockerfile_instructions():
        if kw in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"(?i)(password|secret|token|api[_-]?key|credential)", args), args
    assert "secrets.toml" not in text.replace("# ", "")


def test_dockerignore_admits_only_what_the_app_needs():
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "allow-list: ignore everything, then admit"
    admitted = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert admitted == {"app.py", "requirements.txt", "planner", "ui", "data", ".streamlit"}
    assert ".streamlit/secrets.toml" in rules
    assert rules.index(".streamlit/secrets.toml") > rules.index("!.streamlit/")
    for path in admitted:
        assert (ROOT / path).exists(), f"{path} is copied into the image but does not exist"


# --- Kubernetes manifests ------------------------------------------------------------------------


def manifests() -> dict[str, dict]:
    """kind -> the one object of that kind in deploy/ (kustomization excluded)."""
    out: dict[str, dict] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            assert isinstance(doc, dict), path.name
            assert doc.get("apiVersion") and doc.get("kind"), path.name
            assert doc["metadata"]["name"], path.name
            assert doc["kind"] not in out, f"two {doc['kind']} objects"
            out[doc["kind"]] = doc
    return out


@pytest.fixture(scope="module")
def objects() -> dict[str, dict]:
    return manifests()


def container(objects) -> dict:
    [c] = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    return c


def test_every_required_object_exists_in_one_namespace(objects):
    assert set(objects) == {"Namespace", "Deployment", "Service", "Ingress",
                            "PodDisruptionBudget", "HorizontalPodAutoscaler", "CronJob",
                            "PersistentVolumeClaim"}
    namespace = objects["Namespace"]["metadata"]["name"]
    for kind, obj in objects.items():
        if kind != "Namespace":
            assert obj["metadata"]["namespace"] == namespace, kind
    assert objects["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == \
        "restricted"


def test_deployment_replicas_and_selector(objects):
    dep = objects["Deployment"]
    assert dep["apiVersion"] == "apps/v1"
    assert dep["spec"]["replicas"] >= 3
    assert dep["spec"]["selector"]["matchLabels"] == SELECTOR
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert SELECTOR.items() <= labels.items()
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_container_port_args_and_probes(objects):
    c = container(objects)
    [port] = c["ports"]
    assert port["containerPort"] == PORT and port["name"] == "http"
    args = c["args"]
    assert args[args.index("--server.port") + 1] == str(PORT)
    assert args[args.index("--server.address") + 1] == "0.0.0.0"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] == HEALTH_PATH, probe
        assert get["port"] in (port["name"], port["containerPort"]), probe
    assert c["livenessProbe"]["failureThreshold"] >= 3


def _quantity(value: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    text = str(value)
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def test_container_resources_have_requests_and_limits(objects):
    res = container(objects)["resources"]
    for kind in ("cpu", "memory"):
        assert _quantity(res["requests"][kind]) <= _quantity(res["limits"][kind]), kind
    assert _quantity(res["limits"]["memory"]) >= 512 * 2**20  # pandas + plotly + streamlit


def test_pods_run_non_root_with_a_read_only_root(objects):
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    sc = container(objects)["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    # A read-only root needs a writable /tmp; HOME must point into a writable mount.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container(objects)["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    env = {e["name"]: e["value"] for e in container(objects)["env"]}
    assert any(env["HOME"] == path or env["HOME"].startswith(path + "/") for path in mounts)


def test_image_user_matches_pod_user(objects):
    user = [args for kw, args in dockerfile_instructions() if kw == "USER"][-1].split(":")[0]
    assert str(objects["Deployment"]["spec"]["template"]["spec"]["securityContext"]["runAsUser"]) \
        == user


def test_service_selects_the_pods_and_targets_the_container_port(objects):
    svc = objects["Service"]
    assert svc["spec"]["selector"] == SELECTOR
    [port] = svc["spec"]["ports"]
    assert port["targetPort"] in ("http", PORT)


def test_ingress_has_session_affinity_and_websocket_timeouts(objects):
    ing = objects["Ingress"]
    notes = ing["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"]
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert all(isinstance(v, str) for v in notes.values()), "annotation values must be strings"
    assert ing["spec"]["ingressClassName"] == "nginx"
    svc = objects["Service"]
    svc_ports = {p["name"] for p in svc["spec"]["ports"]} | {p["port"] for p in svc["spec"]["ports"]}
    for rule in ing["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == svc["metadata"]["name"]
            assert backend["port"].get("name", backend["port"].get("number")) in svc_ports


def test_pdb_and_hpa_fit_the_deployment(objects):
    dep = objects["Deployment"]
    pdb = objects["PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"] == SELECTOR
    assert 1 <= pdb["spec"]["minAvailable"] < dep["spec"]["replicas"]
    hpa = objects["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", dep["metadata"]["name"])
    assert dep["spec"]["replicas"] <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert hpa["spec"]["minReplicas"] > pdb["spec"]["minAvailable"]
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "cpu" in container(objects)["resources"]["requests"], "HPA on CPU needs a CPU request"


def test_kustomization_lists_every_manifest_and_rewrites_the_image(objects):
    kust = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    files = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kust["resources"]) == files
    assert kust["namespace"] == objects["Namespace"]["metadata"]["name"]
    image = container(objects)["image"]
    name, _, tag = image.partition(":")
    [entry] = kust["images"]
    assert entry["name"] == name and tag
    assert entry["newName"] and entry["newTag"]


def test_prices_are_refreshed_by_a_scheduled_job_into_one_shared_snapshot(objects):
    """Operators refresh prices with a CronJob writing the snapshot on a ReadWriteMany volume;
    every replica reads that file (through PLANNER_DATA_DIR) and none offers the refresh button."""
    claim = objects["PersistentVolumeClaim"]
    assert "ReadWriteMany" in claim["spec"]["accessModes"]
    job = objects["CronJob"]
    assert job["apiVersion"] == "batch/v1" and job["spec"]["concurrencyPolicy"] == "Forbid"
    assert len(job["spec"]["schedule"].split()) == 5
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    [refresh] = pod["containers"]
    assert refresh["image"] == container(objects)["image"]  # the same build, rewritten together
    script = " ".join(refresh["args"])
    assert "python -m planner prices refresh" in script
    assert "--out /shared/prices/azure_retail_prices.csv" in script
    assert refresh["securityContext"]["readOnlyRootFilesystem"] is True
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
              if "persistentVolumeClaim" in v}
    assert {m["name"] for m in refresh["volumeMounts"] if m["mountPath"] == "/shared"} <= \
        {n for n, c in claims.items() if c == claim["metadata"]["name"]}
    dashboard = objects["Deployment"]["spec"]["template"]["spec"]
    dash_claims = {v["name"] for v in dashboard["volumes"]
                   if v.get("persistentVolumeClaim", {}).get("claimName") ==
                   claim["metadata"]["name"]}
    mounts = {m["mountPath"]: m for m in container(objects)["volumeMounts"]}
    assert mounts["/shared"]["name"] in dash_claims and mounts["/shared"]["readOnly"] is True
    env = {e["name"]: e["value"] for e in container(objects)["env"]}
    assert env["PLANNER_DATA_DIR"] == "/srv/data" and "/srv/data" in mounts
    assert "PLANNER_ALLOW_PRICE_REFRESH" not in env
    [init] = dashboard["initContainers"]
    assert "ln -sf /shared/prices/azure_retail_prices.csv /srv/data/prices/" in " ".join(init["args"])


# --- the HEALTHCHECK against a live Streamlit ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_healthcheck_command_passes_against_the_image_command(tmp_path):
    port = _free_port()
    cmd = exec_form(instruction("CMD")[-1])
    cmd[cmd.index("--server.port") + 1] = str(port)
    cmd[cmd.index("--server.address") + 1] = "127.0.0.1"
    [check] = instruction("HEALTHCHECK")
    probe = exec_form(check[check.index("CMD") + 3:].strip())
    probe[2] = probe[2].replace(f":{PORT}/", f":{port}/")
    probe[0] = sys.executable
    env = {**os.environ, "HOME": str(tmp_path), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    server = subprocess.Popen([sys.executable, "-m", *cmd], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            result = subprocess.run(probe, capture_output=True, timeout=10)
            if result.returncode == 0:
                break
            assert server.poll() is None, "streamlit exited: " + shlex.join(cmd)
            assert time.monotonic() < deadline, result.stderr.decode()[-500:]
            time.sleep(0.5)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
