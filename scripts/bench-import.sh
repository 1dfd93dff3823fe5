#!/usr/bin/env bash
# Import benchmark: `hearth import` against the tools a user would otherwise run, on the same
# generated 12-megapixel JPEGs, in one run, printed as ratios (medians of RUNS runs).
#   1. originals + metadata only (--no-thumbnails) vs. `b2sum` + `cp` of the same files
#   2. full ingest (hash, store, metadata, thumbnail, preview) vs. the per-photo pipeline
#      Immich runs: `exiftool -json -n` + two `vips thumbnail` processes, 2 photos in parallel
# Usage: scripts/bench-import.sh [COUNT]   (default 100 photos; RUNS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-100}
RUNS=${RUNS:-3}
swift build -c release --product hearth >/dev/null
HEARTH="$(swift build -c release --show-bin-path)/hearth"
DATA=${BENCH_DATA:-/tmp/hearth-bench-photos-$COUNT}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ ! -f "$DATA/.complete" ]; then
  echo "generating $COUNT 4000x3000 photos in $DATA (cached for later runs)"
  rm -rf "$DATA"; "$HEARTH" make-samples "$DATA" --count "$COUNT" --width 4000 --height 3000 >/dev/null
  touch "$DATA/.complete"
fi
MB=$(du -sm --exclude=.complete "$DATA" | cut -f1)
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # label, command...
  local times=()
  for i in $(seq "$RUNS"); do
    rm -rf "$WORK/run"; mkdir -p "$WORK/run"
    sync; local t0; t0=$(now)
    "$@" >/dev/null 2>&1 || true
    times+=("$(echo "$(now) - $t0" | bc)")
  done
  printf '%s\n' "${times[@]}" | median
}
ours_plain=$(run env HEARTH_HOME="$WORK/run/h" sh -c "'$HEARTH' init >/dev/null && '$HEARTH' import --no-thumbnails '$DATA'")
anchor_plain=$(run sh -c "b2sum -l 256 '$DATA'/*.jpg >/dev/null && cp -r '$DATA' '$WORK/run/copy'")
ours_full=$(run env HEARTH_HOME="$WORK/run/h" sh -c "'$HEARTH' init >/dev/null && '$HEARTH' import '$DATA'")
anchor_full=""
if command -v exiftool >/dev/null && command -v vips >/dev/null; then
  anchor_full=$(run sh -c "ls '$DATA'/*.jpg | xargs -P 2 -I{} sh -c 'exiftool -json -n {} >/dev/null; \
    vips thumbnail {} $WORK/run/\$(basename {}).p.jpg 1920 --height 1440 --size down >/dev/null; \
    vips thumbnail {} $WORK/run/\$(basename {}).t.webp 333 --height 250 --size down >/dev/null'")
fi
rate() { echo "scale=1; $1 / $2" | bc; }
echo
echo "import benchmark: $COUNT photos, $MB MB, median of $RUNS runs, $(nproc) cores"
printf '%-52s %8s %10s %10s\n' "pipeline" "seconds" "photos/s" "MB/s"
printf '%-52s %8.2f %10s %10s\n' "hearth import --no-thumbnails" "$ours_plain" "$(rate "$COUNT" "$ours_plain")" "$(rate "$MB" "$ours_plain")"
printf '%-52s %8.2f %10s %10s\n' "b2sum + cp (anchor)" "$anchor_plain" "$(rate "$COUNT" "$anchor_plain")" "$(rate "$MB" "$anchor_plain")"
echo "ratio hearth/anchor (throughput): $(echo "scale=2; $anchor_plain / $ours_plain" | bc)"
printf '%-52s %8.2f %10s %10s\n' "hearth import (thumbnail + preview)" "$ours_full" "$(rate "$COUNT" "$ours_full")" "$(rate "$MB" "$ours_full")"
if [ -n "$anchor_full" ]; then
  printf '%-52s %8.2f %10s %10s\n' "exiftool + 2x vips thumbnail per photo, 2 parallel" "$anchor_full" "$(rate "$COUNT" "$anchor_full")" "$(rate "$MB" "$anchor_full")"
  echo "ratio hearth/per-photo pipeline (throughput): $(echo "scale=2; $anchor_full / $ours_full" | bc)"
else
  echo "(per-photo pipeline anchor skipped: install libvips-tools and libimage-exiftool-perl)"
fi
