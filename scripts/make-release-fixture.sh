#!/usr/bin/env bash
# Makes Tests/Fixtures/release-6847644/: a hearth HOME directory (home/) written by release
# 6847644 (the last release before schema migrations), so the upgrade test can open a library
# exactly as a user of that release left it.
#
# The library: 4 small generated photos, an album of two, a tag, a description, a rating and one
# photo in the trash. Every value the test checks is in Tests/Fixtures/release-6847644/expect.json.
#
# Usage: scripts/make-release-fixture.sh [path/to/release-6847644/hearth]
# Without an argument the binary comes from `make previous-release`.
set -euo pipefail
cd "$(dirname "$0")/.."
HEARTH=${1:-}
if [ -z "$HEARTH" ]; then
  HEARTH=$(make -s previous-release | tail -1)
fi
[ -x "$HEARTH" ] || { echo "no executable at $HEARTH" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-fixture.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
H="$HEARTH --home $WORK/home"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

$HEARTH make-samples "$WORK/photos" --count 4 --width 320 --height 240 >/dev/null
$H init --name release-node >/dev/null
$H import "$WORK/photos" >/dev/null
IDS=$($H assets --json | json '" ".join(a["id"] for a in d)')
set -- $IDS
[ $# -eq 4 ] || { echo "expected 4 assets, got $#" >&2; exit 1; }
A1=$1 A2=$2 A3=$3 A4=$4
$H album create "Summer" >/dev/null
$H album add "Summer" "${A1:0:12}" "${A2:0:12}" >/dev/null
$H tag add "${A1:0:12}" "Places/Japan" >/dev/null
$H describe "${A2:0:12}" "Written by release 6847644" >/dev/null
$H rate "${A2:0:12}" 4 >/dev/null
$H trash "${A4:0:12}" >/dev/null
$H verify >/dev/null

# What the test expects to read back (the release's own view of its library).
python3 - "$A1" "$A2" "$A3" "$A4" > "$WORK/expect.json" <<'PY'
import json, sys
a1, a2, a3, a4 = sys.argv[1:]
print(json.dumps({
    "release": "6847644",
    "library": [a1, a2, a3],
    "trashed": [a4],
    "album": {"name": "Summer", "assets": sorted([a1, a2])},
    "tag": {"asset": a1, "tag": "Places/Japan"},
    "description": {"asset": a2, "text": "Written by release 6847644"},
    "rating": {"asset": a2, "stars": 4},
}, indent=2))
PY
# The WAL is checkpointed when the last connection closes; nothing else is left open.
rm -f "$WORK"/home/*.pid
ls "$WORK"/home/libraries/*-wal "$WORK"/home/chunks/*-wal 2>/dev/null && { echo "a WAL file was left behind" >&2; exit 1; }
OUT=Tests/Fixtures/release-6847644
rm -rf "$OUT"
mkdir -p "$OUT"
cp -R "$WORK/home" "$OUT/home"
cp "$WORK/expect.json" "$OUT/expect.json"
du -sh "$OUT"
find "$OUT" -type f | sort
