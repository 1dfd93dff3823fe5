#!/usr/bin/env bash
# Shows Hearth working end to end on photos it generates itself:
# one node imports, lists, makes an album, exports and verifies; a second node joins by
# ticket over 127.0.0.1 and the two libraries converge, with an edit made on each side.
set -euo pipefail
HEARTH=${HEARTH:-.build/release/hearth}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-demo.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
A="$HEARTH --home $WORK/laptop"
B="$HEARTH --home $WORK/nas"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Generate 12 photos (with EXIF dates, GPS, orientation), a duplicate, a corrupt file and a note"
$HEARTH make-samples "$WORK/photos" --count 12 --width 2400 --height 1600
cp "$WORK/photos/$(ls "$WORK/photos" | head -1)" "$WORK/photos/copy-of-first.jpg"
head -c 5000 /dev/urandom > "$WORK/photos/broken.jpg"
echo "shopping list" > "$WORK/photos/notes.txt"

step "Create a node and import"
$A init --name laptop
$A import "$WORK/photos" || echo "(exit $?: some inputs failed, as expected: broken.jpg)"

step "List the library, newest first"
$A assets | head -8
FIRST=$($A assets --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
$A show "${FIRST:0:10}"

step "An album, a tag, a favorite"
$A album create "Summer"
$A album add "Summer" $($A assets --json | python3 -c 'import json,sys; print(" ".join(a["id"][:12] for a in json.load(sys.stdin)[:3]))')
$A tag add "${FIRST:0:10}" "Places/Japan"
$A favorite "${FIRST:0:10}"
$A album list
$A assets --album Summer

step "Export byte-identical originals, then verify the store"
$A export "${FIRST:0:10}" --to "$WORK/out"
ls -l "$WORK/out"
$A verify
$A status

step "A second node joins by ticket and syncs over 127.0.0.1"
$A serve --listen 127.0.0.1:0 --http off --port-file "$WORK/port" > "$WORK/serve.log" 2>&1 &
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
TICKET=$($A invite --address "127.0.0.1:$PORT" | tail -1)
$B join "$TICKET" --name nas
$B sync
$B assets | head -5

step "Edit on each side; both converge"
$B describe "${FIRST:0:10}" "Sunset from the NAS"
$A rate "${FIRST:0:10}" 5
$B sync
sleep 1.5
$A show "${FIRST:0:10}" | grep -Ei 'description|rating'
$B show "${FIRST:0:10}" | grep -Ei 'description|rating'
DA=$($A status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["catalogDigest"])')
DB=$($B status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["catalogDigest"])')
echo "laptop digest: $DA"
echo "nas digest:    $DB"
[ "$DA" = "$DB" ] && echo "converged." || { echo "NOT converged"; exit 1; }
