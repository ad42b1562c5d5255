# vigilctl doctor beside a running vigild (issue 15): doctor reads the live state over vigild's
# read-only socket and judges how each service's connections spread over real servers of equal
# weight. One client, 30 requests to each of two NAT services on the same two real servers: rr
# spreads them (OK), sh sends every one to the same server (WARN, and the scheduler explains it).
# vigil-timeout: 180
. /tests/lib.sh
. /tests/vigild_lib.bash

nat_topology
cat >/tmp/doctor-skew.conf <<'CONF'
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
virtual_server 10.0.1.100 8080 {
    lvs_sched sh
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
start_vigild skew /tmp/doctor-skew.conf director
want="-A -t 10.0.1.100:80 -s rr
-A -t 10.0.1.100:8080 -s sh
-a -t 10.0.1.100:80 -r 10.0.2.11:80 -m -w 1
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 1
-a -t 10.0.1.100:8080 -r 10.0.2.11:80 -m -w 1
-a -t 10.0.1.100:8080 -r 10.0.2.12:80 -m -w 1"
wait_table director "$(echo "$want" | LC_ALL=C sort)" 15 ||
  { show_log skew; expect_eq "table" "$(echo "$want" | LC_ALL=C sort)" "$(table director)"; }

expect_split client http://10.0.1.100/ 30 "15 15"
responses=$(fetch_many client http://10.0.1.100:8080/ 30)
echo "$responses" | sort | uniq -c
[ "$(echo "$responses" | sort -u | wc -l)" = 1 ] || fail "sh spread one client's requests"
echo "$responses" | grep -q '^r[12]$' || fail "no answer through the sh service"

# vigild's IPVS side answers from a table read up to a second ago: ask until it has counted
# all 60 (at most 20 times).
tries=0
while :; do
  out=$(ip netns exec director vigilctl doctor -f /tmp/doctor-skew.conf --no-probes 2>&1)
  echo "$out" | grep -q ' 30 of 30 connections (100%)' && break
  tries=$((tries + 1))
  [ $tries -lt 20 ] || { echo "$out"; fail "doctor never saw the sh service's 30 connections"; }
  sleep 0.5
done
echo "$out" | grep 'traffic.skew'
rr=$(echo "$out" | grep '^OK \+traffic.skew \+virtual_server 10.0.1.100:80:') ||
  { echo "$out"; fail "no OK traffic.skew line for the rr service"; }
echo "$rr" | grep -q '15 of 30 connections (50%)' || fail "rr line: $rr"
echo "$rr" | grep -q 'the connections are spread' || fail "rr line: $rr"
sh=$(echo "$out" | grep '^WARN \+traffic.skew \+virtual_server 10.0.1.100:8080:') ||
  { echo "$out"; fail "no WARN traffic.skew line for the sh service"; }
echo "$sh" | grep -q '30 of 30 connections (100%)' || fail "sh line: $sh"
echo "$sh" | grep -q 'lb_algo sh explains it' || fail "sh line: $sh"
stop_pid "$vigild_pid" TERM 10
