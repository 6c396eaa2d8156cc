"""The KEDA ScaledJob for `consume --until-empty` on an Azure queue: valid for KEDA and Kubernetes, and aimed at
the queue its Jobs consume. (Its pod template also goes through every policy test of test_k8s_policy.)"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # (kubernetes-validate brings it; no stubs)
import pytest
from kubernetes_validate import utils as kv  # type: ignore[import-untyped]

from tests.deploy.keda import AZURE_QUEUE_METADATA, SCALED_JOB, keda_object
from tests.deploy.test_k8s_schema import VERSIONS


def _job_of(scaled: dict[str, Any]) -> dict[str, Any]:
    """The batch/v1 Job KEDA makes of the ScaledJob's jobTargetRef."""
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}, "spec": scaled["spec"]["jobTargetRef"]}


def test_the_scaled_job_validates() -> None:
    jsonschema.validate(keda_object("ScaledJob"), SCALED_JOB)


@pytest.mark.parametrize("version", VERSIONS)
def test_its_job_validates_against_the_kubernetes_schema(version: str) -> None:
    kv.validate(_job_of(keda_object("ScaledJob")), version, strict=True)


def test_the_schemas_reject_a_broken_scaled_job() -> None:
    """Guards the tests above against schemas that accept anything."""
    broken = copy.deepcopy(keda_object("ScaledJob"))
    broken["spec"]["maxReplicas"] = 3  # KEDA's field is maxReplicaCount
    with pytest.raises(jsonschema.ValidationError, match="maxReplicas"):
        jsonschema.validate(broken, SCALED_JOB)
    broken = copy.deepcopy(keda_object("ScaledJob"))
    broken["spec"]["triggers"][0]["metadata"]["queueLength"] = 1000  # KEDA wants strings
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCALED_JOB)
    broken = copy.deepcopy(keda_object("ScaledJob"))
    broken["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]["argz"] = []
    with pytest.raises(kv.ValidationError, match="argz"):
        kv.validate(_job_of(broken), VERSIONS[-1], strict=True)


def test_it_starts_until_empty_consumers_of_the_queue_it_watches() -> None:
    scaled = keda_object("ScaledJob")
    job = scaled["spec"]["jobTargetRef"]
    [container] = job["template"]["spec"]["containers"]
    command, url, *flags = container["args"]
    assert (command, url) == ("consume", "azure-queue://patch-jobs")
    assert "--until-empty" in flags
    idle = float(next(flag for flag in flags if flag.startswith("--idle-s=")).split("=", 1)[1])
    assert idle > 30, "--idle-s must outlast a dead Job's messages' invisibility (queue.claim_idle_s, 30 s)"
    [trigger] = scaled["spec"]["triggers"]
    metadata = trigger["metadata"]
    assert trigger["type"] == "azure-queue"
    assert set(metadata) <= AZURE_QUEUE_METADATA
    assert metadata["queueName"] == url.removeprefix("azure-queue://")
    assert int(metadata["queueLength"]) > 0
    env = {item["name"] for item in container["env"]}
    assert metadata["connectionFromEnv"] in env  # KEDA reads it from the container's env
    assert scaled["spec"]["envSourceContainerName"] == container["name"]
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert 0 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]
