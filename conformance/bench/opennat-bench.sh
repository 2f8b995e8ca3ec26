#!/usr/bin/env bash
# The packet-path cost of Open NAT: new UDP flows per second through the gateway (the published daemon's ruleset,
# in the namespace lab), from a LAN host without Open NAT and from the same host with it. The sender opens
# SOCKETS sockets and sends one datagram from each to ROUNDS destination ports of a WAN host: every datagram is a
# new flow (conntrack entry, source NAT; with Open NAT also a mapping recorded in the kernel's maps). The WAN host
# counts what arrives. Each run gets a fresh lab (an empty conntrack table). Median of RUNS.
#   bash conformance/bench/opennat-bench.sh [--sockets N] [--rounds N] [--runs N]
set -euo pipefail
sockets=500 rounds=200 runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --sockets) sockets=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/prepare.sh"

p=pmo-
daemon="" state=""
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null || true
  wait 2>/dev/null || true
  bash conformance/lab/lab.sh down $p >/dev/null 2>&1 || true
  [ -n "$state" ] && rm -rf "$state" "$state.log"
  rm -f "${result:-}"
}
trap cleanup EXIT

# One run: writes "sent seconds received" to $result.
result=$(mktemp /tmp/portmapper-opennat-bench.result.XXXXXX)
run() {
  local mode=$1
  bash conformance/lab/lab.sh down $p >/dev/null 2>&1 || true
  bash conformance/lab/lab.sh up $p >/dev/null
  state=$(mktemp -d /tmp/portmapper-opennat-bench.XXXXXX)
  ip netns exec ${p}gw "$bin" run --state-dir "$state" --log-level error > "$state.log" 2>&1 &
  daemon=$!
  ip netns exec ${p}lan1 "${load[@]}" ready --gateway 192.168.77.1 >/dev/null
  if [ "$mode" = on ]; then
    mac=$(ip netns exec ${p}lan1 cat /sys/class/net/eth0/address)
    ip netns exec ${p}gw "$bin" devices opennat "$mac" on --state-dir "$state" >/dev/null
  fi
  # The WAN host counts and drops what arrives (no ICMP back).
  ip netns exec ${p}wan nft -f - <<'NFT'
table inet sink {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 20000-39999 counter drop
  }
}
NFT
  local timing
  timing=$(ip netns exec ${p}lan1 python3 - "$sockets" "$rounds" <<'PY'
import socket, sys, time
sockets, rounds = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(sockets):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 40000 + i))
    s.setblocking(False)
    socks.append(s)
sent = 0
start = time.perf_counter()
for r in range(rounds):
    target = ("203.0.113.2", 20000 + r)
    for s in socks:
        try:
            s.sendto(b"x", target)
            sent += 1
        except BlockingIOError:
            pass
print(sent, time.perf_counter() - start)
PY
)
  sleep 1
  local received
  received=$(ip netns exec ${p}wan nft list chain inet sink input | awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }')
  if [ "$mode" = on ]; then
    recorded=$(ip netns exec ${p}gw nft list map inet portmapper eim4 | grep -o ' : 192\.168\.77\.10 \. ' | wc -l)
    echo "  open nat mappings recorded: $recorded" >&2
  fi
  kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
  rm -rf "$state" "$state.log"; state=""
  echo "$timing $received" > "$result"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "daemon: $bin, $(nproc) cores; $sockets sockets x $rounds destinations = $((sockets * rounds)) new UDP flows per run, $runs runs"
declare -A rate
for mode in off on; do
  rates=()
  for i in $(seq "$runs"); do
    run $mode
    read -r sent seconds received < "$result"
    r=$(awk -v n="$received" -v t="$seconds" 'BEGIN { printf "%.0f", n / t }')
    echo "  open nat $mode, run $i: sent $sent, arrived $received in $(printf '%.2f' "$seconds") s: $r flows/s" >&2
    rates+=("$r")
  done
  rate[$mode]=$(printf '%s\n' "${rates[@]}" | median)
done
printf '%-30s %12s\n' "" "new flows/s"
printf '%-30s %12s\n' "without Open NAT" "${rate[off]}"
printf '%-30s %12s\n' "with Open NAT" "${rate[on]}"
awk -v a="${rate[off]}" -v b="${rate[on]}" 'BEGIN { printf "open-nat-cost=%.1f%%\n", (a - b) * 100 / a }'
