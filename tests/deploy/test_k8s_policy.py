"""What the manifests promise beyond the schema: a restrictive securityContext, resources, credentials only
from Secrets, a grace period that fits the worker's drain, and the Job/Deployment wiring."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from tests.deploy.manifests import (
    IMAGE_UID,
    K8S,
    REPO,
    config_defaults,
    containers,
    k8s_object,
    k8s_objects,
    pod_templates,
)

POD_IDS = [where for where, _ in pod_templates()]
CONTAINER_IDS = [where for where, _ in containers()]
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|API_?KEY|CREDENTIAL", re.IGNORECASE)


def _pod(where: str) -> dict[str, Any]:
    return dict(pod_templates())[where]


def _container(where: str) -> dict[str, Any]:
    return dict(containers())[where]


def test_there_are_workloads() -> None:
    assert {"Job/patch-worker-run", "Deployment/patch-worker"} <= set(POD_IDS)


# --- security -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", POD_IDS)
def test_pod_runs_as_the_image_user_never_root(where: str) -> None:
    context = _pod(where)["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == IMAGE_UID
    assert context.get("runAsGroup", IMAGE_UID) == IMAGE_UID
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("where", POD_IDS)
def test_pod_gets_no_service_account_token(where: str) -> None:
    assert _pod(where)["automountServiceAccountToken"] is False


@pytest.mark.parametrize("where", CONTAINER_IDS)
def test_container_security_context_is_restrictive(where: str) -> None:
    context = _container(where)["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context.get("privileged", False) is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert not context["capabilities"].get("add")
    assert context.get("runAsNonRoot", True) is True
    assert context.get("runAsUser", IMAGE_UID) == IMAGE_UID


@pytest.mark.parametrize("where", POD_IDS)
def test_read_only_root_has_a_writable_tmp(where: str) -> None:
    pod = _pod(where)
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    for container in pod["containers"]:
        tmp = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp"]
        assert len(tmp) == 1, f"{where}: /tmp must be mounted (the root filesystem is read-only)"
        assert tmp[0]["name"] in empty_dirs


@pytest.mark.parametrize("where", CONTAINER_IDS)
def test_container_has_requests_and_limits(where: str) -> None:
    resources = _container(where)["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind]), f"{where}: {kind} must set cpu and memory"
    assert resources["limits"]["memory"] == "256Mi", "the worker streams: 256Mi is plenty"


@pytest.mark.parametrize("where", POD_IDS)
def test_grace_period_covers_the_drain(where: str) -> None:
    """SIGTERM -> the worker finishes in-flight requests within run.grace_s -> exit. The pod must not be
    SIGKILLed before that (Kubernetes' own default is 30 s)."""
    grace = _pod(where)["terminationGracePeriodSeconds"]
    drain = float(config_defaults()["run"]["grace_s"])
    assert grace >= 30
    assert grace >= drain + 10, f"{where}: {grace} s leaves no margin over the {drain} s drain"
    for container in _pod(where)["containers"]:
        for env in container.get("env", []):
            if env["name"] == "PATCH_WORKER_RUN__GRACE_S":
                assert grace >= float(env["value"]) + 10


@pytest.mark.parametrize("where", CONTAINER_IDS)
def test_credentials_come_from_secrets_never_literal(where: str) -> None:
    envs = _container(where).get("env", [])
    secret_envs = [env for env in envs if SECRET_NAME.search(env["name"])]
    assert any(env["name"] == "GRAPH_TOKEN" for env in secret_envs)
    for env in secret_envs:
        assert "value" not in env, f"{where}: {env['name']} is a literal value; use a secretKeyRef"
        assert "secretKeyRef" in env["valueFrom"], f"{where}: {env['name']} must come from a Secret"


def test_secret_refs_name_keys_of_the_example_secret() -> None:
    secret = k8s_object("Secret")
    keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for where, container in containers():
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == secret["metadata"]["name"], where
                assert ref["key"] in keys, f"{where}: key {ref['key']} is not in the example Secret"


def test_example_secret_holds_placeholders_only() -> None:
    secret = k8s_object("Secret")
    assert "data" not in secret, "base64 data hides what is in it: use stringData placeholders"
    for key, value in secret["stringData"].items():
        assert value.startswith("REPLACE-ME"), f"{key} must be an obvious placeholder"
    assert "EXAMPLE" in (K8S / "secret.example.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("where", CONTAINER_IDS)
def test_config_env_names_are_real_config_keys(where: str) -> None:
    """PATCH_WORKER_<SECTION>__<KEY> must name a key of config.yaml, or a typo is silently ignored."""
    config = config_defaults()
    for env in _container(where).get("env", []):
        name = env["name"]
        if not name.startswith("PATCH_WORKER_"):
            continue
        section, _, key = name.removeprefix("PATCH_WORKER_").lower().partition("__")
        assert section in config, f"{where}: {name}: no section {section!r} in config.yaml"
        assert key in config[section], f"{where}: {name}: no key {key!r} in section {section!r} of config.yaml"


def test_one_image_everywhere() -> None:
    images = {container["image"] for _, container in containers()}
    assert len(images) == 1, images
    assert images.pop().startswith("patch-worker:")


# --- the one-shot Job -----------------------------------------------------------------------------------------


def test_job_retries_but_not_forever() -> None:
    job = k8s_object("Job")
    assert 1 <= job["spec"]["backoffLimit"] <= 6
    assert job["spec"]["activeDeadlineSeconds"] > 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_job_does_not_retry_final_exit_codes() -> None:
    """Exit 1 (lines failed/rejected) and 2 (config error) would be the same on a retry; 130 (SIGTERM) is
    retried."""
    rules = k8s_object("Job")["spec"]["podFailurePolicy"]["rules"]
    fail_job = [rule for rule in rules if rule["action"] == "FailJob" and "onExitCodes" in rule]
    assert len(fail_job) == 1
    assert fail_job[0]["onExitCodes"]["operator"] == "In"
    assert set(fail_job[0]["onExitCodes"]["values"]) == {1, 2}
    assert fail_job[0]["onExitCodes"]["containerName"] == "patch-worker"


def _mounts(container: dict[str, Any], pod: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    return {mount["mountPath"]: (mount, volumes[mount["name"]]) for mount in container["volumeMounts"]}


def test_job_reads_its_input_from_a_read_only_configmap() -> None:
    pod = k8s_object("Job")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    args = container["args"]
    assert args[0] == "run"
    mounts = _mounts(container, pod)
    input_dir, _, filename = args[1].rpartition("/")
    mount, volume = mounts[input_dir]
    assert mount["readOnly"] is True
    configmap = k8s_object("ConfigMap", volume["configMap"]["name"])
    assert filename in configmap["data"], f"the ConfigMap has no key {filename}"


def test_job_writes_results_to_the_persistent_volume() -> None:
    pod = k8s_object("Job")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    results = next(arg.split("=", 1)[1] for arg in container["args"] if arg.startswith("--results="))
    mounts = _mounts(container, pod)
    mount_path = next(path for path in mounts if results.startswith(path + "/"))
    mount, volume = mounts[mount_path]
    assert not mount.get("readOnly")
    assert "subPath" not in mount, "kubelet creates subPath directories root-owned: not writable for uid 10001"
    claim = k8s_object("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pod["securityContext"]["fsGroup"] == IMAGE_UID, "fsGroup makes the volume writable for the worker"


def test_job_prepares_the_state_flag_on_the_same_volume() -> None:
    """--state arrives with the durability issue: the Job carries it commented out, on the results volume."""
    text = (K8S / "job.yaml").read_text(encoding="utf-8")
    state = re.search(r"^\s*#\s*- --state=(/\S+)$", text, re.MULTILINE)
    assert state, "job.yaml should carry the --state flag as a commented-out line"
    pod = k8s_object("Job")["spec"]["template"]["spec"]
    mounts = _mounts(pod["containers"][0], pod)
    assert any(
        state.group(1).startswith(path + "/") and "persistentVolumeClaim" in volume
        for path, (_, volume) in mounts.items()
    )


def test_example_input_lines_are_valid() -> None:
    """The ConfigMap's example lines pass `patch-worker validate` (the public CLI, no network)."""
    data = k8s_object("ConfigMap")["data"]["updates.jsonl"]
    done = subprocess.run(
        [sys.executable, "-m", "worker", "validate", "-"],
        input=data,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- the service mode -----------------------------------------------------------------------------------------


def test_deployment_runs_two_serve_replicas() -> None:
    deployment = k8s_object("Deployment", "patch-worker")
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][0] == "serve"
    assert deployment["spec"]["selector"]["matchLabels"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )


def test_deployment_probes_health_and_readiness() -> None:
    container = k8s_object("Deployment", "patch-worker")["spec"]["template"]["spec"]["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_deployment_takes_the_api_key_from_the_secret() -> None:
    container = k8s_object("Deployment", "patch-worker")["spec"]["template"]["spec"]["containers"][0]
    api_keys = [env for env in container["env"] if "API_KEY" in env["name"]]
    assert len(api_keys) == 1
    assert api_keys[0]["valueFrom"]["secretKeyRef"]["key"] == "API_KEY"


def test_service_selects_the_deployment_pods_on_the_http_port() -> None:
    service = k8s_object("Service")
    labels = k8s_object("Deployment", "patch-worker")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]


def test_no_object_pins_a_namespace() -> None:
    """`kubectl apply -n NS` decides where they go."""
    assert all("namespace" not in doc["metadata"] for doc in k8s_objects())
