#!/usr/bin/env bash
# HTTP API benchmarks, each beside its anchor in the same run, printed as ratios:
#   1. upload: COUNT generated 12-megapixel JPEGs through `POST /api/assets` (8 parallel curl
#      clients, Immich's multipart form) against `hearth import` of the same folder
#      (goal: at least 80% of import's photos/s). Checked before any figure is printed: every
#      upload answered 201, the library holds COUNT assets, `hearth verify` passes.
#   2. thumbnails: wrk, 16 connections, random `GET /api/assets/{id}/thumbnail` over THUMBS
#      assets, against nginx serving the same WebP bytes from files (goal: at least 50% of
#      nginx's requests/s); p99 latency of both. Checked first: every thumbnail file is
#      byte-identical to what the API serves.
# Usage: scripts/bench-http.sh [COUNT] [THUMBS]   (defaults 200 and 1000; needs wrk and nginx)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-200}
THUMBS=${2:-1000}
DURATION=${DURATION:-10s}
for tool in curl wrk nginx; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "bench-http: needs $tool (apt-get install -y curl wrk nginx-light)"; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
swift build -c release --product hearth >/dev/null
HEARTH="$(swift build -c release --show-bin-path)/hearth"
DATA=${BENCH_DATA:-/tmp/hearth-bench-photos-$COUNT}
SMALL=${BENCH_SMALL:-/tmp/hearth-bench-small-$THUMBS}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-http.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
PASSWORD='bench password 1'
if [ ! -f "$DATA/.complete" ]; then
  echo "generating $COUNT 4000x3000 photos in $DATA (cached for later runs)"
  rm -rf "$DATA"; "$HEARTH" make-samples "$DATA" --count "$COUNT" --width 4000 --height 3000 >/dev/null
  touch "$DATA/.complete"
fi
if [ ! -f "$SMALL/.complete" ]; then
  echo "generating $THUMBS 640x480 photos in $SMALL (cached for later runs)"
  rm -rf "$SMALL"; "$HEARTH" make-samples "$SMALL" --count "$THUMBS" --width 640 --height 480 >/dev/null
  touch "$SMALL/.complete"
fi
now() { date +%s.%N; }
fail() { echo "bench-http: FAIL: $*"; exit 1; }

# A node with a person, serving HTTP; sets URL and TOKEN.
serve() { # home
  local home=$1
  [ -d "$home" ] || "$HEARTH" --home "$home" init --name bench >/dev/null
  printf '%s\n' "$PASSWORD" | "$HEARTH" --home "$home" user add --email bench@example.com --name Bench --admin --password-stdin >/dev/null
  "$HEARTH" --home "$home" serve --listen 127.0.0.1:0 --port-file "$home.port" --http 127.0.0.1:0 \
    --http-port-file "$home.http" >"$home.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do [ -s "$home.http" ] && break; sleep 0.05; done
  [ -s "$home.http" ] || fail "hearth serve did not start: $(cat "$home.log")"
  URL="http://127.0.0.1:$(tr -d '[:space:]' <"$home.http")"
  TOKEN=$(curl -sf -X POST "$URL/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench@example.com\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
}
stop_serving() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; PIDS=(); }

# 1. Upload against import (ONLY_THUMBS=1 skips it).
if [ -z "${ONLY_THUMBS:-}" ]; then
t0=$(now)
"$HEARTH" --home "$WORK/import" init --name bench >/dev/null
"$HEARTH" --home "$WORK/import" import "$DATA" >/dev/null
import_s=$(echo "$(now) - $t0" | bc)
imported=$("$HEARTH" --home "$WORK/import" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['libraryCount'])")
[ "$imported" = "$COUNT" ] || fail "hearth import holds $imported of $COUNT photos"

serve "$WORK/up"
export URL TOKEN
t0=$(now)
codes=$(ls "$DATA"/*.jpg | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
  -F "assetData=@{}" -F fileCreatedAt=2024-01-01T00:00:00.000Z -F fileModifiedAt=2024-01-01T00:00:00.000Z "$URL/api/assets")
upload_s=$(echo "$(now) - $t0" | bc)
created=$(grep -c '^201$' <<<"$codes" || true)
[ "$created" = "$COUNT" ] || fail "$created of $COUNT uploads answered 201 (codes: $(sort <<<"$codes" | uniq -c | tr '\n' ' '))"
total=$(curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/assets/statistics" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ "$total" = "$COUNT" ] || fail "the library holds $total of $COUNT uploads"
stop_serving
"$HEARTH" --home "$WORK/up" verify >/dev/null || fail "hearth verify after the uploads"
rate() { echo "scale=1; $1 / $2" | bc; }
echo
echo "upload benchmark: $COUNT photos of 4000x3000, $(du -sm --exclude=.complete "$DATA" | cut -f1) MB, $(nproc) cores"
printf '%-50s %8s %10s\n' "pipeline" "seconds" "photos/s"
printf '%-50s %8.2f %10s\n' "POST /api/assets, 8 parallel curl clients" "$upload_s" "$(rate "$COUNT" "$upload_s")"
printf '%-50s %8.2f %10s\n' "hearth import (anchor)" "$import_s" "$(rate "$COUNT" "$import_s")"
echo "ratio upload/import (photos/s): $(echo "scale=2; $import_s / $upload_s" | bc)   (goal >= 0.80)"

fi

# 2. Thumbnails against nginx serving the same bytes.
"$HEARTH" --home "$WORK/thumbs" init --name bench >/dev/null
"$HEARTH" --home "$WORK/thumbs" import "$SMALL" >/dev/null
serve "$WORK/thumbs"
ROOT="$WORK/www"; mkdir -p "$ROOT/api/assets"
ids=$(curl -sf -H "Authorization: Bearer $TOKEN" -X POST "$URL/api/search/metadata" -H 'Content-Type: application/json' \
  -d "{\"size\":$THUMBS}" | python3 -c 'import json,sys; print("\n".join(a["id"] for a in json.load(sys.stdin)["assets"]["items"]))')
n=$(wc -l <<<"$ids")
[ "$n" = "$THUMBS" ] || fail "the API lists $n of $THUMBS assets"
for id in $ids; do
  mkdir -p "$ROOT/api/assets/$id"
  curl -sf -H "Authorization: Bearer $TOKEN" -o "$ROOT/api/assets/$id/thumbnail" "$URL/api/assets/$id/thumbnail?size=thumbnail"
done
cat >"$WORK/nginx.conf" <<EOF
worker_processes 2;
user $(id -un) $(id -gn);
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx-tmp;
  default_type image/webp;
  server { listen 127.0.0.1:0; root $ROOT; }
}
EOF
# nginx cannot listen on port 0: take a free port.
NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s/127.0.0.1:0/127.0.0.1:$NPORT/" "$WORK/nginx.conf"
"$NGINX" -c "$WORK/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
first=$(head -n 1 <<<"$ids")
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$NPORT/api/assets/$first/thumbnail" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$NPORT/api/assets/$first/thumbnail" \
  || fail "nginx does not serve $ROOT/api/assets/$first/thumbnail: $(cat "$WORK/nginx-error.log" 2>/dev/null)"
cmp <(curl -sf "http://127.0.0.1:$NPORT/api/assets/$first/thumbnail") \
    <(curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/assets/$first/thumbnail?size=thumbnail") \
  || fail "nginx does not serve the API's thumbnail bytes"
printf '%s\n' "$ids" >"$WORK/ids.txt"
python3 - "$WORK/ids.lua" "$WORK/ids.txt" <<'EOF'
import sys
ids = [l.strip() for l in open(sys.argv[2]) if l.strip()]
with open(sys.argv[1], "w") as f:
    f.write("ids = {" + ",".join('"%s"' % i for i in ids) + "}\n")
    f.write('request = function()\n  local id = ids[math.random(#ids)]\n'
            '  return wrk.format("GET", "/api/assets/" .. id .. "/thumbnail" .. (suffix or ""), headers)\nend\n')
EOF
cp "$WORK/ids.lua" "$WORK/hearth.lua"
printf 'suffix = "?size=thumbnail"\nheaders = {["Authorization"] = "Bearer %s"}\n' "$TOKEN" >>"$WORK/hearth.lua"
printf 'headers = {}\n' >>"$WORK/ids.lua"
figures() { # url script -> "requests/s p99"
  local out; out=$(wrk -t 2 -c 16 -d "$DURATION" --latency -s "$2" "$1")
  grep -q "Non-2xx" <<<"$out" && fail "wrk saw errors: $out"
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1 == "99%" {print $2}' <<<"$out")"
}
read -r ours_rps ours_p99 < <(figures "$URL" "$WORK/hearth.lua")
read -r nginx_rps nginx_p99 < <(figures "http://127.0.0.1:$NPORT" "$WORK/ids.lua")
echo
echo "thumbnail benchmark: $THUMBS assets, random ids, wrk 16 connections $DURATION, $(nproc) cores"
printf '%-50s %12s %10s\n' "server" "requests/s" "p99"
printf '%-50s %12s %10s\n' "hearth GET /api/assets/{id}/thumbnail" "$ours_rps" "$ours_p99"
printf '%-50s %12s %10s\n' "nginx, same WebP files (anchor)" "$nginx_rps" "$nginx_p99"
echo "ratio hearth/nginx (requests/s): $(echo "scale=2; $ours_rps / $nginx_rps" | bc)   (goal >= 0.50)"
