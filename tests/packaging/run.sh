#!/usr/bin/env bash
# Installs the two .deb packages from scripts/package.sh on this machine, checks what they
# put in place, runs the daemon (through systemd where systemd runs; else the unit's
# ExecStart as its service user, as systemd would) until port 8008 answers, runs the
# installed tray app under Xvfb until its tray item shows, then purges both and checks
# nothing is left. Also checks the Windows installer configuration (tests/packaging/installers.py).
# Prints timings and `packaging: N passed, M failed` last. Needs root (dpkg).
#
#   tests/packaging/run.sh [DIR]   # DIR holds the .debs; built with scripts/package.sh if absent
set -uo pipefail
cd "$(dirname "$0")/../.."
passed=0 failed=0
check() { # check NAME COMMAND...
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); echo "ok   $name"
  else failed=$((failed + 1)); echo "FAIL $name"; fi
}
finish() {
  for t in "${timings[@]}"; do echo "timing: $t"; done
  echo "packaging: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?
}

for tool in curl setpriv dpkg-deb systemd-analyze xvfb-run dbus-run-session; do
  command -v "$tool" >/dev/null || { echo "packaging: $tool is needed"; exit 1; }
done
timings=()
timed() { # timed LABEL SECONDS
  timings+=("$1: $2 s"); echo "     ($1 took $2 s)"
}

if python3 tests/packaging/installers.py > /tmp/gantry-packaging-installers.log 2>&1; then
  check "the Windows installer configuration (installers.py)" true
else
  check "the Windows installer configuration (installers.py)" false
  grep -v '^ok' /tmp/gantry-packaging-installers.log
fi

dir=${1:-}
if [ -z "$dir" ]; then
  started=$SECONDS
  dir=$(bash scripts/package.sh | tail -n 1) || { echo "FAIL scripts/package.sh"; failed=1; finish; }
  timed "building both packages (scripts/package.sh)" $((SECONDS - started))
fi
desktop=$(ls "$dir"/Gantry_*.deb 2>/dev/null | head -n 1)
daemon=$(ls "$dir"/gantry-daemon_*.deb 2>/dev/null | head -n 1)
check "both packages were built" test -f "$desktop" -a -f "$daemon"
[ "$failed" -eq 0 ] || finish

check "the desktop package depends on the appindicator library" \
  sh -c "dpkg-deb -f '$desktop' Depends | grep -q libayatana-appindicator3-1"
check "the desktop package is named gantry" sh -c "[ \"\$(dpkg-deb -f '$desktop' Package)\" = gantry ]"

started=$SECONDS
dpkg -i "$desktop" "$daemon" > /tmp/gantry-packaging-install.log 2>&1
rc=$?
timed "dpkg -i of both" $((SECONDS - started))
check "dpkg -i installs both" test "$rc" -eq 0
[ "$rc" -eq 0 ] || cat /tmp/gantry-packaging-install.log
check "both are fully installed" sh -c "[ \"\$(dpkg-query -W -f='\${Status}\n' gantry gantry-daemon | grep -c 'install ok installed')\" = 2 ]"
check "the tray binary runs (its --version)" /usr/bin/gantry-tray --version
check "the tray has a desktop entry" sh -c 'ls /usr/share/applications/ | grep -qi gantry'
check "the daemon binary runs (its --version)" /usr/bin/gantry --version
check "system user gantry exists" id gantry
check "gantry is in dialout" sh -c 'id -nG gantry | tr " " "\n" | grep -qx dialout'
check "gantry has no login shell" sh -c '[ "$(getent passwd gantry | cut -d: -f7)" = /usr/sbin/nologin ]'
check "data dir /var/lib/gantry belongs to gantry" sh -c '[ "$(stat -c %U:%a /var/lib/gantry)" = gantry:750 ]'
check "the systemd unit is installed" test -f /usr/lib/systemd/system/gantry.service
check "the unit is enabled for boot" test -L /etc/systemd/system/multi-user.target.wants/gantry.service
check "systemd-analyze accepts the unit" sh -c 'systemd-analyze verify /usr/lib/systemd/system/gantry.service 2>&1 | grep -v -e "Failed to set fd limit" -e "Cannot add dependency" | grep -q . && exit 1 || exit 0'
check "the unit is hardened" sh -c 'grep -q "^NoNewPrivileges=yes" /usr/lib/systemd/system/gantry.service && grep -q "^ProtectSystem=strict" /usr/lib/systemd/system/gantry.service'
check "udev rules for printer boards are installed" sh -c 'grep -q 2c99 /usr/lib/udev/rules.d/70-gantry-printers.rules'
check "the PAM service file is installed" grep -q pam_unix.so /etc/pam.d/gantry

# Where systemd runs, the package started the service: it must answer on 8008.
if [ -d /run/systemd/system ]; then
  answered=
  for _ in $(seq 1 150); do
    if curl -fsS http://127.0.0.1:8008/api/v1/status -o /tmp/gantry-packaging-status.json 2>/dev/null; then answered=1; break; fi
    sleep 0.2
  done
  check "systemd runs the service and it serves port 8008" sh -c "systemctl is-active --quiet gantry && [ -n '$answered' ]"
  check "it runs as gantry with its data in /var/lib/gantry" grep -q '"data_dir": *"/var/lib/gantry"' /tmp/gantry-packaging-status.json
  check "its database is in /var/lib/gantry, owned by gantry" sh -c '[ "$(stat -c %U /var/lib/gantry/gantry.db)" = gantry ]'
  check "it stops cleanly through systemd" systemctl stop gantry
  [ "$failed" -eq 0 ] || journalctl -u gantry --no-pager -n 30
fi

# Without systemd (containers, this machine): run the unit's ExecStart as its User with its
# SupplementaryGroups, as systemd would.
exec_start=$(sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/gantry.service)
groups=$(sed -n 's/^SupplementaryGroups=//p' /usr/lib/systemd/system/gantry.service | tr ' ' ',')
if [ -d /run/systemd/system ]; then
  :
elif (exec 3<>/dev/tcp/127.0.0.1/8008) 2>/dev/null; then
  echo "FAIL port 8008 is already in use on this machine; cannot check the daemon on it"
  failed=$((failed + 1))
else
  log=$(mktemp)
  # shellcheck disable=SC2086 # ExecStart is a command line
  setpriv --reuid=gantry --regid=gantry --groups="$groups" --reset-env --no-new-privs $exec_start > "$log" 2>&1 &
  pid=$!
  started=$SECONDS
  answered=
  for _ in $(seq 1 150); do  # up to 30 s, but returns as soon as it answers
    if curl -fsS http://127.0.0.1:8008/api/v1/status -o /tmp/gantry-packaging-status.json 2>/dev/null; then answered=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  check "the unit's ExecStart serves port 8008" test -n "$answered"
  [ -n "$answered" ] && timed "the daemon answering on 8008" $((SECONDS - started))
  check "it runs as gantry with its data in /var/lib/gantry" grep -q '"data_dir": *"/var/lib/gantry"' /tmp/gantry-packaging-status.json
  check "its database is in /var/lib/gantry, owned by gantry" sh -c '[ "$(stat -c %U /var/lib/gantry/gantry.db)" = gantry ]'
  kill -TERM "$pid" 2>/dev/null
  wait "$pid"; code=$?
  check "it stops cleanly on SIGTERM" test "$code" -eq 0
  [ "$failed" -eq 0 ] || { echo "--- daemon log"; tail -n 30 "$log"; }
  rm -f "$log"
fi

# The installed tray app, on a desktop: Xvfb, a private session bus, a panel (tests/tray).
venv=tests/tray/.venv
if ! "$venv/bin/python" -c 'import dbus_next' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check -r tests/tray/requirements.txt
fi
started=$SECONDS
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" dbus-run-session -- \
  "$venv/bin/python" tests/packaging/tray_item.py /usr/bin/gantry-tray > /tmp/gantry-packaging-tray.log 2>&1
rc=$?
check "the installed tray app shows its tray item, lists a printer and quits from its menu" test "$rc" -eq 0
timed "the installed tray app, start to Quit" $((SECONDS - started))
[ "$rc" -eq 0 ] || cat /tmp/gantry-packaging-tray.log

files=$(dpkg -L gantry gantry-daemon | sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done)
started=$SECONDS
dpkg --purge gantry gantry-daemon > /tmp/gantry-packaging-purge.log 2>&1
timed "dpkg --purge of both" $((SECONDS - started))
check "dpkg --purge removes both" sh -c '! dpkg-query -W -f="\${Status}\n" gantry gantry-daemon 2>/dev/null | grep -q installed'
left=$(for f in $files; do [ -e "$f" ] && echo "$f"; done)
check "no packaged file is left behind" test -z "$left"
[ -z "$left" ] || echo "     left: $left"
check "purge removed /var/lib/gantry" test ! -e /var/lib/gantry
check "purge removed the gantry user" sh -c '! id gantry'
check "purge removed the boot link" test ! -e /etc/systemd/system/multi-user.target.wants/gantry.service
finish
