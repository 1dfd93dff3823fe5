#!/usr/bin/env bash
# Replication benchmarks, printed side by side in one run (never part of the tests):
#   1. initial replication of a generated photo folder from node A to a fresh node B over
#      127.0.0.1 (`hearth join`, every chunk hash-checked and fsynced on arrival), against
#      `rsync -a` (local copy), an rsync daemon over TCP, and Syncthing (two instances);
#   2. `bench-sync`: one metadata edit on a 100k-asset catalog (bytes on the wire, latency)
#      and catch-up of 10k edits.
#
# usage: scripts/bench-sync.sh [--count 300] [--width 4000] [--height 3000] [--assets 100000] [--edits 10000]
# Builds release binaries first (HEARTH_SKIP_BUILD=1 to reuse them).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=300 WIDTH=4000 HEIGHT=3000 ASSETS=100000 EDITS=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --count) COUNT=$2; shift 2 ;;
        --width) WIDTH=$2; shift 2 ;;
        --height) HEIGHT=$2; shift 2 ;;
        --assets) ASSETS=$2; shift 2 ;;
        --edits) EDITS=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
if [ -z "${HEARTH_SKIP_BUILD:-}" ]; then
    swift build -c release --product hearth >&2
    swift build -c release --product bench-sync >&2
fi
BIN=$(swift build -c release --show-bin-path)
H="$BIN/hearth"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-sync.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
rate() { python3 -c "print(f'{$1 / 1e6 / ($3 - $2):.0f}')"; }
dropcache() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
RESULTS=()
result() { RESULTS+=("$(printf '%-44s %8s s %8s MB/s  %s' "$1" "$2" "$3" "${4:-}")"); }

echo "== generating $COUNT photos of ${WIDTH}x${HEIGHT}" >&2
"$H" make-samples "$WORK/photos" --count "$COUNT" --width "$WIDTH" --height "$HEIGHT" >/dev/null
BYTES=$(du -sb "$WORK/photos" | cut -f1)
echo "   $((BYTES / 1000000)) MB in $COUNT files" >&2

echo "== node A imports (not timed against the anchors)" >&2
"$H" --home "$WORK/A" init --name A >/dev/null
T0=$(now); "$H" --home "$WORK/A" import "$WORK/photos" >/dev/null; T1=$(now)
STORED=$("$H" --home "$WORK/A" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["storedBytes"])')
echo "   import: $(secs "$T0" "$T1") s; A stores $((STORED / 1000000)) MB (originals + previews + thumbnails)" >&2

"$H" --home "$WORK/A" serve --listen 127.0.0.1:0 --http off --port-file "$WORK/A.port" 2>"$WORK/A.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/A.port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/A.port")

echo "== hearth: B joins by ticket and receives everything" >&2
TICKET=$("$H" --home "$WORK/A" invite --address "127.0.0.1:$PORT" | tail -1)
dropcache
T0=$(now); "$H" --home "$WORK/B" join "$TICKET" --name B >/dev/null; T1=$(now)
DA=$("$H" --home "$WORK/A" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["catalogDigest"])')
DB=$("$H" --home "$WORK/B" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["catalogDigest"])')
[ "$DA" = "$DB" ] || { echo "B did not converge" >&2; exit 1; }
# The work was done before a time is printed: B holds every chunk and byte A holds, and verifies.
field() { "$H" --home "$WORK/$1" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
for f in chunkCount storedBytes assetCount; do
  [ "$(field A $f)" = "$(field B $f)" ] || { echo "B's $f $(field B $f) differs from A's $(field A $f)" >&2; exit 1; }
done
"$H" --home "$WORK/B" verify >/dev/null || { echo "verify failed on B" >&2; exit 1; }
echo "   B holds all $(field B chunkCount) chunks, $(field B storedBytes) bytes; verify passes" >&2
HEARTH_S=$(secs "$T0" "$T1")
result "hearth join (Noise, hash-checked, fsync)" "$HEARTH_S" "$(rate "$BYTES" "$T0" "$T1")" \
    "$((STORED / 1000000)) MB stored incl. derived; rate counts originals only"

echo "== rsync -a, local" >&2
dropcache
T0=$(now); rsync -a "$WORK/photos/" "$WORK/rsync-local/"; T1=$(now)
result "rsync -a (local, no fsync)" "$(secs "$T0" "$T1")" "$(rate "$BYTES" "$T0" "$T1")"

echo "== rsync daemon over TCP" >&2
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/rsyncd.conf" <<EOF
pid file = $WORK/rsyncd.pid
use chroot = false
[photos]
    path = $WORK/photos
    read only = true
EOF
rsync --daemon --no-detach --address=127.0.0.1 --port="$RPORT" --config="$WORK/rsyncd.conf" &
PIDS+=($!)
sleep 0.5
dropcache
T0=$(now); rsync -a "rsync://127.0.0.1:$RPORT/photos/" "$WORK/rsync-tcp/"; T1=$(now)
result "rsync daemon over TCP (no encryption)" "$(secs "$T0" "$T1")" "$(rate "$BYTES" "$T0" "$T1")"

echo "== Syncthing" >&2
# Set up as /work/shared/ANCHORS.md describes: contained (127.0.0.1 only, no discovery, relays,
# NAT or reporting), the worker process itself (STMONITORED=1). The sender scans first; the
# clock runs from the receiver's start until it holds every file (globalFiles == N,
# needFiles == 0, localBytes == globalBytes, idle), as hearth's runs from join to convergence.
cat > "$WORK/syncthing.py" <<'EOF'
import json, os, socket, subprocess, sys, time, urllib.request, xml.etree.ElementTree as ET
work, photos, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
nodes = {}
for name in ("sa", "sb"):
    home = f"{work}/{name}"
    subprocess.run(["syncthing", "generate", f"--home={home}", "--no-default-folder"], check=True, capture_output=True)
    dev = subprocess.run(["syncthing", f"--home={home}", "--device-id"], check=True, capture_output=True, text=True).stdout.strip()
    nodes[name] = dict(home=home, id=dev, gui=port(), listen=port(), key=f"bench{name}key")
os.makedirs(f"{work}/st-received", exist_ok=True)
for name, n in nodes.items():
    other = nodes["sb" if name == "sa" else "sa"]
    path = f"{n['home']}/config.xml"
    tree = ET.parse(path); root = tree.getroot()
    gui = root.find("gui"); gui.find("address").text = f"127.0.0.1:{n['gui']}"; gui.find("apikey").text = n["key"]
    o = root.find("options")
    for k, v in dict(listenAddress=f"tcp://127.0.0.1:{n['listen']}", globalAnnounceEnabled="false",
                     localAnnounceEnabled="false", relaysEnabled="false", natEnabled="false", urAccepted="-1",
                     crashReportingEnabled="false", autoUpgradeIntervalH="0", setLowPriority="false").items():
        (o.find(k) if o.find(k) is not None else ET.SubElement(o, k)).text = v
    mine = root.find("device")
    d = ET.fromstring(ET.tostring(mine)); d.set("id", other["id"]); d.set("name", "peer")
    d.find("address").text = f"tcp://127.0.0.1:{other['listen']}"
    root.insert(list(root).index(mine) + 1, d)
    f = ET.Element("folder", id="photos", label="photos", type="sendonly" if name == "sa" else "receiveonly",
                   path=photos if name == "sa" else f"{work}/st-received", rescanIntervalS="3600", fsWatcherEnabled="false")
    for dev in (n["id"], other["id"]): ET.SubElement(f, "device", id=dev)
    root.insert(list(root).index(d) + 1, f)
    tree.write(path)
def status(n):
    req = urllib.request.Request(f"http://127.0.0.1:{n['gui']}/rest/db/status?folder=photos", headers={"X-API-Key": n["key"]})
    return json.load(urllib.request.urlopen(req, timeout=5))
def start(n):
    env = dict(os.environ, STMONITORED="1")
    return subprocess.Popen(["syncthing", "serve", f"--home={n['home']}", "--no-browser", "--no-restart", "--no-upgrade"],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(f"{n['home']}.log", "w"))
def wait(n, ok, limit):
    end = time.time() + limit
    while time.time() < end:
        try:
            s = status(n)
            if ok(s): return s
        except Exception:
            pass
        time.sleep(0.02)
    raise SystemExit(f"syncthing did not finish within {limit} s")
procs = [start(nodes["sa"])]
try:
    wait(nodes["sa"], lambda s: s["state"] == "idle" and s["localFiles"] == count, 600)
    subprocess.run(["sync"]); open("/proc/sys/vm/drop_caches", "w").write("3") if os.access("/proc/sys/vm/drop_caches", os.W_OK) else None
    t0 = time.time()
    procs.append(start(nodes["sb"]))
    wait(nodes["sb"], lambda s: s["globalFiles"] == count and s["needFiles"] == 0 and s["localBytes"] == s["globalBytes"]
         and s["state"] == "idle", 900)
    print(f"{time.time() - t0:.2f}")
finally:
    for p in procs: p.terminate()
    for p in procs: p.wait()
EOF
if ! command -v syncthing >/dev/null; then
    RESULTS+=("Syncthing: skipped (not installed: apt-get install syncthing)")
    RATIO="n/a"
elif ST_S=$(python3 "$WORK/syncthing.py" "$WORK" "$WORK/photos" "$COUNT" 2>"$WORK/syncthing.err"); then
    result "Syncthing (TLS, two instances)" "$ST_S" "$(python3 -c "print(f'{$BYTES / 1e6 / $ST_S:.0f}')")"
    RATIO=$(python3 -c "print(f'{$ST_S / $HEARTH_S:.2f}')")
else
    RESULTS+=("Syncthing: skipped ($(tail -1 "$WORK/syncthing.err"))")
    RATIO="n/a"
fi

echo
echo "Initial replication of $COUNT photos ($((BYTES / 1000000)) MB) over 127.0.0.1, page cache dropped before each copy when permitted:"
printf '%s\n' "${RESULTS[@]}"
echo "hearth vs Syncthing: ${RATIO}x faster (goal ≥ 2x)"
echo
echo "Catalog sync ($BIN/bench-sync --assets $ASSETS --edits $EDITS):"
"$BIN/bench-sync" --assets "$ASSETS" --edits "$EDITS"
