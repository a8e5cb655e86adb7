#!/usr/bin/env bash
# Installs what is missing, builds Gantry and runs it with two simulated printers.
# Open http://localhost:8008 to see them. Extra arguments go to `gantry serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
export CARGO_PROFILE_DEV_DEBUG=0
cargo build --release --locked -p gantry
data_dir=${GANTRY_DATA_DIR:-$PWD/.gantry-dev}
echo "Gantry: open http://localhost:${GANTRY_PORT:-8008} (data in $data_dir; Ctrl-C stops)" >&2
exec ./target/release/gantry --data-dir "$data_dir" serve --simulate 2 "$@"
