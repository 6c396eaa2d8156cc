"""Every manifest in deploy/k8s/ validates against the Kubernetes OpenAPI schemas bundled with
kubernetes-validate (offline; strict: unknown fields are errors, so a typo cannot slip through)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from kubernetes_validate import utils as kv  # type: ignore[import-untyped]

from tests.deploy.manifests import k8s_files, k8s_object, load_all

# The oldest Kubernetes the manifests target (podFailurePolicy is GA since 1.31) and the newest bundled.
VERSIONS = ["1.31.0", kv.latest_version()]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", k8s_files(), ids=lambda p: p.name)
def test_manifest_validates_against_the_schema(path: Path, version: str) -> None:
    docs = load_all(path)
    assert docs, f"{path.name} holds no manifest"
    for doc in docs:
        kv.validate(doc, version, strict=True)


def test_the_expected_manifests_exist() -> None:
    names = {path.name for path in k8s_files()}
    assert {
        "job.yaml",
        "pvc.yaml",
        "configmap.example.yaml",
        "secret.example.yaml",
        "deployment.yaml",
        "service.yaml",
    } <= names


def test_the_validator_rejects_a_broken_manifest() -> None:
    """Guards the test above against a validator that accepts anything."""
    job = copy.deepcopy(k8s_object("Job"))
    job["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kv.ValidationError, match="securityContxt"):
        kv.validate(job, VERSIONS[-1], strict=True)
    job = copy.deepcopy(k8s_object("Job"))
    job["spec"]["backoffLimit"] = "three"
    with pytest.raises(kv.ValidationError):
        kv.validate(job, VERSIONS[-1], strict=True)
