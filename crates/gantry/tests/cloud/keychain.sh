#!/bin/sh
# Runs inside `dbus-run-session` with a fresh gnome-keyring: `gantry login` must put the token
# in the Secret Service (no file), a daemon must find it there, link its printer and keep the
# printer's token there too, and `gantry logout` must remove them all. Prints one
# `step: result` line per check.
# Usage: keychain.sh GANTRY_BIN DATA_DIR CLOUD_URL EMAIL   (password on stdin)
set -u
bin=$1 data=$2 cloud=$3 email=$4
printf '%s' unlock-for-tests | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
GANTRY_SECRETS=keychain "$bin" --data-dir "$data" login --email "$email" --cloud-url "$cloud" || echo "login: failed"
[ -e "$data/secrets.json" ] && echo "file: present" || echo "file: absent"
service="Gantry $(cd "$data" && pwd -P)"
secret-tool lookup service "$service" username user_token >/dev/null 2>&1 && echo "keychain: stored" || echo "keychain: missing"
GANTRY_SECRETS=keychain "$bin" --data-dir "$data" serve --port 0 --simulate 1 >"$data/../serve.log" 2>&1 &
serve=$!
linked=no
for _ in $(seq 1 300); do
  if "$bin" --data-dir "$data" status 2>/dev/null | grep -q "printer 1: linked"; then linked=yes; break; fi
  sleep 0.2
done
echo "daemon: linked=$linked"
"$bin" --data-dir "$data" status | grep "tokens are kept"
secret-tool lookup service "$service" username printer_tokens >/dev/null 2>&1 && echo "printer tokens: stored" || echo "printer tokens: missing"
[ -e "$data/secrets.json" ] && echo "file after linking: present" || echo "file after linking: absent"
"$bin" --data-dir "$data" logout >/dev/null || echo "logout: failed"
kill "$serve"; wait "$serve"
secret-tool lookup service "$service" username user_token >/dev/null 2>&1 && echo "after logout: stored" || echo "after logout: removed"
secret-tool lookup service "$service" username printer_tokens >/dev/null 2>&1 && echo "printer tokens after logout: stored" || echo "printer tokens after logout: removed"
