#!/usr/bin/env bash
# End to end: Immich's own typed Python client (immichpy, pinned) against a real `hearth serve`
# on 127.0.0.1: login, upload with dedup, timeline, album, edit, original and thumbnail, trash.
# Uses the debug binary ($HEARTH_BIN, default .build/debug/hearth); builds nothing.
# immichpy comes from .cache/immich-venv (make immich-deps); without it the test is skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HEARTH="${HEARTH_BIN:-$ROOT/.build/debug/hearth}"
PY="$ROOT/.cache/immich-venv/bin/python"
if [ ! -x "$HEARTH" ]; then echo "immichpy e2e: FAIL: no hearth binary at $HEARTH"; exit 1; fi
if ! "$PY" -c 'import immichpy' 2>/dev/null; then
  echo "immichpy e2e: SKIPPED: immichpy is not installed in .cache/immich-venv (PyPI unreachable? run make immich-deps)"
  exit 0
fi
WORK="$(mktemp -d)"
SERVE_PID=""
cleanup() { if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT
start=$(date +%s)
h() { "$HEARTH" --home "$WORK/home" "$@"; }
"$HEARTH" make-samples "$WORK/photos" --count 24 >/dev/null
h init --name NAS >/dev/null
printf 'correct horse battery staple\n' | h user add --email admin@example.com --name Admin --admin --password-stdin >/dev/null
# Not through h(): a backgrounded function is a subshell, and SIGTERM would stop the subshell, not serve.
"$HEARTH" --home "$WORK/home" serve --listen 127.0.0.1:0 --port-file "$WORK/port" --http 127.0.0.1:0 --http-port-file "$WORK/http-port" \
  >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 150); do [ -s "$WORK/http-port" ] && break; sleep 0.1; done
[ -s "$WORK/http-port" ] || { echo "immichpy e2e: FAIL: hearth serve wrote no HTTP port"; cat "$WORK/serve.log"; exit 1; }
PORT=$(tr -d '[:space:]' <"$WORK/http-port")
if "$PY" "$ROOT/Tests/immich/immichpy_e2e.py" --url "http://127.0.0.1:$PORT" --email admin@example.com \
     --password 'correct horse battery staple' --photos "$WORK/photos"; then
  kill -TERM "$SERVE_PID"; code=0; wait "$SERVE_PID" || code=$?
  if [ "$code" != 0 ]; then
    echo "immichpy e2e: FAIL: hearth serve exited with $code after SIGTERM"; tail -n 30 "$WORK/serve.log"; exit 1
  fi
  SERVE_PID=""
  h verify >/dev/null || { echo "immichpy e2e: FAIL: hearth verify after the client's session"; exit 1; }
  echo "immichpy e2e: 1 passed, 0 failed ($(( $(date +%s) - start )) s)"
else
  echo "immichpy e2e: FAIL"; echo "--- hearth serve log"; tail -n 50 "$WORK/serve.log"
  echo "0 passed, 1 failed"; exit 1
fi
