#!/usr/bin/env bash
# Installs what the daemon, the lab and the tests need from Debian's packages (idempotent; needs root).
set -euo pipefail
need=()
command -v nft >/dev/null || need+=(nftables)
[ -e /usr/lib/x86_64-linux-gnu/libnftables.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libnftables.so.1 ] || need+=(libnftables1)
command -v natpmpc >/dev/null || need+=(natpmpc)
command -v upnpc >/dev/null || need+=(miniupnpc)
[ -e /usr/lib/python3/dist-packages/miniupnpc.cpython-311-x86_64-linux-gnu.so ] || /usr/bin/python3 -c 'import miniupnpc' 2>/dev/null || need+=(python3-miniupnpc)
command -v gssdp-discover >/dev/null || need+=(gupnp-tools)
command -v chromium >/dev/null || need+=(chromium)
command -v sipp >/dev/null || need+=(sip-tester)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v avahi-browse >/dev/null || need+=(avahi-utils)
command -v avahi-daemon >/dev/null || need+=(avahi-daemon)
command -v dbus-daemon >/dev/null || need+=(dbus)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v ip >/dev/null || need+=(iproute2)
command -v curl >/dev/null || need+=(curl)
command -v capsh >/dev/null || need+=(libcap2-bin)
# The RTSP lab: gst-rtsp-server and rtspsrc driven from Python (conformance/rtsp).
/usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null || need+=(python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0)
[ -e /usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstrtsp.so ] || [ -e /usr/lib/aarch64-linux-gnu/gstreamer-1.0/libgstrtsp.so ] || need+=(gstreamer1.0-plugins-good)
[ -e /usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstaudiotestsrc.so ] || [ -e /usr/lib/aarch64-linux-gnu/gstreamer-1.0/libgstaudiotestsrc.so ] || need+=(gstreamer1.0-plugins-base)
# The side-by-side benchmark (conformance/bench/compare.sh) and its smoke test: Debian's miniupnpd.
[ -x /usr/sbin/miniupnpd ] || need+=(miniupnpd-nftables)
# The chain lab's DHCP (an upstream PCP server named by option 158): dnsmasq on the ISP side, ISC dhclient on the WAN.
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v dhclient >/dev/null || need+=(isc-dhcp-client)
# Fuzzing (conformance/fuzz): afl++ drives the SharpFuzz-instrumented decoders.
command -v afl-fuzz >/dev/null || need+=(afl++)
# The arm64 package (packaging/build-deb.sh --arch arm64, which would install these itself) and its emulated run;
# clang also serves afl++.
command -v clang >/dev/null || need+=(clang)
command -v aarch64-linux-gnu-ld >/dev/null || need+=(binutils-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/crt1.o ] || need+=(libc6-dev-arm64-cross)
[ -d /usr/lib/gcc-cross/aarch64-linux-gnu/12 ] || need+=(libgcc-12-dev-arm64-cross)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "the .NET 10 SDK is required (dotnet on PATH)" >&2; exit 1; }
