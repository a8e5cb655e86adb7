#!/usr/bin/env bash
# The cloud link's browser test (the Client Cloud Login page). The Rust side runs in
# `cargo test` (tests/cloud.rs). Usage: GANTRY_BIN=path/to/gantry tests/cloud/run.sh
set -uo pipefail
cd "$(dirname "$0")"
output=$(node --test --test-reporter=tap page.test.mjs 2>&1)
status=$?
echo "$output"
passed=$(grep -c '^ok ' <<<"$output" || true)
failed=$(grep -c '^not ok ' <<<"$output" || true)
echo "cloud: $passed passed, $failed failed"
exit $status
