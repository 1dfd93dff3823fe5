#!/usr/bin/env bash
# The timeline routes through a real `hearth serve` at scale: a node is made with `hearth init`,
# bench-timeline fills its catalog with COUNT generated assets (and times the catalog queries
# in-process: the anchor, printed first), then wrk asks the HTTP API, one connection at a time
# so the figures are latencies: timeline/buckets, the largest month's timeline/bucket, and
# search/metadata over 30 days. Checked before any figure is printed: the buckets the API
# answers add up to what bench-timeline put in the timeline, and the month holds its count.
# Usage: scripts/bench-timeline-http.sh [COUNT]   (default 100000; needs wrk and curl)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-100000}
DURATION=${DURATION:-5s}
command -v wrk >/dev/null || { echo "bench-timeline-http: needs wrk (apt-get install -y wrk)"; exit 1; }
swift build -c release --product hearth --product bench-timeline >/dev/null
BIN="$(swift build -c release --show-bin-path)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-tlhttp.XXXXXX")
PID=
cleanup() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "bench-timeline-http: FAIL: $*"; exit 1; }
HOME_DIR="$WORK/home"
"$BIN/hearth" --home "$HOME_DIR" init --name bench >/dev/null
echo "catalog queries in process (anchor):"
"$BIN/bench-timeline" --assets "$COUNT" --runs 21 --home "$HOME_DIR" | sed 's/^/  /'
printf '%s\n' 'bench password 1' | "$BIN/hearth" --home "$HOME_DIR" user add --email bench@example.com --name Bench --admin --password-stdin >/dev/null
"$BIN/hearth" --home "$HOME_DIR" serve --listen 127.0.0.1:0 --http 127.0.0.1:0 --http-port-file "$WORK/http" >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 400); do [ -s "$WORK/http" ] && break; sleep 0.05; done
[ -s "$WORK/http" ] || fail "hearth serve did not start: $(cat "$WORK/serve.log")"
URL="http://127.0.0.1:$(tr -d '[:space:]' <"$WORK/http")"
TOKEN=$(curl -sf -X POST "$URL/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"bench password 1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
AUTH="Authorization: Bearer $TOKEN"

# What the API answers, checked against the catalog's own counts.
curl -sf -H "$AUTH" "$URL/api/timeline/buckets?visibility=timeline" >"$WORK/buckets.json"
read -r total month month_count < <(python3 - "$WORK/buckets.json" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))
big = max(b, key=lambda x: x["count"])
print(sum(x["count"] for x in b), big["timeBucket"], big["count"])
EOF
)
stats=$(curl -sf -H "$AUTH" "$URL/api/assets/statistics?visibility=timeline" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ "$total" = "$stats" ] || fail "the buckets hold $total assets, statistics says $stats"
[ "$total" -gt $((COUNT * 8 / 10)) ] || fail "the buckets hold only $total of $COUNT assets"
got=$(curl -sf -H "$AUTH" "$URL/api/timeline/bucket?visibility=timeline&timeBucket=$month" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["id"]))')
[ "$got" = "$month_count" ] || fail "timeline/bucket $month answers $got assets, the bucket says $month_count"
from=$(python3 -c "import sys; y,m=map(int,'$month'[:7].split('-')); print('%04d-%02d-01T00:00:00.000Z' % (y, m))")
to=$(python3 -c "import datetime; d=datetime.datetime.fromisoformat('${from%.000Z}') + datetime.timedelta(days=30); print(d.strftime('%Y-%m-%dT%H:%M:%S.000Z'))")
body="{\"takenAfter\":\"$from\",\"takenBefore\":\"$to\",\"size\":250}"
found=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' -X POST -d "$body" "$URL/api/search/metadata" \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["assets"]["items"]))')
[ "$found" -gt 0 ] || fail "search/metadata over 30 days from $from found nothing"
echo "check: $total assets in the timeline's buckets (= statistics); $month holds $month_count; search found $found on its first page"

cat >"$WORK/get.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $TOKEN"
EOF
cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
EOF
route() { # label url script goal-ms
  local out; out=$(wrk -t 1 -c 1 -d "$DURATION" --latency -s "$3" "$2")
  grep -q "Non-2xx" <<<"$out" && fail "wrk saw errors on $1: $out"
  printf '%-44s %10s %10s %10s   (goal < %s ms)\n' "$1" "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$4"
}
echo
echo "HTTP through hearth serve, one connection, $DURATION each, $COUNT assets, $(nproc) cores"
printf '%-44s %10s %10s %10s\n' "route" "median" "p99" "req/s"
route "GET /api/timeline/buckets" "$URL/api/timeline/buckets?visibility=timeline" "$WORK/get.lua" 20
route "GET /api/timeline/bucket ($month, $month_count)" "$URL/api/timeline/bucket?visibility=timeline&timeBucket=$month" "$WORK/get.lua" 20
route "POST /api/search/metadata (30 days, 250)" "$URL/api/search/metadata" "$WORK/post.lua" 50
