#!/usr/bin/env bash
# Builds the Debian package: the NativeAOT binary, the systemd unit, the default configuration and the docs.
#   bash packaging/build-deb.sh [--output DIR]        (PORTMAPPER_BIN=path skips the publish step)
# Prints the path of the .deb it wrote.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/artifacts
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

bin=${PORTMAPPER_BIN:-}
if [ -z "$bin" ]; then
  dotnet publish "$root/src/Gateway" -c Release -o "$root/artifacts/publish" -nologo -v quiet >&2
  bin=$root/artifacts/publish/portmapper
fi

if [ -e "$(dirname "$bin")/portmapper.dll" ]; then
  echo "$bin is a framework-dependent build, not the NativeAOT binary: publish it (or unset PORTMAPPER_BIN)" >&2
  exit 1
fi

arch=$(dpkg --print-architecture)
version="0.6.$(git -C "$root" rev-list --count HEAD 2>/dev/null || echo 0)"
stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT

install -D -m 0755 "$bin" "$stage/usr/sbin/portmapper"
install -D -m 0644 "$root/packaging/portmapper.service" "$stage/lib/systemd/system/portmapper.service"
install -D -m 0644 "$root/packaging/config.json" "$stage/etc/portmapper/config.json"
install -D -m 0644 "$root/README.md" "$stage/usr/share/doc/portmapper/README.md"
cat > "$stage/usr/share/doc/portmapper/copyright" <<TXT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: portmapper
Files: *
Copyright: The PortMapper authors
License: MIT
TXT

mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<TXT
Package: portmapper
Version: $version
Architecture: $arch
Maintainer: PortMapper <portmapper@localhost>
Depends: libc6, libnftables1, nftables
Section: net
Priority: optional
Installed-Size: $(du -ks "$stage" | cut -f1)
Homepage: https://localhost/portmapper
Description: NAT-PMP, PCP and UPnP IGD port-mapping gateway for nftables
 Answers port-mapping requests from the LAN (UPnP IGD:1 and IGD:2, NAT-PMP,
 PCP), keeps one persistent lease table, and programs expiring DNAT and
 forward entries and IPv6 pinholes in its own nftables table. An admin
 endpoint, web page and metrics run on 127.0.0.1:8470.
TXT
echo /etc/portmapper/config.json > "$stage/DEBIAN/conffiles"

# systemd is optional (containers, chroots): only talk to it when it runs.
cat > "$stage/DEBIAN/postinst" <<'TXT'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
  systemctl enable portmapper.service >/dev/null || true
fi
TXT
cat > "$stage/DEBIAN/prerm" <<'TXT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl stop portmapper.service >/dev/null 2>&1 || true
  if [ "$1" = remove ]; then systemctl disable portmapper.service >/dev/null 2>&1 || true; fi
fi
TXT
cat > "$stage/DEBIAN/postrm" <<'TXT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
if [ "$1" = purge ]; then rm -rf /var/lib/portmapper; fi
TXT
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/portmapper_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group "$stage" "$deb" >&2
echo "$deb"
