#!/usr/bin/env bash
# Generates the offline basemap for the map view: vector tiles (MVT, gzip) of the Helsinki
# OpenStreetMap extract in one MBTiles file, data/tiles/helsinki.mbtiles, with the project's
# own tilemaker profile (scripts/tiles/config.json + process.lua: roads by class, railway,
# water, green areas, buildings, place names; zooms 10-14, MapLibre overzooms beyond).
#
# Idempotent: does nothing when the MBTiles file is newer than the extract and the profile.
# Installs tilemaker and osmium-tool from Debian when missing. Run scripts/fetch-osm.sh first.
# Takes a few seconds; the file is about 125 KiB.
#
# Data (c) OpenStreetMap contributors, ODbL 1.0. See data/osm/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PBF=data/osm/Helsinki.osm.pbf
OUT=data/tiles/helsinki.mbtiles
PROFILE=(scripts/tiles/config.json scripts/tiles/process.lua scripts/tiles/clip-refs.py)

log() { printf '\033[1;36mmake-tiles:\033[0m %s\n' "$*" >&2; }

if [ ! -f "$PBF" ]; then
  echo "make-tiles: $PBF is missing; run scripts/fetch-osm.sh first" >&2
  exit 1
fi

up_to_date=1
if [ ! -f "$OUT" ]; then up_to_date=0; fi
for input in "$PBF" "${PROFILE[@]}" "$0"; do
  if [ "$up_to_date" = 1 ] && [ "$input" -nt "$OUT" ]; then up_to_date=0; fi
done
if [ "$up_to_date" = 1 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
MISSING=()
command -v tilemaker >/dev/null || MISSING+=(tilemaker)
command -v osmium >/dev/null || MISSING+=(osmium-tool)
if [ "${#MISSING[@]}" -gt 0 ]; then
  log "installing Debian packages: ${MISSING[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -q
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${MISSING[@]}"
fi

mkdir -p "$(dirname "$OUT")"
TMP=$(mktemp -d)
# Written next to the destination, so the final rename is atomic (same filesystem).
PART="$OUT.part.$$.mbtiles"
trap 'rm -rf "$TMP"; rm -f "$PART"' EXIT

start=$(date +%s.%N)
# The extract is clipped: drop references to nodes and ways it lacks (tilemaker 2.2 aborts on
# them even with --skip-integrity).
osmium cat "$PBF" -f opl -o "$TMP/in.opl" --no-progress
python3 scripts/tiles/clip-refs.py "$TMP/in.opl" "$TMP/clipped.opl"
osmium cat "$TMP/clipped.opl" -o "$TMP/clipped.osm.pbf" --no-progress
tilemaker --input "$TMP/clipped.osm.pbf" --output "$PART" \
  --config scripts/tiles/config.json --process scripts/tiles/process.lua >"$TMP/tilemaker.log" 2>&1 \
  || { cat "$TMP/tilemaker.log" >&2; exit 1; }
mv -f "$PART" "$OUT"
end=$(date +%s.%N)
log "wrote $OUT ($(stat -c %s "$OUT") bytes) in $(python3 -c "print(f'{$end - $start:.1f}')") s"
