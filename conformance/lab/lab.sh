#!/usr/bin/env bash
# The namespace lab of DESIGN.md.
#   lab.sh up PREFIX    create PREFIXgw, PREFIXwan, PREFIXlan1, PREFIXlan2
#   lab.sh down PREFIX  delete them
#   lab.sh chain PREFIX the double-NAT lab instead: PREFIXinet, PREFIXisp, PREFIXgw, PREFIXlan1 (below)
#   lab.sh devices PREFIX COUNT   COUNT more LAN clients in PREFIXlan1, each a device of its own: 192.168.77.100 on,
#                       each on a macvlan interface of eth0 with its own MAC address
#
#   PREFIXwan   eth0 203.0.113.2/24 + .3/24, 2001:db8:ffff::2/64   (the upstream; routes 2001:db8:77::/64 to
#               the gateway, but has no route to the IPv4 LAN behind the NAT)
#   PREFIXgw    wan0 203.0.113.1/24, 2001:db8:ffff::1/64, default via 203.0.113.2
#               br-lan 192.168.77.1/24, 2001:db8:77::1/64 (a bridge, as on a home router)
#               forwarding on, masquerade out of wan0; the daemon adds the rest
#   PREFIXlan1  eth0 192.168.77.10/24, 2001:db8:77::10/64
#   PREFIXlan2  eth0 192.168.77.11/24, 2001:db8:77::11/64
#
# The chain (double NAT, carrier-grade NAT):
#   PREFIXinet  eth0 203.0.113.2/24, 11.1.1.2/24                      (an Internet host)
#   PREFIXisp   wan0 203.0.113.1/24, 11.1.1.1/24; isp0 100.64.0.1/24  (the ISP's gateway: NAT from 100.64.0.0/24)
#   PREFIXgw    wan0 100.64.0.2/24, default via 100.64.0.1; br-lan 192.168.77.1/24 (the gateway under test)
#   PREFIXlan1  eth0 192.168.77.10/24
# 11.1.1.1 is for an ISP daemon that will not serve a documentation address (miniupnpd): told it as its own, it
# is reachable from the Internet host as well.
# Links are created inside the namespaces, so labs with different prefixes never collide.
set -euo pipefail

cmd=${1:?usage: lab.sh up|down PREFIX}
p=${2:-pm-}
gw=${p}gw wan=${p}wan lan1=${p}lan1 lan2=${p}lan2 inet=${p}inet isp=${p}isp

down() {
  for ns in "$gw" "$wan" "$lan1" "$lan2" "$inet" "$isp"; do
    ip netns del "$ns" 2>/dev/null || true
  done
}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Source NAT of everything leaving the namespace's wan0, as a home router (or the ISP's) does.
masquerade() {
  nsx "$1" nft -f - <<'NFT'
table ip lab_masq {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade
  }
}
NFT
}

# Waits until COUNT ports of the gateway's LAN bridge forward.
bridge_forwarding() {
  for _ in $(seq 1 50); do
    [ "$(nsx "$gw" bridge link show | grep -c 'state forwarding')" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "lab.sh: the LAN bridge did not start forwarding" >&2
  return 1
}

up() {
  down
  for ns in "$gw" "$wan" "$lan1" "$lan2"; do
    ip netns add "$ns"
    nsx "$ns" ip link set lo up
  done

  ip link add wan0 netns "$gw" type veth peer eth0 netns "$wan"
  nsx "$gw" ip link add br-lan type bridge
  # The gateway's link-local address is usable at once (no duplicate address detection), as on a router that has
  # been up for a while: the kernel solicits a neighbour from it, and the daemon asks for such solicitations.
  nsx "$gw" sysctl -qw net.ipv6.conf.br-lan.accept_dad=0
  nsx "$gw" ip link set br-lan up
  local i=1
  for host in "$lan1" "$lan2"; do
    ip link add "lan$i" netns "$gw" type veth peer eth0 netns "$host"
    nsx "$gw" ip link set "lan$i" master br-lan up
    i=$((i + 1))
  done

  nsx "$wan" ip addr add 203.0.113.2/24 dev eth0
  nsx "$wan" ip addr add 203.0.113.3/24 dev eth0
  nsx "$wan" ip -6 addr add 2001:db8:ffff::2/64 dev eth0 nodad
  nsx "$wan" ip link set eth0 up
  # The upstream routes the LAN's IPv6 prefix to the gateway, as an ISP does with a delegated prefix.
  nsx "$wan" ip -6 route add 2001:db8:77::/64 via 2001:db8:ffff::1 dev eth0

  nsx "$gw" ip addr add 203.0.113.1/24 dev wan0
  nsx "$gw" ip -6 addr add 2001:db8:ffff::1/64 dev wan0 nodad
  nsx "$gw" ip link set wan0 up
  nsx "$gw" ip route add default via 203.0.113.2 dev wan0
  nsx "$gw" ip -6 route add default via 2001:db8:ffff::2 dev wan0
  nsx "$gw" ip addr add 192.168.77.1/24 dev br-lan
  nsx "$gw" ip -6 addr add 2001:db8:77::1/64 dev br-lan nodad
  nsx "$gw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  masquerade "$gw"

  local n=10
  for host in "$lan1" "$lan2"; do
    nsx "$host" ip addr add "192.168.77.$n/24" dev eth0
    nsx "$host" ip -6 addr add "2001:db8:77::$n/64" dev eth0 nodad
    nsx "$host" ip link set eth0 up
    nsx "$host" ip route add default via 192.168.77.1
    nsx "$host" ip -6 route add default via 2001:db8:77::1
    n=$((n + 1))
  done

  # Wait until both bridge ports forward, so the first packets are not lost.
  bridge_forwarding 2
}

chain() {
  down
  for ns in "$inet" "$isp" "$gw" "$lan1"; do
    ip netns add "$ns"
    nsx "$ns" ip link set lo up
  done

  ip link add wan0 netns "$isp" type veth peer eth0 netns "$inet"
  ip link add isp0 netns "$isp" type veth peer wan0 netns "$gw"
  nsx "$gw" ip link add br-lan type bridge
  nsx "$gw" sysctl -qw net.ipv6.conf.br-lan.accept_dad=0
  nsx "$gw" ip link set br-lan up
  ip link add lan1 netns "$gw" type veth peer eth0 netns "$lan1"
  nsx "$gw" ip link set lan1 master br-lan up

  nsx "$inet" ip addr add 203.0.113.2/24 dev eth0
  nsx "$inet" ip addr add 11.1.1.2/24 dev eth0
  nsx "$inet" ip link set eth0 up

  nsx "$isp" ip addr add 203.0.113.1/24 dev wan0
  nsx "$isp" ip addr add 11.1.1.1/24 dev wan0
  nsx "$isp" ip link set wan0 up
  nsx "$isp" ip route add default via 203.0.113.2 dev wan0
  nsx "$isp" ip addr add 100.64.0.1/24 dev isp0
  nsx "$isp" ip link set isp0 up

  nsx "$gw" ip addr add 100.64.0.2/24 dev wan0
  nsx "$gw" ip link set wan0 up
  nsx "$gw" ip route add default via 100.64.0.1 dev wan0
  nsx "$gw" ip addr add 192.168.77.1/24 dev br-lan

  nsx "$lan1" ip addr add 192.168.77.10/24 dev eth0
  nsx "$lan1" ip link set eth0 up
  nsx "$lan1" ip route add default via 192.168.77.1

  for ns in "$isp" "$gw"; do
    nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
    masquerade "$ns"
  done

  bridge_forwarding 1
}

# Only the interface that holds an address answers ARP for it, so the gateway learns each client's own MAC.
devices() {
  local count=${1:?usage: lab.sh devices PREFIX COUNT}
  nsx "$lan1" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
  for i in $(seq 100 $((99 + count))); do
    ip -n "$lan1" link add c$i link eth0 type macvlan mode bridge
    ip -n "$lan1" addr add 192.168.77.$i/32 dev c$i
    ip -n "$lan1" link set c$i up
  done
}

case "$cmd" in
  up) up ;;
  chain) chain ;;
  down) down ;;
  devices) devices "${3:-}" ;;
  *) echo "usage: lab.sh up|chain|down PREFIX | devices PREFIX COUNT" >&2; exit 2 ;;
esac
