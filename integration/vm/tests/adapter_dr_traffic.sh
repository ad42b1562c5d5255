# Real traffic through IPVS direct routing programmed by the adapter: the director rewrites
# only the MAC, the real servers hold the VIP on lo and answer the client directly; rr splits
# 10 requests exactly 5/5.
. /tests/lib.sh

l2_topology
ip -n director addr add 10.0.3.100/32 dev eth0
for rs in r1 r2; do ip -n "$rs" addr add 10.0.3.100/32 dev lo; done
ip netns exec director vigil-ipvs-probe apply - <<'RULES' || fail "apply"
-A -t 10.0.3.100:80 -s rr
-a -t 10.0.3.100:80 -r 10.0.3.11:80 -g -w 1
-a -t 10.0.3.100:80 -r 10.0.3.12:80 -g -w 1
RULES
expect_split client http://10.0.3.100/ 10 "5 5"
