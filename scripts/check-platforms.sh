#!/usr/bin/env bash
# Type-checks the Windows and macOS builds from Linux, as far as a Linux machine can: clippy
# with -D warnings for Windows (x86_64-pc-windows-gnu; every crate the tray app and the
# daemon are built from, with their binaries) and for macOS (the crates without C
# dependencies, which would need Apple's SDK). Installs the Rust targets and MinGW's C
# compiler when missing. Nothing is linked; the release workflow builds the real bundles.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never CARGO_PROFILE_DEV_DEBUG=0

for target in x86_64-pc-windows-gnu x86_64-apple-darwin; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done
command -v x86_64-w64-mingw32-gcc >/dev/null || apt-get install -y -q gcc-mingw-w64-x86-64

echo "== Windows"
cargo clippy --target x86_64-pc-windows-gnu -p marlin -p gcode -p printer -p tray-model \
  -p gantry -p gantry-tray --lib -- -D warnings
cargo clippy --target x86_64-pc-windows-gnu -p gantry -p gantry-tray --bins -- -D warnings
echo "== macOS"
cargo clippy --target x86_64-apple-darwin -p marlin -p gcode -p printer -p tray-model \
  --lib -- -D warnings
echo "Windows and macOS checks passed"
