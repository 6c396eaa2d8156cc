"""`patch-worker run` with client credentials: the real CLI in a subprocess, the emulator over HTTPS in this one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_results, run_cli, write_lines
from worker.emulator.running import RunningEmulator, start_emulator

from .conftest import (
    CERT_CLIENT,
    CLIENT,
    CLIENT_B,
    SECRET,
    SECRET_B,
    TENANT_A,
    TENANT_B,
    Tls,
    idp_config,
    token_requests,
)


def auth_env(emulator: RunningEmulator, tls: Tls, **azure: str) -> dict[str, str]:
    """The CLI's environment: the emulator as Graph and as login host, trusting the test CA only."""
    env = {
        "PATCH_WORKER_GRAPH__BASE_URL": emulator.base_url,
        "PATCH_WORKER_GRAPH__CA_BUNDLE": str(tls.ca_path),
        "PATCH_WORKER_AUTH__AUTHORITY_HOST": emulator.url,
        "AZURE_TENANT_ID": TENANT_A,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_CLIENT_SECRET": SECRET,
    }
    env.update(azure)
    return {name: value for name, value in env.items() if value}


def jobs(count: int, tenants: tuple[str, ...] = ("default",)) -> list[dict[str, Any]]:
    return [
        {"jobId": f"j{i}", "tenant": tenants[i % len(tenants)], "body": {"action": "Update", "changeId": f"c{i}"}}
        for i in range(count)
    ]


def patches(emulator: RunningEmulator) -> int:
    total: int = emulator.stats()["total"]
    return total


async def test_a_run_with_a_client_secret(idp: RunningEmulator, tls: Tls, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", jobs(20))
    results = tmp_path / "results.jsonl"

    done = await run_cli("run", str(source), "--results", str(results), env=auth_env(idp, tls))

    assert done.code == 0, done.stderr
    assert [row["status"] for row in read_results(results)] == ["succeeded"] * 20
    assert idp.stats()["by_tenant"] == {TENANT_A: 20}  # every PATCH carried a token issued for the tenant
    assert token_requests(idp) == 1


async def test_a_run_with_a_client_certificate(
    idp: RunningEmulator, tls: Tls, tmp_path: Path, app_certificate_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", jobs(10))
    results = tmp_path / "results.jsonl"
    env = auth_env(
        idp,
        tls,
        AZURE_CLIENT_ID=CERT_CLIENT,
        AZURE_CLIENT_SECRET="",
        AZURE_CLIENT_CERTIFICATE_PATH=str(app_certificate_path),
    )

    done = await run_cli("run", str(source), "--results", str(results), env=env)

    assert done.code == 0, done.stderr
    assert idp.stats()["by_tenant"] == {TENANT_A: 10}


@pytest.mark.parametrize(
    ("azure", "code", "shown"),
    [
        ({"AZURE_CLIENT_SECRET": "Wr0ng~secret-value"}, "AADSTS7000215", "Invalid client secret provided"),
        ({"AZURE_TENANT_ID": "no-such-tenant"}, "AADSTS90002", "Tenant 'no-such-tenant' not found"),
        ({"AZURE_CLIENT_ID": "unknown-app"}, "AADSTS700016", "Application with identifier 'unknown-app'"),
    ],
)
async def test_refused_credentials_stop_the_run_before_any_patch(
    idp: RunningEmulator, tls: Tls, tmp_path: Path, azure: dict[str, str], code: str, shown: str
) -> None:
    source = write_lines(tmp_path / "in.jsonl", jobs(50))
    results = tmp_path / "results.jsonl"

    done = await run_cli("run", str(source), "--results", str(results), env=auth_env(idp, tls, **azure))

    assert done.code == 2, done.stderr
    assert patches(idp) == 0
    assert not results.exists()  # stopped before the results file was opened
    assert code in done.stderr
    assert shown in done.stderr
    assert "the default credentials" in done.stderr
    assert "Wr0ng~secret-value" not in done.stderr + done.stdout
    assert SECRET not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


async def test_one_refused_tenant_among_several_stops_the_run(idp: RunningEmulator, tls: Tls, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "tenants:\n"
        f"  contoso:\n    tenant_id: {TENANT_B}\n    client_id: {CLIENT_B}\n    client_secret: Wr0ng~b\n"
        f"  fabrikam:\n    tenant_id: {TENANT_A}\n"
    )
    source = write_lines(tmp_path / "in.jsonl", jobs(10, ("contoso", "fabrikam")))

    done = await run_cli("run", str(source), "--config", str(config), "--results", "-", env=auth_env(idp, tls))

    assert done.code == 2
    assert patches(idp) == 0
    assert f"tenant 'contoso' (directory '{TENANT_B}', client '{CLIENT_B}'): AADSTS7000215" in done.stderr
    assert "fabrikam" not in done.stderr
    assert "Wr0ng~b" not in done.stderr


async def test_two_tenants_each_with_its_own_app(idp: RunningEmulator, tls: Tls, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "tenants:\n"
        f"  contoso:\n    tenant_id: {TENANT_A}\n    rate: 50\n"  # the top-level app (AZURE_*) in directory A
        f"  fabrikam:\n    tenant_id: {TENANT_B}\n    client_id: {CLIENT_B}\n"  # its own app in directory B
    )
    source = write_lines(tmp_path / "in.jsonl", jobs(40, ("contoso", "fabrikam")))
    results = tmp_path / "results.jsonl"
    env = auth_env(idp, tls, AZURE_TENANT_ID="", PATCH_WORKER_TENANTS__FABRIKAM__CLIENT_SECRET=SECRET_B)

    done = await run_cli("run", str(source), "--config", str(config), "--results", str(results), env=env)

    assert done.code == 0, done.stderr
    rows = read_results(results)
    assert [row["status"] for row in rows] == ["succeeded"] * 40
    stats = idp.stats()
    assert stats["by_tenant"] == {TENANT_A: 20, TENANT_B: 20}  # each lane's PATCHes carried its tenant's token
    assert stats["token_requests"] == {TENANT_A: 1, TENANT_B: 1}
    contoso_ids = {f"j{i}" for i in range(0, 40, 2)}
    recorded = {record.client_request_id: record.tenant for record in idp.requests()}
    by_job = {row["jobId"]: recorded[row["clientRequestId"]] for row in rows}
    assert {job for job, tenant in by_job.items() if tenant == TENANT_A} == contoso_ids


async def test_nothing_secret_reaches_logs_or_results(tls: Tls, app_certificate: Any, tmp_path: Path) -> None:
    """Every log line (debug, JSON) and every result of runs that refresh tokens, retry, fail, are refused."""
    config = idp_config(
        app_certificate,
        token_lifetime_s=1.0,
        latency_ms=2,
        error_rate=0.05,
        error_retry_after=0.05,
        retry_after="fractional",
    )
    async with await start_emulator(config, ssl_context=tls.server_context) as idp:
        lines: list[Any] = jobs(300)
        lines += ['{"not json', {"body": {"bogus": 1}}, {"path": "/auditLogs/provisioning/x", "body": {"action": 7}}]
        source = write_lines(tmp_path / "in.jsonl", lines)
        results = [tmp_path / f"results-{run}.jsonl" for run in range(3)]

        def args(run: int) -> tuple[str, ...]:
            return ("run", str(source), "--results", str(results[run]), "--log-level", "debug", "--log-format", "json")

        # client credentials, tokens renewed every second, injected 503s retried, three lines rejected
        done = await run_cli(*args(0), "--rate", "150", "--concurrency", "8", env=auth_env(idp, tls))
        # a wrong secret: refused at start
        refused = await run_cli(*args(1), env=auth_env(idp, tls, AZURE_CLIENT_SECRET=SECRET + "x"))
        # a static token (GRAPH_TOKEN) that has expired: the first 401s stop the run, the other jobs are not sent
        expired = idp.state.issued.issue(TENANT_A, 0.001)
        static_run = await run_cli(*args(2), env={**auth_env(idp, tls, AZURE_CLIENT_SECRET=""), "GRAPH_TOKEN": expired})
        issued = idp.state.issued.all()
        stats = idp.stats()

    assert done.code == 1, done.stderr  # the three bad lines are rejected
    assert refused.code == 2
    assert static_run.code == 2  # a systemic stop
    first = read_results(results[0])
    assert [row["status"] for row in first].count("succeeded") == 300
    static_kinds = {row["error"]["kind"] for row in read_results(results[2]) if row["error"]}
    assert static_kinds >= {"InvalidAuthenticationToken", "not_sent"}
    assert stats["token_requests"][TENANT_A] >= 3  # renewed during the first run
    assert 1 <= stats["by_status"]["401"] <= 32  # only the requests in flight when the first 401 came back
    logged = [done.stdout, done.stderr, refused.stdout, refused.stderr, static_run.stdout, static_run.stderr]
    everything = "\n".join([*logged, *(path.read_text() for path in results if path.exists())])
    assert len(done.stderr.splitlines()) > 300  # debug: a line per job at least
    assert len(issued) >= 4
    for secret in [SECRET, SECRET + "x", *issued]:
        assert secret not in everything
        assert secret.split(".")[-1] not in everything  # not even the random part of a token


@pytest.mark.slow
async def test_two_thousand_jobs_while_tokens_expire_every_three_seconds(
    tls: Tls, app_certificate: Any, tmp_path: Path
) -> None:
    lifetime = 3.0
    config = idp_config(app_certificate, token_lifetime_s=lifetime, latency_ms=3)
    async with await start_emulator(config, ssl_context=tls.server_context) as idp:
        source = write_lines(tmp_path / "in.jsonl", jobs(2000))
        results = tmp_path / "results.jsonl"
        started = time.monotonic()
        # --rate 200 stretches the run over several token lifetimes (at full speed it is over in ~2 s)
        done = await run_cli(
            "run",
            str(source),
            "--results",
            str(results),
            "--concurrency",
            "32",
            "--rate",
            "200",
            env=auth_env(idp, tls),
            timeout=120,
        )
        run_s = time.monotonic() - started
        stats = idp.stats()

    assert done.code == 0, done.stderr[-2000:]
    rows = read_results(results)
    assert len(rows) == 2000
    assert [row for row in rows if row["status"] != "succeeded"] == []
    requests = stats["token_requests"][TENANT_A]
    expiries = run_s / lifetime
    print(f"\nrun {run_s:.1f} s, {expiries:.1f} token lifetimes, {requests} token requests, {stats['by_status']}")
    assert run_s > 2 * lifetime  # the run outlived several tokens
    assert requests <= expiries + 2  # at most one token request per expiry: no stampede
    assert stats["distinct_succeeded"] == 2000
