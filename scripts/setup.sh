#!/usr/bin/env bash
# Installs what Gantry needs on Debian 12 and is not there yet. Idempotent and quiet when
# everything is present. Usage: scripts/setup.sh run|desktop|test
#   run      what building and running the daemon needs
#   desktop  that, plus what the tray app needs (WebKitGTK, the appindicator library)
#   test     all of that, plus what the test suites need (Chromium, the e2e node modules)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}

run_packages=(pkg-config libudev-dev build-essential libdbus-1-dev)
desktop_packages=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev)
test_packages=(chromium fonts-dejavu-core iproute2 libpam-modules dbus-daemon gnome-keyring libsecret-tools python3-venv)

missing=()
want=("${run_packages[@]}")
case "$purpose" in
  desktop) want+=("${desktop_packages[@]}") ;;
  test) want+=("${desktop_packages[@]}" "${test_packages[@]}") ;;
esac
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: the Rust toolchain (cargo) is needed: https://rustup.rs" >&2
  exit 1
fi

if [ "$purpose" = test ]; then
  if ! command -v node >/dev/null; then
    echo "setup: Node.js (20 or newer) is needed for the browser tests" >&2
    exit 1
  fi
  if [ ! -d tests/e2e/node_modules/playwright-core ] || [ ! -d tests/e2e/node_modules/oidc-provider ]; then
    echo "setup: installing the browser-test modules" >&2
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
