#!/usr/bin/env bash
# Drives Gantry's OctoPrint-compatible API with a real third-party OctoPrint client library
# from PyPI (octorest), against `gantry serve --simulate 1`: app-key approval through the
# real flow, upload, select-and-print, pause/resume/cancel, G-code, wrong and revoked keys.
# Prints `octoprint: N passed, M failed` last; exits non-zero when anything failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ -z "${GANTRY_BIN:-}" ]; then
  (cd "$root" && cargo build --quiet -p gantry --bin gantry)
  target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  GANTRY_BIN="$target_dir/debug/gantry"
fi
export GANTRY_BIN

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import octorest' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

exec "$venv/bin/python" "$here/client_test.py"
