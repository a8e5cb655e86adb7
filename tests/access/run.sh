#!/usr/bin/env bash
# Remote Access Authentication in headless Chromium, from a network namespace, with a real OS
# account through PAM (tests/access/*.test.mjs). Needs root for the namespace and the account;
# without it the test is skipped with the reason. Prints `access: N passed, M failed` last.
#
# Environment: GANTRY_BIN (a built `gantry`; found in the cargo target dir when not set).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${GANTRY_BIN:-}" ]; then
  target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  GANTRY_BIN=$target_dir/debug/gantry
fi
export GANTRY_BIN
[ -x "$GANTRY_BIN" ] || { echo "access: $GANTRY_BIN is not built" >&2; echo "access: 0 passed, 1 failed"; exit 1; }
[ -d tests/e2e/node_modules/playwright-core ] || (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

set +e
output=$(node --test --test-reporter=tap tests/access/ 2>&1)
status=$?
set -e
echo "$output"
passed=$(echo "$output" | sed -n 's/^# pass \([0-9]*\)$/\1/p' | tail -1)
failed=$(echo "$output" | sed -n 's/^# fail \([0-9]*\)$/\1/p' | tail -1)
passed=${passed:-0}
failed=${failed:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "access: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
