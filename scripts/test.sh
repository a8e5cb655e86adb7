#!/usr/bin/env bash
# Installs what is missing and runs every test: formatting, lints, the Rust unit and
# integration tests (real SQLite files, real ptys, real daemons), and the browser tests
# in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_TERM_COLOR=never

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --locked --bins
cargo test --workspace --locked

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
GANTRY_BIN="$target_dir/debug/gantry" node --test tests/e2e/
