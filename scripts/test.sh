#!/usr/bin/env bash
# Installs what is missing and runs every test: formatting, lints, the Rust unit, property and
# integration tests (real SQLite files, real ptys, real daemons, a real Secret Service, a real
# OpenID provider), the browser tests in headless Chromium, the remote-access tests from a
# network namespace with a real OS user through PAM, and the tray app under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_TERM_COLOR=never

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --locked --bins
cargo test --workspace --locked

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export GANTRY_BIN="$target_dir/debug/gantry"
bash crates/gantry/tests/cloud/run.sh
bash tests/access/run.sh
bash tests/octoprint/run.sh
bash tests/tray/run.sh
# Packaging needs a release build of everything (minutes): opt in with GANTRY_PACKAGING=1.
if [ -n "${GANTRY_PACKAGING:-}" ]; then bash tests/packaging/run.sh; fi
node --test tests/e2e/
