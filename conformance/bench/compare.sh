#!/usr/bin/env bash
# PortMapper (the published daemon) and Debian's miniupnpd (miniupnpd-nftables) side by side, in the same namespace
# lab, one after the other, under the same load; prints one table with both columns and exits.
#   bash conformance/bench/compare.sh [--runs 3] [--rounds 10] [--levels 1000,10000] [--measure 5000]
#        [--idle 60] [--settle 30] [--fill-limit 30] [--only portmapper|miniupnpd] [--no-throughput]
# Each run, per daemon: start it fresh; CPU time over --idle seconds from 10 s after start, and RSS at their end; one request at a time with
# 0-100 live leases (NAT-PMP map, PCP map, NAT-PMP renewal, UPnP AddPortMapping on a new TCP connection per call as
# miniupnpc makes them), --rounds rounds of 100 each; then per protocol (NAT-PMP, PCP, UPnP) a fresh daemon under
# 150 LAN clients (each a macvlan device with its own MAC address) at each level of live leases, RSS --settle
# seconds after that load, and VmHWM over every process of the run. Figures are the median of the runs.
# --smoke is a tiny run for ./test: one run, one round of 10, levels 100, 2 s idle, no settle.
set -euo pipefail
runs=3 rounds=10 leases=100 levels=1000,10000 measure=5000 idle=60 settle=30 fill_limit=30 only="" protocols="natpmp pcp upnp"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --levels) levels=$2; shift 2 ;;
    --measure) measure=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --fill-limit) fill_limit=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-throughput) protocols=""; shift ;;
    --smoke) runs=1 rounds=1 leases=10 levels=100 measure=50 idle=2 settle=0 fill_limit=20; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source "$(dirname "$0")/prepare.sh"
[ -x /usr/sbin/miniupnpd ] || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends miniupnpd-nftables >/dev/null; }

p=pmc-
gw=${p}gw lan=${p}lan1
work=$(mktemp -d /tmp/portmapper-compare.XXXXXX)
results=$work/results
daemon=""
cleanup() {
  stop_daemon
  bash conformance/lab/lab.sh down $p
  rm -rf "$work"
}
trap cleanup EXIT

bash conformance/lab/lab.sh up $p
# 150 LAN clients, each a device of its own: 192.168.77.100-249, each on a macvlan interface of the first LAN host
# with its own MAC address.
bash conformance/lab/lab.sh devices $p 150

# PortMapper: the defaults, except that the request rate limit (50/s per device) and the table's size (8,192)
# are lifted so that the load can reach 10,000 leases at full speed; quotas still count per device.
cat >"$work/portmapper.json" <<JSON
{ "rateLimit": { "perSecond": 1000000, "burst": 1000000 }, "maxLeases": 20000 }
JSON
# miniupnpd: NAT-PMP, PCP and UPnP on the same LAN, secure mode, leases kept in a file as PortMapper keeps its
# journal. The lab's WAN address is a documentation address, which miniupnpd refuses to serve: it is told a
# global one (the namespace has no route anywhere else).
cat >"$work/miniupnpd.conf" <<CONF
ext_ifname=wan0
ext_ip=11.1.1.1
listening_ip=br-lan
http_port=5000
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
lease_file=$work/miniupnpd.leases
uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07d
allow 1024-65535 192.168.77.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d\n", s}'; } # every thread's time on a CPU
hwm=0
note_hwm() { local h; h=$(status_kb "$daemon" VmHWM); [ "$h" -gt "$hwm" ] && hwm=$h; true; }

start_daemon() { # NAME
  if [ "$1" = portmapper ]; then
    rm -rf "$work/state"
    ip netns exec $gw nft delete table inet portmapper 2>/dev/null || true
    ip netns exec $gw "$bin" run --state-dir "$work/state" --config "$work/portmapper.json" --log-level warning \
      >"$work/portmapper.log" 2>&1 &
    daemon=$!
    control=/ctl/IPConn1
  else
    rm -f "$work/miniupnpd.leases" "$work/miniupnpd.pid"
    ip netns exec $gw nft delete table inet filter 2>/dev/null || true
    ip netns exec $gw nft -f conformance/lab/miniupnpd.nft
    ip netns exec $gw /usr/sbin/miniupnpd -f "$work/miniupnpd.conf" -P "$work/miniupnpd.pid"
    for _ in $(seq 100); do [ -s "$work/miniupnpd.pid" ] && break; sleep 0.05; done
    daemon=$(cat "$work/miniupnpd.pid")
    control=/ctl/IPConn
  fi
  ip netns exec $lan "${load[@]}" ready --gateway 192.168.77.1 --timeout 20 >/dev/null
}

stop_daemon() {
  [ -n "$daemon" ] || return 0
  kill "$daemon" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.05; done
  wait "$daemon" 2>/dev/null || true
  daemon=""
}

record() { echo "$1 $2 $3" >>"$results"; } # DAEMON KEY VALUE

run_daemon() { # NAME
  local name=$1 kind row v
  hwm=0
  start_daemon "$name"
  sleep 10 # past start-up: listeners up, the first announcements sent
  local t0; t0=$(cpu_ns "$daemon")
  sleep "$idle"
  record "$name" idle_cpu_ms "$(( ($(cpu_ns "$daemon") - t0) / 1000000 * 60 / idle ))"
  record "$name" rss_idle "$(status_kb "$daemon" VmRSS)" # at the end of the idle time: what an idle router holds
  for kind in natpmp-map pcp-map natpmp-renew upnp-add; do
    row=$(ip netns exec $lan "${load[@]}" sequential $kind --gateway 192.168.77.1 --clients 192.168.77.100 8 \
      --rounds "$rounds" --leases "$leases" --control $control | grep '^#result') || { echo "$name $kind failed: $row" >&2; exit 1; }
    for v in p50 p99; do record "$name" "seq_${kind}_$v" "$(sed -E "s/.* $v=([^ ]+).*/\1/" <<<"$row")"; done
  done
  note_hwm
  local rss_after=0 r
  for protocol in $protocols; do
    stop_daemon
    start_daemon "$name"
    local extra=()
    [ $protocol = upnp ] && extra=(--control $control --new-connection)
    ip netns exec $lan "${load[@]}" $protocol --gateway 192.168.77.1 --clients 192.168.77.100 150 --levels "$levels" \
      --measure "$measure" --window 16 --fill-limit "$fill_limit" "${extra[@]}" >"$work/load.out" || true
    note_hwm
    while read -r row; do
      local level; level=$(sed -E 's/.*level=([0-9]+).*/\1/' <<<"$row")
      if grep -q ' p50=- ' <<<"$row"; then
        record "$name" "tput_${protocol}_$level" "$(sed -E 's/.*reached=([0-9]+) rate=([0-9]+).*/stalled@\1:\2/' <<<"$row")"
      else
        record "$name" "tput_${protocol}_$level" "$(sed -E 's/.*rate=([0-9]+).*/\1/' <<<"$row")"
      fi
    done < <(grep '^#result' "$work/load.out")
    sleep "$settle"
    r=$(status_kb "$daemon" VmRSS); [ "$r" -gt "$rss_after" ] && rss_after=$r
    note_hwm
  done
  record "$name" rss_after "$rss_after"
  record "$name" hwm "$hwm"
  stop_daemon
}

daemons=(portmapper miniupnpd)
[ -n "$only" ] && daemons=("$only")
echo "PortMapper: $bin ($(du -h "$bin" | cut -f1)); miniupnpd: $(/usr/sbin/miniupnpd --version 2>&1 | head -1); $(nproc) cores; $runs run(s)"
for run in $(seq "$runs"); do
  for name in "${daemons[@]}"; do
    echo "run $run: $name" >&2
    run_daemon "$name"
  done
done

# The table: the median of the runs for every figure.
median() { # DAEMON KEY
  local values; values=$(awk -v d="$1" -v k="$2" '$1 == d && $2 == k {print $3}' "$results")
  [ -n "$values" ] || { echo "-"; return; }
  if grep -qv '^[0-9.]*$' <<<"$values"; then echo "$values" | sort | head -1; return; fi
  echo "$values" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
mb() { [ "$1" = - ] && echo - || awk -v k="$1" 'BEGIN {printf "%.1f MB", k / 1024}'; }
cell() { # DAEMON KEY FORMAT
  local v; v=$(median "$1" "$2")
  case "$3" in
    mb) mb "$v" ;;
    rate) if [[ $v == stalled@* ]]; then IFS=: read -r at r <<<"${v#stalled@}"; echo "stalled at $at leases ($r/s while filling)"; else echo "$v/s"; fi ;;
    *) echo "$v" ;;
  esac
}
latency() { echo "$(median "$1" "seq_$2_p50") / $(median "$1" "seq_$2_p99") ms"; }
row() { # LABEL then for each daemon a value
  local label=$1; shift
  printf '| %s |' "$label"; for v in "$@"; do printf ' %s |' "$v"; done; echo
}
echo
printf '| median of %s run(s) |' "$runs"; for d in "${daemons[@]}"; do printf ' %s |' "$d"; done; echo
printf '|---|'; for _ in "${daemons[@]}"; do printf -- '---|'; done; echo
for kind in natpmp-map pcp-map natpmp-renew upnp-add; do
  label=$kind
  case $kind in
    natpmp-map) label="NAT-PMP map, one at a time, 0-$leases leases, p50 / p99" ;;
    pcp-map) label="PCP map, one at a time, 0-$leases leases, p50 / p99" ;;
    natpmp-renew) label="NAT-PMP renewal, one at a time, $leases leases, p50 / p99" ;;
    upnp-add) label="UPnP AddPortMapping, new TCP connection per call, 0-$leases leases, p50 / p99" ;;
  esac
  values=(); for d in "${daemons[@]}"; do values+=("$(latency "$d" $kind)"); done; row "$label" "${values[@]}"
done
for protocol in $protocols; do
  for level in ${levels//,/ }; do
    values=(); for d in "${daemons[@]}"; do values+=("$(cell "$d" "tput_${protocol}_$level" rate)"); done
    row "$protocol throughput, 150 clients, $level-$((level + measure)) leases" "${values[@]}"
  done
done
values=(); for d in "${daemons[@]}"; do values+=("$(cell "$d" rss_idle mb)"); done; row "RSS idle" "${values[@]}"
values=(); for d in "${daemons[@]}"; do values+=("$(cell "$d" hwm mb)"); done; row "VmHWM over the run" "${values[@]}"
values=(); for d in "${daemons[@]}"; do values+=("$(cell "$d" rss_after mb)"); done; row "RSS ${settle} s after the load (highest protocol)" "${values[@]}"
values=(); for d in "${daemons[@]}"; do values+=("$(cell "$d" idle_cpu_ms plain) ms"); done; row "CPU per idle minute (over ${idle} s)" "${values[@]}"
