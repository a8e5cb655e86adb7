#!/usr/bin/env bash
# The tray app end to end, headless: Xvfb + a private D-Bus session + a fake desktop panel
# and notification server (tray_test.py) that reads and clicks the app's real tray menu and
# records its notifications; the account items sign in to the test cloud
# (crates/gantry/tests/cloud/server.mjs). Installs what it needs (Debian packages, a Python
# venv with dbus-next), idempotently, checks the Windows installer configuration
# (tests/packaging/installers.py), then builds the app.
# Prints `tray: N passed, M failed` last.
#
#   tests/tray/run.sh                       # the test
#   tests/tray/run.sh --screenshot FILE     # also Chromium opened by *Open dashboard*, saved as FILE
#
# Environment: CARGO_TARGET_DIR (where the app is built; the workspace's target by default),
# GANTRY_BIN (the `gantry` daemon for the attach test and `gantry login`; the one built here
# when not set).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
screenshot=
if [ "${1:-}" = --screenshot ]; then
  screenshot=$(realpath -m "${2:?--screenshot needs a file}")
fi

# Building the app needs webkit2gtk and the appindicator library (dlopened at run time);
# the test needs an X server, a session bus, ImageMagick, xwininfo, xdotool (to answer a
# dialog), Chromium and venv.
packages=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev libdbus-1-dev pkg-config build-essential
          xvfb xauth dbus x11-utils xdotool imagemagick chromium python3-venv)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "tray: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv=$root/tests/tray/.venv
if ! "$venv/bin/python" -c 'import dbus_next' 2>/dev/null; then
  echo "tray: creating the Python venv (dbus-next)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/tray/requirements.txt
fi

# The tray's installers for Windows cannot be built here; their configuration is checked
# (the Tauri CLI's schema, the MSI template rendered and validated as XML).
if [ ! -x node_modules/.bin/tauri ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
installers_status=0
installers_log=$(mktemp)
python3 tests/packaging/installers.py > "$installers_log" 2>&1 || installers_status=$?
grep -v '^ok' "$installers_log" || true  # the failures, if any, and the summary line
rm -f "$installers_log"

export CARGO_PROFILE_DEV_DEBUG=0
manifest=src-tauri/Cargo.toml
nice -n 10 cargo build --locked --manifest-path "$manifest" --bin gantry-tray
# The daemon too, for the test that attaches the tray to a running `gantry serve`.
nice -n 10 cargo build --locked --manifest-path "$manifest" -p gantry --bin gantry
target_dir=$(cargo metadata --format-version 1 --no-deps --manifest-path "$manifest" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export APP=$target_dir/debug/gantry-tray
if [ -z "${GANTRY_BIN:-}" ] && [ -x "$target_dir/debug/gantry" ]; then
  export GANTRY_BIN=$target_dir/debug/gantry
fi
# The test cloud (and its OpenID provider) that the account items sign in to; it needs the
# browser tests' node modules (oidc-provider).
if command -v node >/dev/null && [ ! -d tests/e2e/node_modules/oidc-provider ]; then
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
export TEST_CLOUD=$root/crates/gantry/tests/cloud/server.mjs
# Cloud tokens go to the service's private file in the test's data dir, never to a keychain.
export GANTRY_SECRETS=file
export BROWSER=$root/tests/tray/fake-browser.sh
export SCREENSHOT=$screenshot
# A private bus: nothing from the host's session leaks in, and everything it started
# (a11y services) ends with it. No dbus-x11 autolaunch: the address is always set.
tray_status=0
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  dbus-run-session -- "$venv/bin/python" tests/tray/tray_test.py || tray_status=$?
[ "$tray_status" -eq 0 ] && [ "$installers_status" -eq 0 ]
