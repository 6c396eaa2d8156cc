#!/usr/bin/env bash
# Smoke test of the container image: build it, then run it the way a Kubernetes Job does (non-root,
# read-only root filesystem, no capabilities, a mounted volume for input and results) against the Graph
# emulator on the host, and check the exit codes and the results file on the volume.
#
#   bash deploy/smoke-test.sh          (as root; CI calls it after the unit tests)
#
# Environment: IMAGE (tag to build, default localhost/patch-worker:smoke-PID), BASE_IMAGE (default: a Debian
# bookworm image made here with debootstrap, as no registry can be reached; set BASE_IMAGE=python:3.11-slim
# where one can), KEEP_IMAGE=1 to keep the built image afterwards.
#
# Podman flags as in shared/notes/containers.md: runc (crun fails on this cgroup setup), cgroupfs, explicit
# ulimits for `run`, the host network (the build reaches PyPI, the container reaches the emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

IMAGE=${IMAGE:-localhost/patch-worker:smoke-$$}
BASE_IMAGE=${BASE_IMAGE:-localhost/debian-python:bookworm}
TOKEN=smoke-token
PODMAN=(podman --runtime /usr/sbin/runc --cgroup-manager=cgroupfs)
# What the Job's securityContext asks for, as podman flags.
RUN_FLAGS=(--network=host --ulimit nofile=20000:20000 --ulimit nproc=4096:4096
  --read-only --tmpfs /tmp --cap-drop=ALL --security-opt=no-new-privileges)

START=$(date +%s)
FAILURES=0
TMP=""
EMULATOR_PID=""
CONTAINERS=()
RC=0
BUILD_BEFORE=""

log() { printf '[smoke %3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
pass() { printf 'PASS: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*"
  FAILURES=$((FAILURES + 1))
}
die() {
  printf 'FAIL: %s\n' "$*"
  exit 1
}

build_containers() { # IDs of buildah working containers on BASE_IMAGE
  "${PODMAN[@]}" ps --all --external --format '{{.ID}} {{.Image}} {{.Names}}' 2>/dev/null |
    awk -v base="$BASE_IMAGE" '$2 == base && $3 ~ /-working-container/ {print $1}'
}

cleanup() {
  local rc=$?
  set +e
  for name in "${CONTAINERS[@]}"; do
    "${PODMAN[@]}" rm --force --time 0 "$name" >/dev/null 2>&1
  done
  # A build that was interrupted leaves its buildah working containers behind: remove the ones it made.
  if [[ -n $BUILD_BEFORE ]]; then
    build_containers | grep -vxF -f "$BUILD_BEFORE" | xargs -r "${PODMAN[@]}" rm --force >/dev/null 2>&1
  fi
  if [[ -n $EMULATOR_PID ]]; then
    kill "$EMULATOR_PID" 2>/dev/null && wait "$EMULATOR_PID" 2>/dev/null
  fi
  if [[ ${KEEP_IMAGE:-0} != 1 ]] && command -v podman >/dev/null 2>&1; then
    "${PODMAN[@]}" rmi --force "$IMAGE" >/dev/null 2>&1
  fi
  if [[ -n $TMP ]]; then
    # An interrupted debootstrap may leave /proc or /sys mounted inside its root: unmount before deleting.
    findmnt -rn -o TARGET 2>/dev/null | grep "^$TMP/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. tools -----------------------------------------------------------------------------------------------
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
[[ -x /usr/sbin/runc ]] || need+=(runc)
if [[ $BASE_IMAGE == localhost/debian-python:* ]] && ! command -v debootstrap >/dev/null 2>&1; then
  need+=(debootstrap)
fi
if ((${#need[@]})); then
  [[ $(id -u) == 0 ]] || die "needs ${need[*]} (apt-get install -y ${need[*]}) and root to install them"
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

TMP=$(mktemp -d /tmp/patch-worker-smoke.XXXXXX)
DATA=$TMP/data
mkdir -p "$DATA"
# The container runs as uid 10001: the volume must be writable for it (in Kubernetes: fsGroup).
chmod 0777 "$DATA"

# --- 2. base image --------------------------------------------------------------------------------------------
if [[ $BASE_IMAGE == localhost/debian-python:* ]] && ! "${PODMAN[@]}" image exists "$BASE_IMAGE"; then
  mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  log "building base image $BASE_IMAGE with debootstrap from $mirror (once per machine)"
  rootfs=$TMP/rootfs
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" \
    >"$TMP/debootstrap.log" 2>&1 || {
    tail -20 "$TMP/debootstrap.log"
    die "debootstrap failed"
  }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "${PODMAN[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$BASE_IMAGE" >/dev/null 2>"$TMP/import.log"
  rm -rf "$rootfs"
  pass "base image $BASE_IMAGE built"
fi

# --- 3. build -------------------------------------------------------------------------------------------------
log "building $IMAGE from $BASE_IMAGE"
build_start=$(date +%s)
BUILD_BEFORE=$TMP/build-containers-before
build_containers >"$BUILD_BEFORE"
if "${PODMAN[@]}" build --layers=false --force-rm --network=host -v /etc/ssl/certs:/etc/ssl/certs:ro \
  --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" -f Dockerfile . >"$TMP/build.log" 2>&1; then
  pass "image builds ($(($(date +%s) - build_start)) s)"
else
  tail -30 "$TMP/build.log"
  die "image build failed (log above)"
fi

# --- 4. image properties --------------------------------------------------------------------------------------
uid=$("${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" --entrypoint id "$IMAGE" -u)
if [[ $uid == 10001 ]]; then pass "container runs as uid 10001"; else fail "container runs as uid '$uid', want 10001"; fi

# shellcheck disable=SC2016 # $c is expanded by the container's shell
compilers=$("${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" --entrypoint /bin/sh "$IMAGE" -c \
  'for c in gcc cc c++ g++ clang make uv; do command -v "$c"; done; true')
if [[ -z $compilers ]]; then pass "no compilers or build tools in the image"; else fail "build tools in the image: $compilers"; fi

if "${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" "$IMAGE" >"$TMP/help.txt" 2>&1 && grep -q 'patch-worker' "$TMP/help.txt"; then
  pass "default command prints the help"
else
  fail "default command (--help) failed: $(head -5 "$TMP/help.txt")"
fi

# --- 5. the emulator on the host ------------------------------------------------------------------------------
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
if [[ ! -x $PYTHON ]]; then
  log "no .venv: uv sync --frozen"
  uv sync --frozen --quiet
fi
"$PYTHON" -m worker.emulator --port 0 --token "$TOKEN" >"$TMP/emulator.log" 2>&1 &
EMULATOR_PID=$!
URL=""
for _ in $(seq 100); do
  URL=$(sed -n 's/^emulator listening on \(http[^ ]*\).*/\1/p' "$TMP/emulator.log" | head -1)
  [[ -n $URL ]] && break
  kill -0 "$EMULATOR_PID" 2>/dev/null || break
  sleep 0.1
done
[[ -n $URL ]] || die "emulator did not start: $(cat "$TMP/emulator.log")"
ADMIN=${URL%/beta}/_emulator
log "emulator at $URL"

emulator_stat() { # emulator_stat KEY -> the number in /_emulator/stats
  "$PYTHON" -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/stats"))[sys.argv[2]])' "$ADMIN" "$1"
}
emulator_reset() {
  "$PYTHON" -c 'import sys,urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/reset", method="POST"))' "$ADMIN"
}
count_results() { # count_results FILE -> "lines succeeded failed rejected distinct_jobs"
  "$PYTHON" - "$1" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
by = {s: sum(r["status"] == s for r in rows) for s in ("succeeded", "failed", "rejected")}
print(len(rows), by["succeeded"], by["failed"], by["rejected"], len({(r["jobId"], r["line"]) for r in rows}))
PY
}
job() { # job NAME ARGS... : run the image like the Kubernetes Job, in the foreground; exit code in RC
  local name=$1
  shift
  CONTAINERS+=("smoke-$$-$name")
  RC=0
  "${PODMAN[@]}" run --rm --name "smoke-$$-$name" "${RUN_FLAGS[@]}" -v "$DATA:/data" "$@" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" || RC=$?
}

# --- 6. the shipped examples: 5 valid lines, 10 invalid -> exit 1 ---------------------------------------------
cp examples/updates.jsonl "$DATA/updates.jsonl"
chmod 0644 "$DATA/updates.jsonl"
log "job 1: examples/updates.jsonl"
job examples -e GRAPH_TOKEN=$TOKEN -e PATCH_WORKER_LOG__FORMAT=json "$IMAGE" \
  run /data/updates.jsonl --base-url "$URL" --results /data/results.jsonl
rc=$RC
if [[ $rc == 1 ]]; then pass "examples: exit code 1 (some lines rejected)"; else
  fail "examples: exit code $rc, want 1"
  tail -20 "$TMP/examples.err"
fi
if [[ -f $DATA/results.jsonl ]]; then
  read -r lines ok failed rejected distinct < <(count_results "$DATA/results.jsonl") || true
  if [[ "$lines $ok $failed $rejected $distinct" == "15 5 0 10 15" ]]; then
    pass "examples: results on the volume: 15 lines, 5 succeeded, 10 rejected"
  else
    fail "examples: results: $lines lines, $ok succeeded, $failed failed, $rejected rejected, $distinct distinct (want 15 5 0 10 15)"
  fi
else
  fail "examples: no results file on the volume"
fi
sent=$(emulator_stat distinct_succeeded)
if [[ $sent == 5 ]]; then pass "examples: the emulator received the 5 valid updates"; else fail "examples: the emulator saw $sent successful PATCHes, want 5"; fi
if grep -q '"eventLoop":"uvloop"' "$TMP/examples.err"; then pass "examples: the image runs on uvloop (the [fast] extra)"; else
  fail "examples: no run.started line with eventLoop uvloop in the log"
fi

# --- 7. an all-valid file -> exit 0 ---------------------------------------------------------------------------
VALID=200
for i in $(seq "$VALID"); do
  printf '{"jobId":"smoke-%05d","tenant":"smoke","body":{"action":"Update","statusInfo":{"status":"success"},"durationInMilliseconds":%d}}\n' "$i" "$i"
done >"$DATA/valid.jsonl"
chmod 0644 "$DATA/valid.jsonl"
emulator_reset
log "job 2: $VALID valid lines"
job valid -e GRAPH_TOKEN=$TOKEN -e PATCH_WORKER_RUN__CONCURRENCY=16 "$IMAGE" \
  run /data/valid.jsonl --base-url "$URL" --results /data/valid-results.jsonl
rc=$RC
if [[ $rc == 0 ]]; then pass "valid file: exit code 0"; else
  fail "valid file: exit code $rc, want 0"
  tail -20 "$TMP/valid.err"
fi
if [[ -f $DATA/valid-results.jsonl ]]; then
  read -r lines ok failed rejected distinct < <(count_results "$DATA/valid-results.jsonl") || true
  if [[ "$lines $ok $distinct" == "$VALID $VALID $VALID" ]]; then pass "valid file: $VALID results, all succeeded"; else
    fail "valid file: $lines lines, $ok succeeded, $failed failed, $rejected rejected (want $VALID succeeded)"
  fi
else
  fail "valid file: no results file on the volume"
fi

# --- 8. configuration errors -> exit 2 ------------------------------------------------------------------------
job notoken "$IMAGE" run /data/valid.jsonl --base-url "$URL" --results /data/notoken.jsonl
rc=$RC
if [[ $rc == 2 ]]; then pass "no GRAPH_TOKEN: exit code 2"; else fail "no GRAPH_TOKEN: exit code $rc, want 2"; fi

# --- 9. SIGTERM (what Kubernetes sends first) drains in-flight requests and exits 130 ------------------------
DRAIN_LINES=2000
for i in $(seq "$DRAIN_LINES"); do
  printf '{"jobId":"drain-%05d","tenant":"drain","body":{"action":"Update","durationInMilliseconds":%d}}\n' "$i" "$i"
done >"$DATA/drain.jsonl"
chmod 0644 "$DATA/drain.jsonl"
emulator_reset
log "job 3: SIGTERM while running (paced at 20 requests/s)"
DRAIN=smoke-$$-drain
CONTAINERS+=("$DRAIN")
"${PODMAN[@]}" run -d --name "$DRAIN" "${RUN_FLAGS[@]}" -v "$DATA:/data" \
  -e GRAPH_TOKEN=$TOKEN -e PATCH_WORKER_RUN__RATE=20 -e PATCH_WORKER_RUN__BURST=1 "$IMAGE" \
  run /data/drain.jsonl --base-url "$URL" --results /data/drain-results.jsonl >/dev/null
for _ in $(seq 200); do
  [[ $(emulator_stat total) -ge 20 ]] && break
  sleep 0.1
done
stop_start=$(date +%s)
"${PODMAN[@]}" stop --time 45 "$DRAIN" >/dev/null
stop_s=$(($(date +%s) - stop_start))
rc=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$DRAIN")
"${PODMAN[@]}" logs "$DRAIN" >"$TMP/drain.log" 2>&1 || true
"${PODMAN[@]}" rm --force "$DRAIN" >/dev/null 2>&1 || true
if [[ $rc == 130 && $stop_s -lt 30 ]]; then pass "SIGTERM: exit code 130 after ${stop_s} s"; else
  fail "SIGTERM: exit code $rc after ${stop_s} s, want 130 within 30 s"
  tail -20 "$TMP/drain.log"
fi
if [[ -f $DATA/drain-results.jsonl ]]; then
  read -r lines ok failed rejected distinct < <(count_results "$DATA/drain-results.jsonl") || true
  sent=$(emulator_stat distinct_succeeded)
  if ((lines > 0 && lines < DRAIN_LINES && lines == distinct && ok == sent)); then
    pass "SIGTERM: every request Graph accepted has its result ($ok of $DRAIN_LINES done before the stop)"
  else
    fail "SIGTERM: $lines result lines, $ok succeeded, $distinct distinct; the emulator accepted $sent"
  fi
else
  fail "SIGTERM: no results file on the volume"
fi

# --- summary --------------------------------------------------------------------------------------------------
total=$(($(date +%s) - START))
if ((FAILURES)); then
  echo "smoke test: FAIL ($FAILURES failed checks, ${total} s)"
  exit 1
fi
echo "smoke test: PASS (${total} s)"
