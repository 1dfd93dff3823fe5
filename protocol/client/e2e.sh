#!/usr/bin/env bash
# End to end: protocol/client/hearth_client.py (written from SPEC.md alone) pairs with a real
# `hearth serve`, syncs as a member, verifies every batch and fetches one original.
# Uses the debug binary ($HEARTH_BIN, default .build/debug/hearth); builds nothing.
# noiseprotocol comes from .cache/pypi (make client-deps); without it the test is skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HEARTH="${HEARTH_BIN:-$ROOT/.build/debug/hearth}"
NOISE="$ROOT/.cache/pypi/lib"
if [ ! -x "$HEARTH" ]; then echo "e2e client: FAIL: no hearth binary at $HEARTH"; exit 1; fi
if ! PYTHONPATH="$NOISE" python3 -c 'import noise.connection' 2>/dev/null; then
  echo "e2e client: SKIPPED: noiseprotocol not installed in .cache/pypi (PyPI unreachable? run make client-deps)"
  exit 0
fi
WORK="$(mktemp -d)"
SERVE_PID=""
cleanup() { if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT
start=$(date +%s)
h() { "$HEARTH" --home "$WORK/home" "$@"; }
"$HEARTH" make-samples "$WORK/samples" --count 3 >/dev/null
h init --name A >/dev/null
h import "$WORK/samples" >/dev/null
h serve --listen 127.0.0.1:0 --port-file "$WORK/port" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { echo "e2e client: FAIL: hearth serve wrote no port"; cat "$WORK/serve.log"; exit 1; }
PORT=$(tr -d '[:space:]' <"$WORK/port")
TICKET=$(h invite --address "127.0.0.1:$PORT" | tail -n 1)
ORIGINAL=$(find "$WORK/samples" -type f | sort | head -n 1)
if python3 "$ROOT/protocol/client/hearth_client.py" --noise-path "$NOISE" --ticket "$TICKET" \
     --expect-original "$ORIGINAL" --name "${CLIENT_NAME-Python client}"; then
  echo "e2e client: 1 passed, 0 failed ($(( $(date +%s) - start )) s)"
else
  echo "e2e client: FAIL"; echo "--- hearth serve log"; cat "$WORK/serve.log"
  echo "0 passed, 1 failed"; exit 1
fi
