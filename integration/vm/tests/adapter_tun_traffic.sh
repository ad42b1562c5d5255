# Real traffic through IPVS tunnelling programmed by the adapter, one VIP per tunnel type:
# IPIP (decapsulated on tunl0), GUE to port 6080 (a fou listener hands the inner IPIP packet
# to tunl0), GRE (gre0). The real servers answer the client directly; rr splits 5/5 each.
. /tests/lib.sh

l2_topology
for vip in 10.0.3.101 10.0.3.102 10.0.3.103; do
  ip -n director addr add "$vip/32" dev eth0
done
for rs in r1 r2; do
  ip -n "$rs" link set tunl0 up
  ip -n "$rs" addr add 10.0.3.101/32 dev tunl0
  ip -n "$rs" addr add 10.0.3.102/32 dev tunl0
  ip -n "$rs" fou add port 6080 gue || fail "fou listener in $rs"
  ip -n "$rs" link set gre0 up
  ip -n "$rs" addr add 10.0.3.103/32 dev gre0
  for dev in tunl0 gre0; do ip netns exec "$rs" sysctl -qw "net.ipv4.conf.$dev.rp_filter=0"; done
done
ip netns exec director vigil-ipvs-probe apply - <<'RULES' || fail "apply"
-A -t 10.0.3.101:80 -s rr
-a -t 10.0.3.101:80 -r 10.0.3.11:80 -i -w 1
-a -t 10.0.3.101:80 -r 10.0.3.12:80 -i -w 1
-A -t 10.0.3.102:80 -s rr
-a -t 10.0.3.102:80 -r 10.0.3.11:80 -i -w 1 --tun-type gue --tun-port 6080
-a -t 10.0.3.102:80 -r 10.0.3.12:80 -i -w 1 --tun-type gue --tun-port 6080
-A -t 10.0.3.103:80 -s rr
-a -t 10.0.3.103:80 -r 10.0.3.11:80 -i -w 1 --tun-type gre
-a -t 10.0.3.103:80 -r 10.0.3.12:80 -i -w 1 --tun-type gre
RULES
ip netns exec director ipvsadm -Ln --tun-info
echo "ipip:"
expect_split client http://10.0.3.101/ 10 "5 5"
echo "gue:"
expect_split client http://10.0.3.102/ 10 "5 5"
echo "gre:"
expect_split client http://10.0.3.103/ 10 "5 5"
