# patch-worker container image.
#
#   docker build -t patch-worker .
#   docker run --rm -e GRAPH_TOKEN -v "$PWD:/data" patch-worker run /data/updates.jsonl --results /data/results.jsonl
#
# BASE must provide python3 (3.11+) at the same path in both stages: the venv built in the first stage is
# copied into the second and points at that interpreter. The default is the official slim image; a Debian
# bookworm image with python3 and python3-venv works too (deploy/smoke-test.sh builds with one).
ARG BASE=python:3.11-slim

# ---- build: resolve the locked dependencies and the project into /app/.venv -----------------------------
FROM ${BASE} AS build

ARG UV_VERSION=0.13.9
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_SYSTEM_CERTS=1

# UV_SYSTEM_CERTS: trust the base image's CA store (/etc/ssl/certs), so a build behind a TLS-inspecting
# proxy works once its CA is there (or mounted there, as deploy/smoke-test.sh does).
# uv in a throwaway venv: the Debian base has no pip in its system python, and the slim image's pip
# should not be touched. It stays in this stage.
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --quiet "uv==${UV_VERSION}"

WORKDIR /src
# Dependencies first (exactly as locked, no dev tools): this layer is reused while only the code changes.
COPY pyproject.toml uv.lock README.md ./
RUN /opt/uv/bin/uv sync --frozen --no-dev --extra fast --no-install-project

# Then the project itself, installed as a wheel (not a link back to /src).
COPY worker ./worker
# The demo's examples ship inside the wheel (pyproject force-include).
COPY examples/updates.jsonl ./examples/updates.jsonl
RUN /opt/uv/bin/uv sync --frozen --no-dev --extra fast --no-editable

# ---- runtime: the base image, the venv and an unprivileged user; no pip, uv or compilers ------------------
FROM ${BASE}

LABEL org.opencontainers.image.title="patch-worker" \
      org.opencontainers.image.description="Apply JSONL batches of HTTP PATCH to Microsoft Graph within its throttling" \
      org.opencontainers.image.licenses="MIT"

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONFAULTHANDLER=1

# Numeric uid/gid 10001: Kubernetes' runAsNonRoot can only verify a numeric USER.
RUN groupadd --system --gid 10001 worker \
    && useradd --system --uid 10001 --gid 10001 --home-dir /work --no-create-home --shell /usr/sbin/nologin worker \
    && mkdir -p /work \
    && chown 10001:10001 /work

COPY --from=build /app/.venv /app/.venv

WORKDIR /work
USER 10001:10001

# The worker drains in-flight requests on SIGTERM (the default stop signal) before exiting with 130.
ENTRYPOINT ["patch-worker"]
CMD ["--help"]
