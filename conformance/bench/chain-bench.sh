#!/usr/bin/env bash
# What carrying mappings upstream costs (double NAT): the gateway behind an ISP gateway (lab.sh chain), one request
# at a time from 8 LAN devices, with upstream.mode off (nothing carried: the baseline), pcp, natpmp and upnp, the ISP
# running a second PortMapper, then Debian's miniupnpd (PCP). Prints p50 / p99 per row and the difference to off.
#   bash conformance/bench/chain-bench.sh [--rounds 5] [--leases 100] [--cases off:portmapper:off,pcp:portmapper:pcp,...]
# A case is NAME:ISP:MODE (ISP portmapper or miniupnpd, MODE the gateway's upstream.mode); off must be among them.
set -euo pipefail
rounds=5 leases=100
cases="off:portmapper:off,pcp:portmapper:pcp,natpmp:portmapper:natpmp,upnp:portmapper:upnp,miniupnpd-natpmp:miniupnpd:natpmp,miniupnpd-upnp:miniupnpd:upnp"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --leases) leases=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source "$(dirname "$0")/prepare.sh"

p=pmch-
isp=${p}isp gw=${p}gw lan=${p}lan1
work=$(mktemp -d /tmp/portmapper-chain-bench.XXXXXX)
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  bash conformance/lab/lab.sh down $p
  rm -rf "$work"
}
trap cleanup EXIT

bash conformance/lab/lab.sh chain $p
bash conformance/lab/lab.sh devices $p 8
echo '{ "upstream": { "mode": "off" }, "rateLimit": { "perSecond": 1000000, "burst": 1000000 }, "maxLeasesPerClient": 65535 }' >"$work/isp.json"

start_isp() { # portmapper|miniupnpd
  ip netns exec $isp nft delete table inet portmapper 2>/dev/null || true
  ip netns exec $isp nft delete table inet filter 2>/dev/null || true
  rm -rf "$work/isp" "$work/miniupnpd.leases"
  if [ "$1" = portmapper ]; then
    ip netns exec $isp "$bin" run --wan wan0 --lan isp0 --state-dir "$work/isp" --config "$work/isp.json" --log-level warning \
      >"$work/isp.log" 2>&1 &
    pids+=($!)
    ip netns exec $gw "${load[@]}" ready --gateway 100.64.0.1 --timeout 20 >/dev/null
  else
    ip netns exec $isp nft -f conformance/lab/miniupnpd.nft
    cat >"$work/miniupnpd.conf" <<CONF
ext_ifname=wan0
ext_ip=11.1.1.1
listening_ip=isp0
http_port=5000
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=no
lease_file=$work/miniupnpd.leases
uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d080
allow 1024-65535 100.64.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
    ip netns exec $isp /usr/sbin/miniupnpd -d -f "$work/miniupnpd.conf" -P "$work/miniupnpd.pid" >"$work/miniupnpd.log" 2>&1 &
    pids+=($!)
    ip netns exec $gw "${load[@]}" ready --gateway 100.64.0.1 --timeout 20 >/dev/null
  fi
}

start_gateway() { # MODE
  rm -rf "$work/gw"
  ip netns exec $gw nft delete table inet portmapper 2>/dev/null || true
  printf '{ "upstream": { "mode": "%s" }, "rateLimit": { "perSecond": 1000000, "burst": 1000000 } }\n' "$1" >"$work/gw.json"
  ip netns exec $gw "$bin" run --wan wan0 --lan br-lan --state-dir "$work/gw" --config "$work/gw.json" --log-level information \
    >"$work/gw.log" 2>&1 &
  pids+=($!)
  ip netns exec $lan "${load[@]}" ready --gateway 192.168.77.1 --timeout 20 >/dev/null
  if [ "$1" != off ]; then
    for _ in $(seq 100); do grep -q "mappings are carried through" "$work/gw.log" && return 0; sleep 0.1; done
    echo "chain-bench: the gateway found no $1 upstream:" >&2; cat "$work/gw.log" >&2; exit 1
  fi
}

declare -A result
run_case() { # NAME ISP MODE
  stop_all
  start_isp "$2"
  start_gateway "$3"
  for kind in natpmp-map pcp-map natpmp-renew upnp-add; do
    row=$(ip netns exec $lan "${load[@]}" sequential $kind --gateway 192.168.77.1 --clients 192.168.77.100 8 \
      --rounds "$rounds" --leases "$leases" --control /ctl/IPConn1 | grep '^#result') || { echo "$1 $kind failed: $row" >&2; exit 1; }
    result[$1,$kind]="$(sed -E 's/.* p50=([^ ]+).*/\1/' <<<"$row") $(sed -E 's/.* p99=([^ ]+).*/\1/' <<<"$row")"
  done
}

IFS=, read -r -a cases <<<"$cases"
for c in "${cases[@]}"; do
  IFS=: read -r name ispd mode <<<"$c"
  run_case "$name" "$ispd" "$mode"
done
stop_all

echo
echo "| p50 / p99 ms ($rounds rounds of $leases, one at a time) | $(for c in "${cases[@]}"; do printf '%s | ' "${c%%:*}"; done)"
echo "|---|$(for _ in "${cases[@]}"; do printf -- '---|'; done)"
for kind in natpmp-map pcp-map natpmp-renew upnp-add; do
  read -r base50 base99 <<<"${result[off,$kind]}"
  line="| $kind |"
  for c in "${cases[@]}"; do
    read -r p50 p99 <<<"${result[${c%%:*},$kind]}"
    if [ "${c%%:*}" = off ]; then
      line+=" $p50 / $p99 |"
    else
      line+=" $p50 / $p99 (+$(awk -v a="$p50" -v b="$base50" 'BEGIN { printf "%.3f", a - b }')) |"
    fi
  done
  echo "$line"
done
