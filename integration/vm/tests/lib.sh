# Helpers sourced by the VM test scripts (bash). Each test runs in a fresh network
# namespace; namespaces it creates are removed, and processes left in them killed, by /init.

fail() {
  echo "FAIL: $*"
  exit 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [ "$2" != "$3" ]; then
    echo "FAIL: $1"
    echo "--- expected"
    echo "$2"
    echo "--- actual"
    echo "$3"
    exit 1
  fi
}

# Background processes started with `spawn` are killed by PID when the test exits.
spawned_pids=
spawn() {
  "$@" &
  spawned_pids="$spawned_pids $!"
}
kill_spawned() {
  for pid in $spawned_pids; do kill "$pid" 2>/dev/null; done
}
trap kill_spawned EXIT

# veth_pair NS_A IF_A ADDR_A NS_B IF_B ADDR_B: a veth between two namespaces, addresses with
# prefix length (either may be "-" to leave it without address).
veth_pair() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
  [ "$3" = - ] || ip -n "$1" addr add "$3" dev "$2"
  [ "$6" = - ] || ip -n "$4" addr add "$6" dev "$5"
}

new_ns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
}

# http_server NS NAME PORT: busybox httpd in NS answering every GET / with NAME.
http_server() {
  mkdir -p "/tmp/www-$1-$3"
  echo "$2" >"/tmp/www-$1-$3/index.html"
  spawn ip netns exec "$1" httpd -f -p "$3" -h "/tmp/www-$1-$3"
}

# wait_tcp NS ADDR PORT: until something listens (at most ~5 s).
wait_tcp() {
  i=0
  while [ $i -lt 50 ]; do
    if nsenter --net="/run/netns/$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
    i=$((i + 1))
  done
  fail "nothing listens on $2:$3 in $1"
}

# fetch_many NS URL COUNT: prints each response body (one line each). nsenter and wget are
# busybox applets: under software emulation they start far faster than iproute2's `ip`.
fetch_many() {
  i=0
  while [ $i -lt "$3" ]; do
    nsenter --net="/run/netns/$1" timeout 5 wget -q -O - "$2" || echo "ERROR"
    i=$((i + 1))
  done
}

# nat_topology: client -> director -> 2 real servers running httpd, for IPVS NAT.
#
#   client 10.0.1.2 --veth-- 10.0.1.1 (+VIP 10.0.1.100) director 10.0.2.1 (br0)
#                                                 +-- veth -- r1 10.0.2.11
#                                                 +-- veth -- r2 10.0.2.12
# The real servers route back through the director (NAT needs the replies).
nat_topology() {
  new_ns client
  new_ns director
  new_ns r1
  new_ns r2
  veth_pair client eth0 10.0.1.2/24 director eth0 10.0.1.1/24
  ip -n director addr add 10.0.1.100/32 dev eth0
  ip -n client route add default via 10.0.1.1
  ip -n director link add br0 type bridge
  ip -n director link set br0 up
  ip -n director addr add 10.0.2.1/24 dev br0
  for rs in r1 r2; do
    veth_pair "$rs" eth0 - director "v$rs" -
    ip -n director link set "v$rs" master br0
  done
  ip -n r1 addr add 10.0.2.11/24 dev eth0
  ip -n r2 addr add 10.0.2.12/24 dev eth0
  ip -n r1 route add default via 10.0.2.1
  ip -n r2 route add default via 10.0.2.1
  ip netns exec director sysctl -qw net.ipv4.ip_forward=1
  http_server r1 r1 80
  http_server r2 r2 80
  wait_tcp r1 10.0.2.11 80
  wait_tcp r2 10.0.2.12 80
}

# expect_split NS URL COUNT EXPECTED: COUNT requests, EXPECTED is "r1-count r2-count".
expect_split() {
  local responses
  responses=$(fetch_many "$1" "$2" "$3")
  echo "$responses" | sort | uniq -c
  expect_eq "split of $3 requests (r1 r2)" "$4" \
    "$(echo "$responses" | grep -c '^r1$') $(echo "$responses" | grep -c '^r2$')"
}

# expect_sorted_eq WHAT EXPECTED_FILE ACTUAL_TEXT: equal as sets of lines (ipvsadm prints in
# the kernel's hash order).
expect_sorted_eq() {
  expect_eq "$1" "$(grep -v '^#' "$2" | LC_ALL=C sort)" "$(echo "$3" | LC_ALL=C sort)"
}

# l2_topology: client, director and real servers r1, r2 on one bridge (in the test's own
# namespace), 10.0.3.0/24, for DR and TUN: the real servers answer the client directly. They
# hold VIPs without answering ARP for them (arp_ignore/arp_announce) and accept decapsulated
# packets whose source is reached through another device (rp_filter off).
l2_topology() {
  # Tunnel fallback devices (tunl0, gre0) appear in namespaces created after these load.
  modprobe -a ipip ip_gre fou || fail "tunnel modules"
  ip link add br0 type bridge
  ip link set br0 up
  local spec ns address
  for spec in client:10.0.3.2 director:10.0.3.1 r1:10.0.3.11 r2:10.0.3.12; do
    ns=${spec%%:*}
    address=${spec#*:}
    new_ns "$ns"
    ip link add "v$ns" type veth peer name eth0 netns "$ns"
    ip link set "v$ns" master br0 up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" addr add "$address/24" dev eth0
  done
  for ns in r1 r2; do
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_announce=2
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.default.rp_filter=0
  done
  http_server r1 r1 80
  http_server r2 r2 80
  wait_tcp r1 10.0.3.11 80
  wait_tcp r2 10.0.3.12 80
}
