# vigilctl doctor and a NAT real server whose replies bypass the director (issue 15: "for NAT,
# the return path"). A NAT service over r1 and r2; r1's default route does not go through the
# director, so every connection rr sends it stays in SYN_RECV in IPVS (the client's SYN is
# forwarded, r1's SYN-ACK never comes back through the director): doctor FAILs
# rs.nat_return_path for r1 with the route fix and says OK for r2, whose replies come back.
# With r1's route through the director again, new connections get past SYN_RECV: OK for r1.
# vigil-timeout: 120
. /tests/lib.sh

nat_topology
cat >/tmp/doctor-nat.conf <<'CONF'
virtual_server 10.0.1.100 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 80 {
        weight 1
    }
    real_server 10.0.2.12 80 {
        weight 1
    }
}
CONF
ip netns exec director vigil-ipvs-probe apply - <<'RULES' || fail "apply"
-A -t 10.0.1.100:80 -s rr
-a -t 10.0.1.100:80 -r 10.0.2.11:80 -m -w 1
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 1
RULES
# r1 answers the client by another way (here: none): its replies never reach the director.
ip -n r1 route del default
responses=$(fetch_many client http://10.0.1.100/ 8 | sed 's/^/  /')
echo "$responses"
echo "$responses" | grep -c 'r2' | grep -qx 4 || fail "r2 did not answer its 4 requests"
ip netns exec director cat /proc/net/ip_vs_conn

doctor() {
  ip netns exec director vigilctl doctor -f /tmp/doctor-nat.conf --no-probes 2>&1
}
out=$(doctor)
echo "$out" | grep 'rs.nat_return_path'
r1=$(echo "$out" | grep '^FAIL \+rs.nat_return_path .*real_server 10.0.2.11:80') ||
  { echo "$out"; fail "no FAIL rs.nat_return_path line for r1"; }
echo "$r1" | grep -q 'connections to 10.0.2.11:80 are in SYN_RECV and none got further' ||
  fail "r1 line: $r1"
echo "$out" | grep -q 'fix: on 10.0.2.11: ip route replace default via' ||
  { echo "$out"; fail "no route fix for r1"; }
r2=$(echo "$out" | grep '^OK \+rs.nat_return_path .*real_server 10.0.2.12:80') ||
  { echo "$out"; fail "no OK rs.nat_return_path line for r2"; }
echo "$r2" | grep -q 'connections to 10.0.2.12:80 got past SYN_RECV' || fail "r2 line: $r2"

ip -n r1 route add default via 10.0.2.1
expect_split client http://10.0.1.100/ 4 "2 2"
out=$(doctor)
echo "$out" | grep 'rs.nat_return_path'
echo "$out" | grep -q '^OK \+rs.nat_return_path .*real_server 10.0.2.11:80' ||
  { echo "$out"; fail "r1's return path still judged broken"; }
