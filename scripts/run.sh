#!/usr/bin/env bash
# Installs what is missing, builds Gantry and runs it with two simulated printers: the tray
# app where there is a display, else the headless daemon. Open http://localhost:8008 to see
# them (the tray app opens it for you). Extra arguments go to Gantry.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_DEV_DEBUG=0
data_dir=${GANTRY_DATA_DIR:-$PWD/.gantry-dev}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  bash scripts/setup.sh desktop
  cargo build --release --locked -p gantry-tray
  echo "Gantry: the tray app opens http://localhost:${GANTRY_PORT:-8008} (data in $data_dir)" >&2
  exec "$target_dir/release/gantry-tray" --data-dir "$data_dir" --simulate 2 "$@"
fi
bash scripts/setup.sh run
cargo build --release --locked -p gantry
echo "Gantry: open http://localhost:${GANTRY_PORT:-8008} (data in $data_dir; Ctrl-C stops)" >&2
exec "$target_dir/release/gantry" --data-dir "$data_dir" serve --simulate 2 "$@"
