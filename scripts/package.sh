#!/usr/bin/env bash
# Builds Gantry's two Linux packages, offline:
#   gantry         the desktop tray app (Tauri's .deb: binary, .desktop entry, icons,
#                  printer udev rules; depends on webkit2gtk and the appindicator library)
#   gantry-daemon  the headless service: /usr/bin/gantry, a hardened systemd unit, the
#                  `gantry` system user in dialout, udev rules, the PAM service file
# Both end up in <target dir>/packages/, whose path is printed last.
# A release build of each: several minutes on two cores the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

packages=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev libdbus-1-dev libudev-dev pkg-config
          build-essential file dpkg-dev)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "package: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -x node_modules/.bin/tauri ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# Build steps below never download: crates come from the local cache (`cargo fetch` once).
export CARGO_NET_OFFLINE=true
target_dir=$(cargo metadata --format-version 1 --no-deps --manifest-path src-tauri/Cargo.toml \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
out=$target_dir/packages
rm -rf "$out" && mkdir -p "$out"
arch=$(dpkg --print-architecture)
version=$(cargo metadata --format-version 1 --no-deps --manifest-path crates/gantry/Cargo.toml \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="gantry"))')

# --- the desktop app, bundled by Tauri ---
started=$SECONDS
npx tauri build --bundles deb --ci
cp "$target_dir"/release/bundle/deb/Gantry_*_"$arch".deb "$out/"
echo "package: desktop .deb in $((SECONDS - started)) s" >&2

# --- the daemon, staged and packed with dpkg-deb ---
started=$SECONDS
# Through src-tauri's manifest, so the release dependencies the tray build just made are reused.
cargo build --release --locked --manifest-path src-tauri/Cargo.toml -p gantry --bin gantry
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/gantry-daemon
install -D -m 0755 "$target_dir/release/gantry" "$pkg/usr/bin/gantry"
install -D -m 0644 installers/linux/gantry.service "$pkg/usr/lib/systemd/system/gantry.service"
install -D -m 0644 installers/linux/70-gantry-printers.rules "$pkg/usr/lib/udev/rules.d/70-gantry-printers.rules"
install -D -m 0644 installers/linux/pam.d/gantry "$pkg/etc/pam.d/gantry"
install -D -m 0644 /dev/stdin "$pkg/usr/share/doc/gantry-daemon/copyright" <<'COPYRIGHT'
Gantry — drive your 3D printers from a browser, a slicer or the cloud.
License: MIT OR Apache-2.0
COPYRIGHT
strip --strip-unneeded "$pkg/usr/bin/gantry"
install -d "$pkg/DEBIAN"
install -m 0755 installers/linux/daemon/postinst installers/linux/daemon/prerm installers/linux/daemon/postrm "$pkg/DEBIAN/"
echo /etc/pam.d/gantry > "$pkg/DEBIAN/conffiles"
# Library dependencies as dpkg-shlibdeps finds them in the binary.
mkdir -p "$stage/src/debian" && printf 'Source: gantry\n\nPackage: gantry-daemon\nArchitecture: any\n' > "$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O -e"$pkg/usr/bin/gantry" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: gantry-daemon
Version: $version
Architecture: $arch
Maintainer: The Gantry developers <gantry@example.invalid>
Section: utils
Priority: optional
Depends: ${shlibs}, adduser, passwd
Recommends: systemd
Installed-Size: $(du -sk "$pkg" --exclude=DEBIAN | cut -f1)
Homepage: https://example.invalid/gantry
Description: Gantry 3D-printing service (headless daemon)
 Drives the 3D printers plugged into this machine over USB serial (Marlin-family
 firmware), serves a dashboard and API on http://localhost:8008 and links the printers
 to a cloud account. Runs as the gantry system user under systemd.
CONTROL
dpkg-deb --root-owner-group --build "$pkg" "$out/gantry-daemon_${version}_${arch}.deb" >/dev/null
echo "package: daemon .deb in $((SECONDS - started)) s" >&2

ls -l "$out"
echo "$out"
