# Real traffic through services vigild programs from a configuration: NAT (nat_topology), then
# DR and TUN with IPIP, GUE and GRE (l2_topology, as the adapter_*_traffic tests); rr splits 10
# requests exactly 5/5 through each.
# vigil-timeout: 240
. /tests/lib.sh
. /tests/vigild_lib.bash

# rr_service VIP METHOD_LINE RS1 RS2: a virtual_server block on port 80.
rr_service() {
  cat <<CONF
virtual_server $1 80 {
    lvs_sched rr
    $2
    protocol TCP
    real_server $3 80 {
        weight 1
    }
    real_server $4 80 {
        weight 1
    }
}
CONF
}

# --- NAT -------------------------------------------------------------------------------------
nat_topology
rr_service 10.0.1.100 "lvs_method NAT" 10.0.2.11 10.0.2.12 >/tmp/vigild-nat.conf
start_vigild nat /tmp/vigild-nat.conf director
want="-A -t 10.0.1.100:80 -s rr
-a -t 10.0.1.100:80 -r 10.0.2.11:80 -m -w 1
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 1"
wait_table director "$(echo "$want" | LC_ALL=C sort)" 15 ||
  { show_log nat; fail "NAT table: $(table director)"; }
echo "nat:"
expect_split client http://10.0.1.100/ 10 "5 5"
stop_pid "$vigild_pid" TERM 10
[ -z "$(table director)" ] || fail "NAT service left after SIGTERM"

# The L2 topology reuses the namespace names: the NAT one goes first, with its httpds.
kill_spawned
spawned_pids=
for ns in client director r1 r2; do ip netns del "$ns"; done

# --- DR and TUN ------------------------------------------------------------------------------
l2_topology
for vip in 10.0.3.100 10.0.3.101 10.0.3.102 10.0.3.103; do
  ip -n director addr add "$vip/32" dev eth0
done
for rs in r1 r2; do
  ip -n "$rs" addr add 10.0.3.100/32 dev lo
  ip -n "$rs" link set tunl0 up
  ip -n "$rs" addr add 10.0.3.101/32 dev tunl0
  ip -n "$rs" addr add 10.0.3.102/32 dev tunl0
  ip -n "$rs" fou add port 6080 gue || fail "fou listener in $rs"
  ip -n "$rs" link set gre0 up
  ip -n "$rs" addr add 10.0.3.103/32 dev gre0
  for dev in tunl0 gre0; do ip netns exec "$rs" sysctl -qw "net.ipv4.conf.$dev.rp_filter=0"; done
done
{
  rr_service 10.0.3.100 "lvs_method DR" 10.0.3.11 10.0.3.12
  rr_service 10.0.3.101 "lvs_method TUN" 10.0.3.11 10.0.3.12
  rr_service 10.0.3.102 "lvs_method TUN type gue port 6080" 10.0.3.11 10.0.3.12
  rr_service 10.0.3.103 "lvs_method TUN type gre" 10.0.3.11 10.0.3.12
} >/tmp/vigild-l2.conf
start_vigild l2 /tmp/vigild-l2.conf director
# IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM is 0, the default: ipvsadm prints it for GUE and GRE.
want="-A -t 10.0.3.100:80 -s rr
-a -t 10.0.3.100:80 -r 10.0.3.11:80 -g -w 1
-a -t 10.0.3.100:80 -r 10.0.3.12:80 -g -w 1
-A -t 10.0.3.101:80 -s rr
-a -t 10.0.3.101:80 -r 10.0.3.11:80 -i -w 1 --tun-type ipip
-a -t 10.0.3.101:80 -r 10.0.3.12:80 -i -w 1 --tun-type ipip
-A -t 10.0.3.102:80 -s rr
-a -t 10.0.3.102:80 -r 10.0.3.11:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-a -t 10.0.3.102:80 -r 10.0.3.12:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-A -t 10.0.3.103:80 -s rr
-a -t 10.0.3.103:80 -r 10.0.3.11:80 -i -w 1 --tun-type gre --tun-nocsum
-a -t 10.0.3.103:80 -r 10.0.3.12:80 -i -w 1 --tun-type gre --tun-nocsum"
wait_table director "$(echo "$want" | LC_ALL=C sort)" 15 ||
  { show_log l2; expect_eq "DR/TUN table" "$(echo "$want" | LC_ALL=C sort)" "$(table director)"; }
echo "dr:"
expect_split client http://10.0.3.100/ 10 "5 5"
echo "ipip:"
expect_split client http://10.0.3.101/ 10 "5 5"
echo "gue:"
expect_split client http://10.0.3.102/ 10 "5 5"
echo "gre:"
expect_split client http://10.0.3.103/ 10 "5 5"
stop_pid "$vigild_pid" TERM 10
[ -z "$(table director)" ] || fail "DR/TUN services left after SIGTERM"
