#!/usr/bin/env bash
# Installs everything Ruta needs on a Debian 12 machine, idempotently and without prompts.
# Called by `cargo xtask demo` and `cargo xtask test`; safe to run by hand. Each step checks
# first and does nothing when its tool is already present, so a warm run takes a second or two.
#
#   - Debian packages: Tauri's system libraries, Chromium, Xvfb, WebKitWebDriver, ImageMagick
#   - the wasm32-unknown-unknown target (fallback: Debian's rustc-web + build-std, see below)
#   - wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock
#   - npm tools from package-lock.json: the Tauri CLI, playwright-core, binaryen's wasm-opt,
#     MapLibre GL JS
#   - the Helsinki OSM extract and the vector tiles made from it (scripts/make-tiles.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;36msetup:\033[0m %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  # Tauri 2 on Linux (webkit2gtk 4.1)
  build-essential pkg-config file libssl-dev
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  librsvg2-dev libayatana-appindicator3-dev libxdo-dev
  # browser and window tests
  chromium xvfb xauth webkit2gtk-driver imagemagick xdotool
  # TSPLIB instances with proven optima (routing tests and benchmarks)
  glpk-utils
  # PDF checks in tests (pdftotext, pdftoppm)
  poppler-utils
  # Node for the npm tools
  nodejs npm
)

missing_apt() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      printf '%s\n' "$pkg"
    fi
  done
}

# Node and npm may come from elsewhere (nodesource, a preinstalled image): don't fight them.
if command -v node >/dev/null && command -v npm >/dev/null; then
  APT_PACKAGES=("${APT_PACKAGES[@]/nodejs}")
  APT_PACKAGES=("${APT_PACKAGES[@]/npm}")
fi
mapfile -t MISSING < <(missing_apt | grep -v '^$' || true)
if [ "${#MISSING[@]}" -gt 0 ]; then
  log "installing Debian packages: ${MISSING[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -q
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${MISSING[@]}"
fi

# The wasm32 target. Prefer rustup's; if it cannot be fetched, fall back to Debian's rustc-web
# with the std sources and build-std (recorded in .ruta-wasm-toolchain for xtask to pick up).
WASM_TOOLCHAIN_FILE="target-wasm-toolchain.env" # read by xtask/src/ui.rs
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rm -f "$WASM_TOOLCHAIN_FILE"
elif rustup target add wasm32-unknown-unknown; then
  rm -f "$WASM_TOOLCHAIN_FILE"
else
  log "rustup cannot fetch wasm32-unknown-unknown; falling back to Debian rustc-web + build-std"
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q rustc-web cargo-web rust-web-src lld-22
  cat > "$WASM_TOOLCHAIN_FILE" <<'ENV'
RUTA_WASM_CARGO=/usr/bin/cargo-web
RUSTC_BOOTSTRAP=1
RUTA_WASM_BUILD_STD=1
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
ENV
fi

# wasm-bindgen-cli must match the wasm-bindgen crate exactly.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$WB_VERSION" ]; then
  echo "setup: cannot find wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  log "installing wasm-bindgen-cli $WB_VERSION (about 3-4 minutes, once)"
  cargo install --quiet wasm-bindgen-cli --version "=$WB_VERSION" --force
fi

# npm tools, pinned by package-lock.json where the registry allows. Never `playwright install`: Chromium comes from Debian.
if [ ! -x node_modules/.bin/tauri ] || [ ! -x node_modules/.bin/wasm-opt ] \
   || [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/@automerge/automerge-repo-network-websocket ] \
   || [ ! -d node_modules/maplibre-gl ] || [ ! -d node_modules/@automerge/automerge-repo-storage-nodefs ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm tools (tauri cli, playwright-core, binaryen)"
  # `npm install`, not `npm ci`: the registry mirror's lockfiles omit the optional
  # per-platform packages of @tauri-apps/cli, which `npm ci` rejects as "out of sync".
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
fi

# The OpenStreetMap extract for the road graph (checked by sha256; a no-op when present).
bash scripts/fetch-osm.sh

# The offline basemap for the map view, generated from that extract (a no-op when up to date).
bash scripts/make-tiles.sh

log "ready"
