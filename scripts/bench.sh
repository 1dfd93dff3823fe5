#!/usr/bin/env bash
# Runs every benchmark; each prints its figures beside its anchor, as ratios from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
for p in bench-chunks bench-catalog bench-timeline bench-media hearth; do swift build -c release --product "$p"; done
BIN=$(swift build -c release --show-bin-path)
echo "== chunk store";  "$BIN/bench-chunks"
echo "== catalog";      "$BIN/bench-catalog" --assets "${CATALOG_ASSETS:-1000000}"
echo "== timeline";     "$BIN/bench-timeline" --assets "${TIMELINE_ASSETS:-100000}"
echo "== media";        "$BIN/bench-media"
echo "== import";       bash scripts/bench-import.sh
if [ -f scripts/bench-sync.sh ]; then echo "== sync"; bash scripts/bench-sync.sh; fi
