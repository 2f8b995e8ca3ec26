#!/usr/bin/env bash
# RTSP helper benchmark of the published (NativeAOT) daemon in the namespace lab: a minimal RTSP server upstream
# streams to whoever SETUPs; a LAN host sets up sessions and times each from the SETUP answer to its first media
# packet, with 0, 100 and 1,000 other sessions (from 20 LAN addresses) holding their ports open.
#   bash conformance/bench/rtsp-bench.sh [--measure N] [--window W]
set -euo pipefail
measure=500 window=8
while [ $# -gt 0 ]; do
  case "$1" in
    --measure) measure=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source "$(dirname "$0")/prepare.sh"

p=pmr-
state=$(mktemp -d /tmp/portmapper-rtsp-bench.XXXXXX)
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null || true
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  bash conformance/lab/lab.sh down $p
  rm -rf "$state"
}
trap cleanup EXIT
bash conformance/lab/lab.sh up $p
for i in $(seq 100 119); do ip netns exec ${p}lan1 ip addr add 192.168.77.$i/24 dev eth0; done
ip netns exec ${p}gw "$bin" run --state-dir "$state" --log-level "${BENCH_LOG_LEVEL:-warning}" &
daemon=$!
ip netns exec ${p}wan "${load[@]}" rtsp-server --listen 203.0.113.2:554 &
server=$!
ip netns exec ${p}lan1 "${load[@]}" ready --gateway 192.168.77.1 >/dev/null
sleep 1
echo "daemon: $bin, $(nproc) cores"
ip netns exec ${p}lan1 "${load[@]}" rtsp --server 203.0.113.2:554 --clients 192.168.77.100 20 --levels 0,100,1000 --measure "$measure" --window "$window" --pid "$daemon"
# The load tool has ended its sessions; the daemon is closing their ports.
token=$(cat "$state/admin.token")
ip netns exec ${p}gw curl -s -H "Authorization: Bearer $token" http://127.0.0.1:8470/metrics \
  | awk -F'[{}" ]+' '/^portmapper_kernel_operation_seconds_bucket\{operation="media"/ { printf "media transactions <= %s s: %s\n", $5, $6 }'
sleep 40 # the daemon hands surplus GC memory back at most every 30 s
echo "daemon RSS settled 40 s later: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$daemon/status)"
