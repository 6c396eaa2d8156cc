"""The words around the flags in `patch-worker --help`: what the tool does, input lines, exit codes, settings."""

from __future__ import annotations

DESCRIPTION = """\
Apply partial updates (HTTP PATCH) from a JSONL file to Microsoft Graph, within Graph's throttling,
with one result line per input line.

  patch-worker demo                         try it against the built-in Graph emulator
  patch-worker validate updates.jsonl       check every line, send nothing
  GRAPH_TOKEN=... patch-worker run updates.jsonl --results results.jsonl
"""

EPILOG = """\
input lines: a provisioningObjectSummary body as in Graph's docs, or an envelope
  {"jobId": "...", "path": "/auditLogs/provisioning/{id}", "tenant": "...", "body": {...}}
exit codes: 0 all succeeded, 1 some failed or were rejected, 2 usage/config error or stopped by a
  systemic failure (token refused, permission missing, Graph unreachable), 130 interrupted
  (with --state DIR, run the same command again to resume)
configuration: --config FILE (YAML, see config.yaml), then PATCH_WORKER_* environment variables
  (PATCH_WORKER_RUN__CONCURRENCY=64), then flags. Credentials: GRAPH_TOKEN (a static token), or
  AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH (client credentials).
"""
