#!/usr/bin/env bash
# The upload benchmark (release build): a PrusaSlicer-shaped G-code file (500 MB unless
# `--size-mb N`) streamed over loopback into a real `gantry serve`, through the dashboard's
# `/api/v1/files` and the OctoPrint-compatible `/api/files/local`, with the daemon's CPU time
# and memory during each upload, and the metadata scan's rate. Prints figures, asserts none.
# Example: `scripts/bench-upload.sh --size-mb 100`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

exec cargo bench -p gantry --bench upload -- "$@"
