#!/usr/bin/env bash
# The streaming benchmark (release build): one printer at 115200 and 250000 baud, buffer 4
# and 8, with and without ADVANCED_OK, against the link's limit; then 32 printers through a
# real `gantry serve` with the simulators in `gantry-sim`, with the daemon's CPU and memory.
# Arguments go to gantry-bench (see `--help`), e.g. `scripts/bench.sh --fleet 0`.
# Exit status 2 means a target was missed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

cargo build --release -p gantry --bin gantry
cargo build --release -p printer --bin gantry-sim --bin gantry-bench

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec "$target_dir/release/gantry-bench" "$@"
