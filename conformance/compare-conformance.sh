#!/usr/bin/env bash
# pm-conformance against PortMapper (the published daemon) and against Debian's miniupnpd (miniupnpd-nftables),
# one after the other in the same namespace lab, with a second LAN address for the two-client cases and the WAN
# agent on the lab's Internet host; prints both columns case by case and ends with
#   portmapper: P passed, F failed, S skipped; miniupnpd: P passed, F failed, S skipped
#   bash conformance/compare-conformance.sh [--only portmapper|miniupnpd] [--keep DIR]
# PORTMAPPER_BIN names the daemon (else it is published); PM_CONFORMANCE names the tool, or the command that runs
# it (else it is built and run with dotnet). The JSON reports stay in --keep DIR when given.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
only="" keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

bash scripts/deps.sh >/dev/null
[ -x /usr/sbin/miniupnpd ] || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends miniupnpd-nftables >/dev/null; }
bin=${PORTMAPPER_BIN:-}
if [ -z "$bin" ]; then
  dotnet publish src/Gateway -c Release -o artifacts/publish -v quiet -nologo >/dev/null
  bin=$root/artifacts/publish/portmapper
fi
if [ -n "${PM_CONFORMANCE:-}" ]; then
  read -r -a tool <<<"$PM_CONFORMANCE" # a path, or a command such as "dotnet .../pm-conformance.dll"
else
  dotnet build conformance/Tool -c Release -v quiet -nologo >/dev/null
  tool=(dotnet "$root/conformance/Tool/bin/Release/net10.0/pm-conformance.dll")
fi

p=cc$$-
gw=${p}gw lan=${p}lan1 wan=${p}wan
work=$(mktemp -d /tmp/portmapper-conformance.XXXXXX)
daemon="" agent=""
stop_daemon() {
  [ -n "$daemon" ] || return 0
  kill "$daemon" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.05; done
  daemon=""
}
cleanup() {
  stop_daemon
  [ -z "$agent" ] || kill "$agent" 2>/dev/null || true
  bash conformance/lab/lab.sh down $p
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$work"/*.json "$keep"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

bash conformance/lab/lab.sh up $p >/dev/null
ip -n $lan addr add 192.168.77.12/24 dev eth0
ip netns exec $wan "${tool[@]}" wan-agent --listen 203.0.113.2:5399 >"$work/agent.log" 2>&1 &
agent=$!

# miniupnpd as compare.sh runs it: NAT-PMP, PCP and UPnP, secure mode, a lease file. It refuses to serve a
# documentation WAN address, so it is told a global one; the WAN helper is told where the lab really is.
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

wait_ready() { # the gateway answers NAT-PMP
  for _ in $(seq 100); do
    if ip netns exec $lan natpmpc -g 192.168.77.1 >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$1 did not start" >&2; return 1
}

run_suite() { # NAME EXTRA-ARGS...
  local name=$1; shift
  ip netns exec $lan "${tool[@]}" --gateway 192.168.77.1 --also-client 192.168.77.12 --wan-helper agent:203.0.113.2:5399 \
    --report "$work/$name.json" "$@" >"$work/$name.txt" 2>&1 || true
  [ -s "$work/$name.json" ] || { echo "pm-conformance wrote no report for $name:" >&2; cat "$work/$name.txt" >&2; return 1; }
}

if [ -z "$only" ] || [ "$only" = portmapper ]; then
  ip netns exec $gw "$bin" run --state-dir "$work/state" --log-level warning >"$work/portmapper.log" 2>&1 &
  daemon=$!
  wait_ready portmapper
  run_suite portmapper --gateway6 2001:db8:77::1
  stop_daemon
  ip netns exec $gw nft delete table inet portmapper 2>/dev/null || true
fi

if [ -z "$only" ] || [ "$only" = miniupnpd ]; then
  ip netns exec $gw nft -f conformance/lab/miniupnpd.nft
  ip netns exec $gw /usr/sbin/miniupnpd -f "$work/miniupnpd.conf" -P "$work/miniupnpd.pid"
  for _ in $(seq 100); do [ -s "$work/miniupnpd.pid" ] && break; sleep 0.05; done
  daemon=$(cat "$work/miniupnpd.pid")
  wait_ready miniupnpd
  # (Not told the gateway's IPv6 address: this configuration has no IPv6 for miniupnpd, so those cases SKIP.)
  run_suite miniupnpd --external 203.0.113.1
  stop_daemon
fi

python3 - "$work" "$only" <<'PY'
import json, os, sys
work, only = sys.argv[1], sys.argv[2]
names = [n for n in ("portmapper", "miniupnpd") if not only or n == only]
reports = {n: json.load(open(os.path.join(work, n + ".json"))) for n in names}
cases = {}
for n in names:
    for c in reports[n]["cases"]:
        cases.setdefault(c["id"], {"suite": c["suite"], "section": c["section"]})[n] = c
print(f"{'case':44} {'section':34} " + " ".join(f"{n:10}" for n in names))
suite = None
for cid, row in cases.items():
    if row["suite"] != suite:
        suite = row["suite"]
        print(f"-- {suite}")
    print(f"{cid:44} {row['section'][:34]:34} " + " ".join(f"{row.get(n, {}).get('outcome', '-'):10}" for n in names))
print()
for cid, row in cases.items():
    for n in names:
        c = row.get(n)
        if c and c["outcome"] == "FAIL":
            print(f"{n} FAIL {cid}: expected {c['expected']}; got {c['got']}")
print()
print("; ".join(f"{n}: {reports[n]['passed']} passed, {reports[n]['failed']} failed, {reports[n]['skipped']} skipped" for n in names))
PY
