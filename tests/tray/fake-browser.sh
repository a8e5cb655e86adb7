#!/usr/bin/env bash
# $BROWSER for the tray test: records every URL the tray opens (one per line in
# $BROWSER_LOG) and, while the file $BROWSER_LOG.chromium exists, also shows it in Chromium
# on the test's X display, as a person's browser would.
set -euo pipefail
url=${1:?usage: fake-browser.sh URL}
printf '%s\n' "$url" >> "${BROWSER_LOG:?BROWSER_LOG must be set}"
if [ -e "$BROWSER_LOG.chromium" ]; then
  profile=$(mktemp -d "$(dirname "$BROWSER_LOG")/chromium.XXXXXX")
  # Root needs --no-sandbox (--test-type hides the bar warning about it); the rest keeps a
  # throwaway profile quiet and offline.
  setsid chromium --no-sandbox --test-type --user-data-dir="$profile" --no-first-run --no-default-browser-check \
    --disable-background-networking --disable-component-update --disable-sync --password-store=basic \
    --disable-gpu --window-position=0,0 --window-size=1280,800 --new-window "$url" \
    > "$profile.log" 2>&1 < /dev/null &
  echo "$!" >> "$BROWSER_LOG.pids"
fi
