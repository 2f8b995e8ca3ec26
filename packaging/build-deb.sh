#!/usr/bin/env bash
# Builds the Debian package: the NativeAOT daemon, pm-conformance, the systemd unit, the default configuration and
# the docs.
#   bash packaging/build-deb.sh [--arch amd64|arm64] [--output DIR]
# --arch arm64 cross-builds the daemon for linux-arm64 on an amd64 machine with Debian's cross toolchain (installed
# here when missing: binutils-aarch64-linux-gnu, libc6-dev-arm64-cross, libgcc-12-dev-arm64-cross; clang is the
# linker driver NativeAOT uses). PORTMAPPER_BIN=path skips the publish step for the machine's own architecture.
# Prints the path of the .deb it wrote.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/artifacts
host=$(dpkg --print-architecture)
arch=$host
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

case "$arch" in
  amd64) rid=linux-x64; triple=x86_64-linux-gnu ;;
  arm64) rid=linux-arm64; triple=aarch64-linux-gnu ;;
  *) echo "--arch: amd64 or arm64, not '$arch'" >&2; exit 2 ;;
esac

publish_args=()
if [ "$arch" != "$host" ]; then
  if [ "$host" != amd64 ] || [ "$arch" != arm64 ]; then
    echo "cross-building for $arch is supported from amd64 to arm64 only (this machine is $host)" >&2
    exit 2
  fi
  # The linker (through clang --target), the C runtime's start files and libgcc for the target; NativeAOT brings the
  # rest of the runtime as static archives (runtime.linux-arm64.Microsoft.DotNet.ILCompiler, restored from NuGet).
  need=()
  for package in clang binutils-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-12-dev-arm64-cross; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need+=("$package")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing the $arch cross toolchain: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  publish_args=(-p:ObjCopyName=$triple-objcopy)
fi

bin=${PORTMAPPER_BIN:-}
if [ "$arch" != "$host" ]; then
  # Built from a copy of the sources (inside the repository, so the version still names the commit): the target's
  # restore and obj/ never touch the tree the machine's own builds and tests use, which may be building meanwhile.
  tree=$root/artifacts/cross-$arch
  mkdir -p "$tree"
  cp "$root"/Directory.Build.props "$root"/Directory.Packages.props "$root"/global.json "$root"/.editorconfig "$tree"/
  sources=(src conformance/Tool conformance/PcpClient)
  (cd "$root" && find "${sources[@]}" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print0) | while IFS= read -r -d '' file; do
    if ! cmp -s "$root/$file" "$tree/$file"; then install -D -m 0644 "$root/$file" "$tree/$file"; fi
  done
  (cd "$tree" && find "${sources[@]}" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print0) | while IFS= read -r -d '' file; do
    [ -e "$root/$file" ] || rm -f "$tree/$file"
  done
  dotnet publish "$tree/src/Gateway" -c Release -r "$rid" -o "$root/artifacts/publish-$arch" -nologo -v quiet "${publish_args[@]}" >&2
  bin=$root/artifacts/publish-$arch/portmapper
  src_tool=$tree/conformance/Tool
elif [ -z "$bin" ]; then
  dotnet publish "$root/src/Gateway" -c Release -r "$rid" -o "$root/artifacts/publish" -nologo -v quiet >&2
  bin=$root/artifacts/publish/portmapper
fi

# pm-conformance, the conformance suite anyone can point at a gateway, ships beside the daemon (NativeAOT too).
tool_out=$root/artifacts/publish-tool-$arch
dotnet publish "${src_tool:-$root/conformance/Tool}" -c Release -r "$rid" -o "$tool_out" -nologo -v quiet "${publish_args[@]}" >&2
tool=$tool_out/pm-conformance

if [ -e "$(dirname "$bin")/portmapper.dll" ]; then
  echo "$bin is a framework-dependent build, not the NativeAOT binary: publish it (or unset PORTMAPPER_BIN)" >&2
  exit 1
fi

machine=$(LC_ALL=C readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
case "$arch:$machine" in
  amd64:*X86-64*|arm64:*AArch64*) ;;
  *) echo "$bin is built for '$machine', not $arch" >&2; exit 1 ;;
esac

# The oldest glibc the binary runs on: the highest GLIBC_ symbol version it asks for.
glibc=$(LC_ALL=C readelf -W --dyn-syms "$bin" "$tool" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
version="0.6.$(git -C "$root" rev-list --count HEAD 2>/dev/null || echo 0)"
stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT

install -D -m 0755 "$bin" "$stage/usr/sbin/portmapper"
install -D -m 0755 "$tool" "$stage/usr/bin/pm-conformance"
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
Depends: libc6 (>= $glibc), libnftables1, nftables
Section: net
Priority: optional
Installed-Size: $(du -ks "$stage" | cut -f1)
Homepage: https://localhost/portmapper
Description: NAT-PMP, PCP and UPnP IGD port-mapping gateway for nftables
 Answers port-mapping requests from the LAN (UPnP IGD:1 and IGD:2, NAT-PMP,
 PCP), keeps one persistent lease table, and programs expiring DNAT and
 forward entries and IPv6 pinholes in its own nftables table. An admin
 endpoint, web page and metrics run on 127.0.0.1:8470. pm-conformance
 checks any gateway on the LAN against RFC 6886, RFC 6887 and UPnP IGD.
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
