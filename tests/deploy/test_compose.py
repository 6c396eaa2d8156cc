"""deploy/compose.yaml: Redis, the Graph emulator, two `serve` replicas from the Dockerfile's image, and the
queue mode: a producer pushing into a Redis Stream and a `consume` consumer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.manifests import COMPOSE, IMAGE_UID, REPO, load_all

WORKERS = ["worker-1", "worker-2"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    docs = load_all(COMPOSE)
    assert len(docs) == 1
    return docs[0]


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def _flags(command: list[str]) -> dict[str, str]:
    """--name=value and --name value pairs of a command line."""
    flags: dict[str, str] = {}
    for i, arg in enumerate(command):
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            flags[name] = value if eq else command[i + 1]
    return flags


def test_services(services: dict[str, Any]) -> None:
    assert set(services) == {"redis", "emulator", *WORKERS, "consumer", "producer"}


def test_redis_persists_with_append_only_file(services: dict[str, Any], compose: dict[str, Any]) -> None:
    redis = services["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    assert command[command.index("--appendonly") + 1] == "yes"
    volume = redis["volumes"][0].split(":")
    assert volume[1] == "/data"
    assert volume[0] in compose["volumes"]
    assert "healthcheck" in redis


def test_everything_else_runs_the_image_built_from_the_dockerfile(services: dict[str, Any]) -> None:
    images = set()
    for name in ["emulator", *WORKERS, "consumer"]:
        service = services[name]
        images.add(service["image"])
        build = service["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == REPO
        assert (REPO / build.get("dockerfile", "Dockerfile")).is_file()
    assert len(images) == 1


def test_emulator_listens_on_all_interfaces(services: dict[str, Any]) -> None:
    command = services["emulator"]["command"]
    assert command[0] == "emulate"
    flags = _flags(command)
    assert flags["--host"] == "0.0.0.0"
    assert flags["--port"] == "8081"


@pytest.mark.parametrize("name", WORKERS)
def test_worker_serves_against_the_emulator_and_redis(services: dict[str, Any], name: str) -> None:
    worker = services[name]
    assert worker["command"][0] == "serve"
    env = worker["environment"]
    emulator_flags = _flags(services["emulator"]["command"])
    assert env["PATCH_WORKER_GRAPH__BASE_URL"] == f"http://emulator:{emulator_flags['--port']}/beta"
    assert env["GRAPH_TOKEN"] == emulator_flags["--token"], "the emulator only accepts its --token"
    assert env["PATCH_WORKER_SERVICE__QUEUE"].startswith("redis://redis:6379")
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "emulator" in worker["depends_on"]
    assert float(worker["stop_grace_period"].removesuffix("s")) >= 30


def test_workers_publish_distinct_host_ports(services: dict[str, Any]) -> None:
    published = [
        port.rsplit(":", 1)[0] for name in [*WORKERS, "emulator", "consumer"] for port in services[name]["ports"]
    ]
    assert len(published) == len(set(published))
    assert all(port.startswith("127.0.0.1:") for port in published), "publish on loopback only"


def test_the_consumer_takes_what_the_producer_pushes(services: dict[str, Any]) -> None:
    consumer, producer = services["consumer"], services["producer"]
    command = consumer["command"]
    flags = _flags(command)
    assert command[:2] == ["consume", "redis://redis:6379/0"]
    assert f"XADD {flags['--stream']} '*' job" in producer["command"][0]
    assert "/input/updates.jsonl" in producer["command"][0]
    assert any(volume.endswith(":/input:ro") for volume in producer["volumes"])
    emulator_flags = _flags(services["emulator"]["command"])
    assert consumer["environment"]["GRAPH_TOKEN"] == emulator_flags["--token"]
    assert consumer["environment"]["PATCH_WORKER_GRAPH__BASE_URL"] == f"http://emulator:{emulator_flags['--port']}/beta"
    for service in (consumer, producer):
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert flags["--listen"].endswith(":9090")
    assert float(consumer["stop_grace_period"].removesuffix("s")) >= 30


@pytest.mark.parametrize("name", ["emulator", *WORKERS, "consumer", "producer"])
def test_containers_are_hardened_like_the_kubernetes_pods(services: dict[str, Any], name: str) -> None:
    service = services[name]
    assert service["user"] == f"{IMAGE_UID}:{IMAGE_UID}"
    assert service["read_only"] is True
    assert "/tmp" in service["tmpfs"]
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
