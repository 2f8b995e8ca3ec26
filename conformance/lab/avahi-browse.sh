#!/usr/bin/env bash
# Runs avahi-browse in a lab namespace, against an avahi-daemon of its own: a private D-Bus and avahi runtime
# directory in a private mount namespace, so nothing touches the machine's own D-Bus or avahi.
#   bash conformance/lab/avahi-browse.sh NAMESPACE [SECONDS] -- AVAHI-BROWSE-ARGS...
# Prints what avahi-browse printed in SECONDS (default 4).
set -euo pipefail
ns=$1; shift
seconds=4
if [ "${1:-}" != "--" ]; then seconds=$1; shift; fi
[ "${1:-}" = "--" ] && shift
exec ip netns exec "$ns" unshare --mount --propagation private bash -s "$seconds" "$@" <<'INNER'
set -uo pipefail
seconds=$1; shift
mkdir -p /run/dbus /run/avahi-daemon
mount -t tmpfs tmpfs /run/dbus
mount -t tmpfs tmpfs /run/avahi-daemon
dbus-daemon --system --nofork --nopidfile & dbus=$!
for _ in $(seq 100); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.05; done
avahi-daemon --no-chroot --no-rlimits 2>/dev/null & avahi=$!
for _ in $(seq 100); do avahi-daemon --check 2>/dev/null && break; sleep 0.05; done
sleep 1
timeout "$seconds" avahi-browse "$@"
kill "$avahi" "$dbus" 2>/dev/null
wait "$avahi" "$dbus" 2>/dev/null
exit 0
INNER
