#!/usr/bin/env bash
# An hour-long (or MINUTES-long) soak of the published daemon in the namespace lab, with faults injected.
#   bash conformance/soak/soak.sh MINUTES [--faults a,b,...] [--seed N]
#
# Load: 150 LAN clients, each a device of its own (a macvlan interface with its own MAC address), map, renew and
# delete ports over NAT-PMP, PCP and UPnP, subscribe to GENA events, and run RTSP sessions to a server beyond the
# WAN (pm-load soak), keeping a ledger of every acknowledged lease, audited against the lease table every 15 s.
# Faults, one every 20-40 s at random: kill9 (kill -9, restart), flush (nft flush ruleset), wan (the WAN address
# changes, and back next time), link (LAN link down and up), disk (the state filesystem, a 4 MiB tmpfs, is full for
# 10 s), hup (SIGHUP with a broken config, then the good one again), garbage (a burst of malformed packets);
# none (nothing: a soak without faults).
# The last 40 s have no faults. At the end: the ledger against the table (final audit), the lease table against the
# kernel's map, and RSS, open descriptors and threads against their level one minute in. Last line:
#   acked=N lost=L kernel-mismatch=K rss-growth=P% fds-growth=P%
# Exit status 0 when nothing was lost, the kernel matches, the daemon never stopped by itself, at most half of the
# answers were refusals (it kept granting), and growth is within 20%.
set -euo pipefail
minutes=${1:?usage: soak.sh MINUTES [--faults a,b,...] [--seed N]}
shift
faults="kill9,flush,wan,link,disk,hup,garbage" seed=$$
while [ $# -gt 0 ]; do
  case "$1" in
    --faults) faults=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
RANDOM=$seed
source "$(dirname "$0")/../bench/prepare.sh"

p=${SOAK_PREFIX:-sk$$-} # a lab of its own: two soaks (or a soak and the suite) never share one
gw=${p}gw lan=${p}lan1 lan2=${p}lan2 wan=${p}wan
work=$(mktemp -d /tmp/portmapper-soak.XXXXXX)
state=$work/state
config=$work/config.json
log=$work/daemon.log
daemon="" server="" loader=""
cleanup() {
  [ -n "$loader" ] && kill "$loader" 2>/dev/null || true
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null || true
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  umount "$state" 2>/dev/null || true
  bash conformance/lab/lab.sh down $p >/dev/null 2>&1 || true
  if [ "${SOAK_KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "kept: $work"; fi
}
trap cleanup EXIT

bash conformance/lab/lab.sh down $p >/dev/null 2>&1 || true
bash conformance/lab/lab.sh up $p
# The WAN address can change to .5 and back; the other address stays when the first one goes.
ip netns exec $gw sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
bash conformance/lab/lab.sh devices $p 150

mkdir -p "$state"
mount -t tmpfs -o size=4m,mode=0755 tmpfs "$state"
# Defaults, with the admin endpoint on the LAN address (the load's auditor reads the table there).
good_config='{ "admin": { "listen": "192.168.77.1:8470", "mdns": false } }'
echo "$good_config" > "$config"

starts=0
start_daemon() {
  ip netns exec $gw "$bin" run --state-dir "$state" --config "$config" --log-level "${SOAK_LOG_LEVEL:-information}" >> "$log" 2>&1 &
  daemon=$!
  starts=$((starts + 1))
  ip netns exec $lan "${load[@]}" ready --gateway 192.168.77.1 --timeout 30 >/dev/null
}

# Figures of the running daemon: RSS in kB, open descriptors, threads.
figures() {
  echo "$(awk '/VmRSS/ { print $2 }' /proc/$daemon/status) $(ls /proc/$daemon/fd | wc -l) $(awk '/Threads/ { print $2 }' /proc/$daemon/status)"
}

# The level: the median of each figure over 9 samples 2 s apart (a burst of GENA notifications or of connections
# at one instant is not a level).
level() {
  local samples=()
  for _ in 1 2 3 4 5 6 7 8 9; do samples+=("$(figures)"); sleep 2; done
  for column in 1 2 3; do
    printf '%s\n' "${samples[@]}" | awk -v c=$column '{ print $c }' | sort -n | sed -n 5p
  done | paste -sd' '
}

unexpected=0
# The daemon must be running whenever no fault of ours stopped it.
check_alive() {
  if ! kill -0 "$daemon" 2>/dev/null || grep -q '^State:.*Z' "/proc/$daemon/status" 2>/dev/null; then
    unexpected=$((unexpected + 1))
    echo "soak: the daemon stopped by itself (see $log); restarting it" >&2
    tail -5 "$log" >&2
    start_daemon
  fi
}

fault() {
  case "$1" in
    none) ;;
    kill9)
      kill -9 "$daemon"; wait "$daemon" 2>/dev/null || true
      start_daemon ;;
    flush)
      ip netns exec $gw nft flush ruleset
      # The lab's own masquerade (what the router's firewall would put back after a reload).
      ip netns exec $gw nft -f - <<'NFT'
table ip lab_masq {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade
  }
}
NFT
      ;;
    wan)
      # From whichever of the two addresses wan0 has now to the other (read, not remembered).
      local now=203.0.113.1 next=203.0.113.5
      if ip netns exec $gw ip -4 addr show dev wan0 | grep -q 'inet 203\.0\.113\.5/'; then now=203.0.113.5 next=203.0.113.1; fi
      ip netns exec $gw ip addr replace $next/24 dev wan0
      ip netns exec $gw ip addr del $now/24 dev wan0 2>/dev/null || true
      ip netns exec $gw ip route replace default via 203.0.113.2 dev wan0 ;;
    link)
      ip netns exec $gw ip link set br-lan down
      sleep 2
      ip netns exec $gw ip link set br-lan up
      # What the network configuration puts back: IPv6 addresses go with the link.
      ip netns exec $gw ip -6 addr add 2001:db8:77::1/64 dev br-lan nodad 2>/dev/null || true ;;
    disk)
      dd if=/dev/zero of="$state/fill" bs=64k 2>/dev/null || true
      sleep 10
      rm -f "$state/fill" ;;
    hup)
      echo '{ "admin": { "listen": ' > "$config"
      kill -HUP "$daemon"
      sleep 2
      echo "$good_config" > "$config"
      kill -HUP "$daemon" ;;
    garbage)
      ip netns exec $lan2 python3 - <<'PY'
import os, random, socket
random.seed(os.getpid())
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    size = random.choice([0, 1, 2, 11, 12, 24, 59, 60, 61, 100, 1100, 1101, 1500])
    data = bytes(random.getrandbits(8) for _ in range(size))
    if data and random.random() < 0.5:
        data = bytes([random.choice([0, 1, 2]), random.choice([0, 1, 2, 3, 128])]) + data[2:]
    udp.sendto(data, ("192.168.77.1", random.choice([5351, 5351, 1900, 5350])))
for i in range(40):
    try:
        t = socket.create_connection(("192.168.77.1", random.choice([5000, 8470])), timeout=1)
        t.sendall(random.choice([b"POST /ctl/IPConn1 HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n<",
                                 b"SUBSCRIBE /evt/IPConn1 HTTP/1.1\r\nCALLBACK: <http://203.0.113.2/>\r\n\r\n",
                                 bytes(random.getrandbits(8) for _ in range(2000))]))
        t.close()
    except OSError:
        pass
PY
      ;;
  esac
}

start_daemon
ip netns exec $wan "${load[@]}" rtsp-server --listen 203.0.113.2:554 >/dev/null 2>&1 &
server=$!
seconds=$((minutes * 60))
ip netns exec $lan "${load[@]}" soak --gateway 192.168.77.1 --clients 192.168.77.100 150 --seconds $seconds \
  --token-file "$state/admin.token" --rtsp 203.0.113.2:554 --ledger "$work/ledger" > "$work/load.out" 2> "$work/load.err" &
loader=$!
clock=$SECONDS
echo "soak: $minutes min, faults $faults, seed $seed, daemon $bin, $(nproc) cores"

# The level after the first minute (under load, before any fault).
sleep 42
check_alive
read -r rss0 fds0 threads0 < <(level)
echo "soak: after the first minute: RSS $((rss0 / 1024)) MB, $fds0 descriptors, $threads0 threads"

IFS=, read -r -a kinds <<< "$faults"
declare -A injected=()
while [ $((SECONDS - clock + 40 + 40)) -lt $seconds ]; do
  sleep $((20 + RANDOM % 21))
  check_alive
  kind=${kinds[$((RANDOM % ${#kinds[@]}))]}
  read -r rss fds threads < <(figures)
  echo "soak: $(date +%T) fault: $kind (RSS $((rss / 1024)) MB, $fds descriptors, $threads threads)"
  # A fault that cannot be injected is reported, and the soak goes on.
  fault "$kind" || echo "soak: $(date +%T) fault $kind could not be injected" >&2
  injected[$kind]=$(( ${injected[$kind]:-0} + 1 ))
done
check_alive

# The load ends on its own, then audits the ledger once more.
wait "$loader" || true
loader=""
check_alive
cat "$work/load.out"
grep -v '^$' "$work/load.err" | head -20 >&2 || true

# The lease table against the kernel's NAT map: the same (protocol, port) -> (address, port), nothing more or less.
# Leases within 10 s of their end on either side are left out of both: the kernel's entries time out by themselves,
# rounded to its own clock.
token=$(cat "$state/admin.token")
ip netns exec $gw curl -s -H "Authorization: Bearer $token" http://192.168.77.1:8470/api/leases > "$work/table.json"
ip netns exec $gw nft -j list map inet portmapper nat4 > "$work/kernel.json"
mismatch=$(python3 - "$work/table.json" "$work/kernel.json" <<'PY'
import json, sys
table, near = {}, set()
for l in json.load(open(sys.argv[1])):
    if l["pinhole"] or l["remotePeer"]:
        continue
    key = (l["protocol"].lower(), l["externalPort"])
    table[key] = (l["internalAddress"], l["internalPort"])
    if l["secondsLeft"] is not None and l["secondsLeft"] <= 10:
        near.add(key)
kernel = {}
for item in json.load(open(sys.argv[2]))["nftables"]:
    m = item.get("map")
    if not m:
        continue
    for key, value in m.get("elem", []):
        if isinstance(key, dict) and "elem" in key:
            k = key["elem"]["val"]["concat"]
            expires = key["elem"].get("expires", 3600)
        else:
            k, expires = key["concat"], 3600
        proto = {6: "tcp", 17: "udp"}.get(k[0], str(k[0]))
        kernel[(proto, k[1])] = tuple(value["concat"])
        if expires <= 10:
            near.add((proto, k[1]))
diff = [(k, table.get(k), kernel.get(k)) for k in set(table) | set(kernel) if k not in near and table.get(k) != kernel.get(k)]
for d in sorted(diff, key=str)[:10]:
    print(f"soak: table {d[1]} kernel {d[2]} for {d[0]}", file=sys.stderr)
print(len(diff))
PY
)
echo "soak: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/table.json") leases in the table at the end, $mismatch differing from the kernel"

# Back to the level of the first minute once the load is gone (the trimmer hands memory back within 30 s).
sleep 30
read -r rss1 fds1 threads1 < <(level)
growth() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 100 / a }'; }
rss_growth=$(growth "$rss0" "$rss1") fds_growth=$(growth "$fds0" "$fds1") threads_growth=$(growth "$threads0" "$threads1")
acked=$(sed -nE 's/.* acked=([0-9]+).*/\1/p' "$work/load.out")
lost=$(sed -nE 's/.* lost=([0-9]+).*/\1/p' "$work/load.out")
# Still serving: most answers are grants. A gateway that stopped granting (a state filesystem filled for good, say)
# loses no acknowledged lease, so the ledger alone would not see it.
answered=$(sed -nE 's/.* answered=([0-9]+).*/\1/p' "$work/load.out")
refused=$(sed -nE 's/.* refused=([0-9]+).*/\1/p' "$work/load.out")
refused_share=$(awk -v r="${refused:-0}" -v a="${answered:-0}" 'BEGIN { printf "%.0f", (a > 0 ? r * 100 / a : 100) }')
echo "soak: faults injected: $(for k in "${!injected[@]}"; do printf '%s=%s ' "$k" "${injected[$k]}"; done)"
echo "soak: daemon starts $starts, stopped by itself $unexpected"
echo "soak: at the end: RSS $((rss1 / 1024)) MB, $fds1 descriptors, $threads1 threads (threads-growth=$threads_growth%)"
echo "soak: $refused of $answered answers refused ($refused_share%; at most 50% expected)"
echo "acked=${acked:-0} lost=${lost:-unknown} kernel-mismatch=$mismatch rss-growth=$rss_growth% fds-growth=$fds_growth%"
[ "${lost:-1}" = 0 ] && [ "$mismatch" = 0 ] && [ "$unexpected" = 0 ] && [ "$refused_share" -le 50 ] \
  && [ "$rss_growth" -le 20 ] && [ "$fds_growth" -le 20 ] && [ "$threads_growth" -le 20 ]
