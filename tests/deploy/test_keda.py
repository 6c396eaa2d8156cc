"""The KEDA ScaledObject for `consume` on Redis Streams: valid for KEDA, and aimed at what the consumers use."""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]  # (kubernetes-validate brings it; no stubs)
import pytest

from tests.deploy.keda import REDIS_STREAMS_METADATA, SCALED_OBJECT, keda_object
from tests.deploy.manifests import k8s_object


def _consume_args() -> dict[str, str]:
    """The consume Deployment's source URL and --flag=value arguments."""
    container = k8s_object("Deployment", "patch-worker-consume")["spec"]["template"]["spec"]["containers"][0]
    command, url, *flags = container["args"]
    assert command == "consume"
    found = {"url": url}
    found.update(flag.removeprefix("--").split("=", 1) for flag in flags)
    return found


def test_the_scaled_object_validates() -> None:
    jsonschema.validate(keda_object("ScaledObject"), SCALED_OBJECT)


def test_the_schema_rejects_a_broken_scaled_object() -> None:
    """Guards the test above against a schema that accepts anything."""
    broken = copy.deepcopy(keda_object("ScaledObject"))
    broken["spec"]["maxReplicas"] = 3  # KEDA's field is maxReplicaCount
    with pytest.raises(jsonschema.ValidationError, match="maxReplicas"):
        jsonschema.validate(broken, SCALED_OBJECT)
    broken = copy.deepcopy(keda_object("ScaledObject"))
    broken["spec"]["triggers"][0]["metadata"]["pendingEntriesCount"] = 10
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCALED_OBJECT)


def test_it_scales_the_consume_deployment_on_its_streams_pending_entries() -> None:
    scaled = keda_object("ScaledObject")
    args = _consume_args()
    url = urlsplit(args["url"])
    assert scaled["spec"]["scaleTargetRef"]["name"] == "patch-worker-consume"
    [trigger] = scaled["spec"]["triggers"]
    metadata = trigger["metadata"]
    assert trigger["type"] == "redis-streams"
    assert set(metadata) <= REDIS_STREAMS_METADATA
    assert metadata["address"] == url.netloc
    assert metadata["databaseIndex"] == url.path.strip("/")
    assert (metadata["stream"], metadata["consumerGroup"]) == (args["stream"], args["group"])
    assert int(metadata["pendingEntriesCount"]) > 0
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    assert "namespace" not in scaled["metadata"]


def test_the_consume_deployment_probes_its_listen_port() -> None:
    container = k8s_object("Deployment", "patch-worker-consume")["spec"]["template"]["spec"]["containers"][0]
    port = int(_consume_args()["listen"].rsplit(":", 1)[1])
    assert {entry["name"]: entry["containerPort"] for entry in container["ports"]} == {"probes": port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
