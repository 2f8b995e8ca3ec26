#!/usr/bin/env bash
# NAT-PMP, PCP or UPnP (SOAP AddPortMapping) benchmark of the published (NativeAOT) daemon in the namespace lab.
#   bash conformance/bench/port-control-bench.sh [--protocol natpmp|pcp|upnp] [--measure N] [--window W]
# Prints requests/s, p50/p99 latency and daemon RSS at 100, 1,000 and 10,000 live leases, then the time a
# restart with those leases takes until NAT-PMP answers, with the kernel holding every mapping again.
set -euo pipefail
measure=5000 window=16 protocol=natpmp
while [ $# -gt 0 ]; do
  case "$1" in
    --protocol) protocol=$2; shift 2 ;;
    --measure) measure=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source "$(dirname "$0")/prepare.sh"

p=pmb-
state=$(mktemp -d /tmp/portmapper-bench.XXXXXX)
config=$state.json
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null || true
  wait 2>/dev/null || true
  bash conformance/lab/lab.sh down $p
  rm -rf "$state" "$config"
}
trap cleanup EXIT
bash conformance/lab/lab.sh up $p

# 150 LAN clients, each a device of its own as quotas count (the default quota is 128 leases per device, so up to
# 19,200 leases): 192.168.77.100-249, each on a macvlan interface of the first LAN host with its own MAC address.
# Only the interface that holds an address answers ARP for it, so the gateway's neighbour table has one MAC each.
ip netns exec ${p}lan1 sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
for i in $(seq 100 249); do
  ip -n ${p}lan1 link add c$i link eth0 type macvlan mode bridge
  ip -n ${p}lan1 addr add 192.168.77.$i/32 dev c$i
  ip -n ${p}lan1 link set c$i up
done
cat >"$config" <<JSON
{ "rateLimit": { "perSecond": 1000000, "burst": 1000000 }, "maxLeases": 20000 }
JSON

start_daemon() {
  ip netns exec ${p}gw "$bin" run --state-dir "$state" --config "$config" --log-level "${BENCH_LOG_LEVEL:-warning}" &
  daemon=$!
}

start_daemon
ip netns exec ${p}lan1 "${load[@]}" ready --gateway 192.168.77.1 >/dev/null
echo "daemon: $bin ($(du -h "$bin" | cut -f1)), $(nproc) cores"
ip netns exec ${p}lan1 "${load[@]}" "$protocol" --gateway 192.168.77.1 --clients 192.168.77.100 150 \
  --levels 100,1000,10000 --measure "$measure" --window "$window" --pid "$daemon"

# Bring the table to exactly 10,000 leases for the restart measurement.
ip netns exec ${p}lan1 "${load[@]}" "$protocol" --gateway 192.168.77.1 --clients 192.168.77.100 150 \
  --levels 10000 --measure 1 --window "$window" >/dev/null || true
leases=$(ip netns exec ${p}gw nft list map inet portmapper nat4 | grep -oE '(tcp|udp) \. [0-9]+' | wc -l)
echo
echo "RSS with $leases leases, right after the load: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$daemon/status)"
sleep 40 # the daemon hands surplus GC memory back at most every 30 s
echo "RSS with $leases leases, settled 40 s later:  $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$daemon/status)"
echo
echo "restart with $leases leases in the kernel:"
kill -TERM "$daemon"; wait "$daemon" || true
ip netns exec ${p}lan1 "${load[@]}" ready --gateway 192.168.77.1 --timeout 20 &
probe=$!
start_daemon
wait $probe
after=$(ip netns exec ${p}gw nft list map inet portmapper nat4 | grep -oE '(tcp|udp) \. [0-9]+' | wc -l)
echo "kernel entries after restart: $after; daemon $(grep -E "VmRSS|RssAnon|RssFile" /proc/$daemon/status | tr -s " \t" " " | tr "\n" " ")"
