"""The parts of KEDA's ScaledObject and ScaledJob CRDs (keda.sh/v1alpha1) the manifests use, as JSON Schema.

kubernetes-validate bundles the core API only, so the KEDA objects (deploy/k8s/keda/) are checked against
this: written from KEDA 2.x's CRDs (field names, types, required fields), strict like the core check (an
unknown field is an error), and trigger metadata from each scaler's documented parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.deploy.manifests import K8S, load_all

KEDA = K8S / "keda"

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_LABELS = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "labels": _STRING_MAP, "annotations": _STRING_MAP},
    "required": ["name"],
    "additionalProperties": False,
}
_TRIGGER = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "name": {"type": "string"},
        "metadata": _STRING_MAP,  # every value a string, as the CRD says ("10", not 10)
        "authenticationRef": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "kind": {"type": "string"}},
            "required": ["name"],
            "additionalProperties": False,
        },
        "useCachedMetrics": {"type": "boolean"},
        "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
    },
    "required": ["type", "metadata"],
    "additionalProperties": False,
}
_INT = {"type": "integer", "minimum": 0}

SCALED_OBJECT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": _LABELS,
        "spec": {
            "type": "object",
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "apiVersion": {"type": "string"},
                        "envSourceContainerName": {"type": "string"},
                    },
                    "required": ["name"],
                    "additionalProperties": False,
                },
                "minReplicaCount": _INT,
                "maxReplicaCount": _INT,
                "idleReplicaCount": _INT,
                "pollingInterval": _INT,
                "cooldownPeriod": _INT,
                "initialCooldownPeriod": _INT,
                "triggers": {"type": "array", "items": _TRIGGER, "minItems": 1},
            },
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
        },
    },
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
}

SCALED_JOB: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledJob"},
        "metadata": _LABELS,
        "spec": {
            "type": "object",
            "properties": {
                # a batch/v1 JobSpec: checked by kubernetes-validate (tests/deploy/test_keda_azure.py)
                "jobTargetRef": {"type": "object", "required": ["template"]},
                "pollingInterval": _INT,
                "successfulJobsHistoryLimit": _INT,
                "failedJobsHistoryLimit": _INT,
                "envSourceContainerName": {"type": "string"},
                "minReplicaCount": _INT,
                "maxReplicaCount": _INT,
                "rollout": {
                    "type": "object",
                    "properties": {
                        "strategy": {"enum": ["default", "gradual"]},
                        "propagationPolicy": {"enum": ["foreground", "background"]},
                    },
                    "additionalProperties": False,
                },
                "scalingStrategy": {
                    "type": "object",
                    "properties": {
                        "strategy": {"enum": ["default", "custom", "accurate", "eager"]},
                        "customScalingQueueLengthDeduction": {"type": "integer"},
                        "customScalingRunningJobPercentage": {"type": "string"},
                        "pendingPodConditions": {"type": "array", "items": {"type": "string"}},
                        "multipleScalersCalculation": {"enum": ["max", "min", "avg", "sum"]},
                    },
                    "additionalProperties": False,
                },
                "triggers": {"type": "array", "items": _TRIGGER, "minItems": 1},
            },
            "required": ["jobTargetRef", "triggers"],
            "additionalProperties": False,
        },
    },
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
}

#: Each azure-queue trigger parameter KEDA documents.
AZURE_QUEUE_METADATA = {
    "queueName",
    "queueLength",
    "activationQueueLength",
    "connectionFromEnv",
    "accountName",
    "cloud",
    "endpointSuffix",
    "queueLengthStrategy",
}

#: Each redis-streams trigger parameter KEDA documents; one of the three target kinds is required.
REDIS_STREAMS_METADATA = {
    "address",
    "addressFromEnv",
    "host",
    "hostFromEnv",
    "port",
    "portFromEnv",
    "usernameFromEnv",
    "passwordFromEnv",
    "stream",
    "consumerGroup",
    "pendingEntriesCount",
    "streamLength",
    "lagCount",
    "activationLagCount",
    "databaseIndex",
    "enableTLS",
    "unsafeSsl",
}


def keda_files() -> list[Path]:
    return sorted(KEDA.glob("*.yaml"))


def keda_object(kind: str) -> dict[str, Any]:
    """The one KEDA object of that kind in deploy/k8s/keda/."""
    found = [doc for path in keda_files() for doc in load_all(path) if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind} in deploy/k8s/keda, found {len(found)}"
    return found[0]
