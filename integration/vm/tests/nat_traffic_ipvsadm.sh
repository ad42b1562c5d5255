# Real traffic through IPVS NAT programmed by ipvsadm (the reference client): rr splits 10
# requests exactly 5/5 between the two real servers.
. /tests/lib.sh

nat_topology
ip netns exec director ipvsadm -A -t 10.0.1.100:80 -s rr || fail "ipvsadm -A"
ip netns exec director ipvsadm -a -t 10.0.1.100:80 -r 10.0.2.11:80 -m || fail "ipvsadm -a r1"
ip netns exec director ipvsadm -a -t 10.0.1.100:80 -r 10.0.2.12:80 -m || fail "ipvsadm -a r2"
expect_split client http://10.0.1.100/ 10 "5 5"
ip netns exec director ipvsadm -Ln --stats
