"""Data set 2: realistic provisioningObjectSummary bodies of 0.3-1.5 KB, envelopes and bare bodies mixed.

The seed's example is one body repeated; real input varies in size and nesting. These lines are made
from a fixed seed (the same file every run, on every machine): every other line is an envelope (half of
those name an object, `/auditLogs/provisioning/{id}`), the rest bare bodies; each body carries some of
initiatedBy, servicePrincipal, sourceSystem/targetSystem (with open `details`), source/targetIdentity,
statusInfo, provisioningSteps (each with details) and modifiedProperties, sized to a target drawn
uniformly from 300..1,500 bytes. Every body is valid for the seed model, so every line is sent.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

SEED = 20
MIN_BYTES, MAX_BYTES = 300, 1500
ACTIONS = ("Create", "Update", "Delete", "Disable", "StagedDelete", "Other")
STEPS = ("import", "scoping", "matching", "processing", "referenceResolution", "export")
STATUSES = ("success", "warning", "failure", "skipped")
ATTRIBUTES = ("displayName", "mail", "department", "jobTitle", "manager", "accountEnabled", "surname", "city")


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _system(rng: random.Random, name: str) -> dict[str, Any]:
    details = {f"{key}": f"{key}-{rng.randrange(10_000)}" for key in rng.sample(ATTRIBUTES, rng.randint(0, 3))}
    return {
        "@odata.type": "#microsoft.graph.provisioningSystemDetails",
        "id": _id(rng),
        "displayName": name,
        "details": details,
    }


def _step(rng: random.Random) -> dict[str, Any]:
    step = rng.choice(STEPS)
    return {
        "name": f"{step.capitalize()}Step",
        "description": f"{step} of the object in cycle {rng.randrange(1000)}",
        "provisioningStepType": step,
        "status": rng.choice(STATUSES),
        "details": {"SkipReason": "None", "Attempt": str(rng.randint(1, 3))} if rng.random() < 0.5 else {},
    }


def _modified(rng: random.Random) -> dict[str, Any]:
    name = rng.choice(ATTRIBUTES)
    return {
        "displayName": name,
        "oldValue": f'["{name}-{rng.randrange(999)}"]',
        "newValue": f'["{name}-{rng.randrange(999)}"]',
    }


def _core(rng: random.Random) -> dict[str, Any]:
    """The scalar part and the always-present nested objects (~300 bytes)."""
    return {
        "activityDateTime": f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:07Z",
        "tenantId": _id(rng),
        "changeId": _id(rng),
        "action": rng.choice(ACTIONS),
        "durationInMilliseconds": rng.randint(1, 60_000),
        "initiatedBy": {"id": _id(rng), "displayName": "Azure AD Provisioning Service", "initiatorType": "system"},
        "statusInfo": {"@odata.type": "#microsoft.graph.statusBase", "status": rng.choice(STATUSES)},
    }


def body(rng: random.Random) -> dict[str, Any]:
    """One valid body whose compact JSON is about a size drawn from MIN_BYTES..MAX_BYTES."""
    target = rng.randint(MIN_BYTES, MAX_BYTES - 200)  # the last step or property added may pass it by ~200
    value = _core(rng)
    extras: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("servicePrincipal", lambda: {"id": _id(rng), "displayName": "Contoso HR inbound"}),
        ("sourceSystem", lambda: _system(rng, "Workday")),
        ("targetSystem", lambda: _system(rng, "Azure Active Directory")),
        ("targetIdentity", lambda: {"id": _id(rng), "displayName": "Adele Vance", "identityType": "User"}),
    ]
    for key, make in extras:
        if len(orjson.dumps(value)) >= target:
            return value
        value[key] = make()
    value["provisioningSteps"], value["modifiedProperties"] = [], []
    while len(orjson.dumps(value)) < target:
        if rng.random() < 0.5:
            value["provisioningSteps"].append(_step(rng))
        else:
            value["modifiedProperties"].append(_modified(rng))
    return value


def lines(count: int, tenants: tuple[str, ...] = ("default",)) -> Iterator[bytes]:
    """`count` input lines (no newline): even ones envelopes, odd ones bare bodies."""
    rng = random.Random(SEED)
    for index in range(count):
        content = body(rng)
        if index % 2:
            yield orjson.dumps(content)
            continue
        envelope: dict[str, Any] = {"jobId": f"job-{index}", "tenant": tenants[index % len(tenants)]}
        if index % 4 == 0:
            envelope["path"] = f"/auditLogs/provisioning/{_id(rng)}"
        envelope["body"] = content
        yield orjson.dumps(envelope)


def write_nested_jobs(path: Path, count: int) -> Path:
    """Write data set 2 (`count` lines) to `path`."""
    with path.open("wb") as out:
        for line in lines(count):
            out.write(line + b"\n")
    return path
