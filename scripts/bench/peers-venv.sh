#!/usr/bin/env bash
# Creates (idempotently) the Python venv holding the peer routing solvers used by
# scripts/bench/peers.py: pyvroom (VROOM), ortools (Google OR-Tools), elkai (LKH), and pyvrp
# (PyVRP, for scripts/bench/vrptw_side_by_side.py).
#
#   venv:    ${RUTA_PEERS_VENV:-$HOME/.cache/ruta/peers-venv}
#   python:  ${RUTA_PEERS_PYTHON:-python3.11 if present, else python3}  (used only to create it)
#   pins:    scripts/bench/requirements.txt  (wheels only: --only-binary=:all:)
#
# Progress goes to stderr; the last (only) line on stdout is the venv's python path, so
#   PY="$(scripts/bench/peers-venv.sh | tail -n1)"
# works. A warm run only compares a marker (hash of requirements.txt + base python version)
# and exits, well under a second. Delete the venv directory to force a clean rebuild.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="$here/requirements.txt"
venv="${RUTA_PEERS_VENV:-$HOME/.cache/ruta/peers-venv}"
marker="$venv/.ruta-peers-marker"
py="$venv/bin/python"

log() { printf 'peers-venv: %s\n' "$*" >&2; }

base="${RUTA_PEERS_PYTHON:-}"
if [ -z "$base" ]; then
  if command -v python3.11 >/dev/null 2>&1; then base=python3.11; else base=python3; fi
fi

req_hash="$(sha256sum "$req" | cut -d' ' -f1)"

# Warm path: the marker records what the venv was built from; matching means done.
if [ -x "$py" ] && [ -f "$marker" ]; then
  want="req=$req_hash py=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo none)"
  if [ "$(cat "$marker")" = "$want" ]; then
    echo "$py"
    exit 0
  fi
  log "marker differs from requirements; reinstalling"
fi

start=$(date +%s)
if [ ! -x "$py" ]; then
  log "creating venv at $venv with $base"
  mkdir -p "$(dirname "$venv")"
  "$base" -m venv "$venv"
fi

log "installing pinned wheels from $req"
# pip's own chatter to stderr so stdout stays clean.
"$py" -m pip install --disable-pip-version-check --no-input -q --only-binary=:all: -r "$req" 1>&2

# Smoke-import the solvers so a broken wheel fails here, not in the benchmark.
"$py" -c 'import vroom, elkai, pyvrp; from ortools.constraint_solver import pywrapcp' 1>&2

printf 'req=%s py=%s' "$req_hash" "$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')" >"$marker"
log "ready in $(( $(date +%s) - start )) s"
echo "$py"
