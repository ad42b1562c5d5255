# Real traffic through IPVS NAT programmed by the adapter: rr splits 10 requests exactly 5/5,
# and the adapter reads the counters back (10 connections, 5 per real server).
. /tests/lib.sh

nat_topology
ip netns exec director vigil-ipvs-probe apply - <<'RULES' || fail "apply"
-A -t 10.0.1.100:80 -s rr
-a -t 10.0.1.100:80 -r 10.0.2.11:80 -m -w 1
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 1
RULES
expect_split client http://10.0.1.100/ 10 "5 5"
# The kernel folds its per-CPU counters into what it reports every 2 s (the estimator).
for attempt in 1 2 3 4 5 6 7 8; do
  stats=$(ip netns exec director vigil-ipvs-probe stats)
  echo "$stats" | grep -q '^TCP 10.0.1.100:80 conns 10 ' && break
  sleep 1
done
echo "$stats"
echo "$stats" | grep -q '^TCP 10.0.1.100:80 conns 10 ' || fail "service counters"
echo "$stats" | grep -q -- '-> 10.0.2.11:80 conns 5 ' || fail "r1 counters"
echo "$stats" | grep -q -- '-> 10.0.2.12:80 conns 5 ' || fail "r2 counters"
inpkts=$(echo "$stats" | sed -n 's/^TCP 10.0.1.100:80 conns 10 inpkts \([0-9]*\) .*/\1/p')
[ "${inpkts:-0}" -ge 50 ] || fail "service inpkts $inpkts: at least 5 packets per connection"
