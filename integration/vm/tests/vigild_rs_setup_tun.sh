# `vigilctl rs-setup` makes TUN services carry traffic (issue 15), one VIP per tunnel type:
# IPIP (tunl0), GUE to port 6080 (fou, then tunl0) and GRE (gre0). Two real servers start as
# fresh hosts (no tunnel device up, no VIP, rp_filter as booted): vigild programs the three
# services, `rs-setup --check` on each real server exits 1 for each service. The
# `--format shell` script printed on the director for each service, run on each real server,
# makes `--check` exit 0 and rr split 10 requests 5/5 through each VIP.
# vigil-timeout: 240
. /tests/lib.sh
. /tests/vigild_lib.bash

l2_topology
for vip in 10.0.3.101 10.0.3.102 10.0.3.103; do
  ip -n director addr add "$vip/32" dev eth0
done
cat >/tmp/rs-setup-tun.conf <<'CONF'
virtual_server 10.0.3.101 80 {
    lvs_sched rr
    lvs_method TUN
    protocol TCP
    real_server 10.0.3.11 80 {
    }
    real_server 10.0.3.12 80 {
    }
}
virtual_server 10.0.3.102 80 {
    lvs_sched rr
    lvs_method TUN type gue port 6080
    protocol TCP
    real_server 10.0.3.11 80 {
    }
    real_server 10.0.3.12 80 {
    }
}
virtual_server 10.0.3.103 80 {
    lvs_sched rr
    lvs_method TUN type gre
    protocol TCP
    real_server 10.0.3.11 80 {
    }
    real_server 10.0.3.12 80 {
    }
}
CONF
start_vigild rs-setup-tun /tmp/rs-setup-tun.conf director
want="-A -t 10.0.3.101:80 -s rr
-a -t 10.0.3.101:80 -r 10.0.3.11:80 -i -w 1 --tun-type ipip
-a -t 10.0.3.101:80 -r 10.0.3.12:80 -i -w 1 --tun-type ipip
-A -t 10.0.3.102:80 -s rr
-a -t 10.0.3.102:80 -r 10.0.3.11:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-a -t 10.0.3.102:80 -r 10.0.3.12:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-A -t 10.0.3.103:80 -s rr
-a -t 10.0.3.103:80 -r 10.0.3.11:80 -i -w 1 --tun-type gre --tun-nocsum
-a -t 10.0.3.103:80 -r 10.0.3.12:80 -i -w 1 --tun-type gre --tun-nocsum"
wait_table director "$(echo "$want" | LC_ALL=C sort)" 15 ||
  { show_log rs-setup-tun; expect_eq "TUN table" "$(echo "$want" | LC_ALL=C sort)" "$(table director)"; }

# rs_check RS VS WANT_EXIT: `vigilctl rs-setup --check` for the service VS on the real server RS.
rs_check() {
  local out rc=0
  out=$(ip netns exec "$1" vigilctl rs-setup "$2" -f /tmp/rs-setup-tun.conf --check 2>&1) || rc=$?
  echo "$out" | sed "s/^/  $1 $2: /"
  [ "$rc" = "$3" ] || fail "rs-setup $2 --check in $1: exit $rc, expected $3"
}

echo "before rs-setup:"
for rs in r1 r2; do
  for vs in 10.0.3.101:80 10.0.3.102:80 10.0.3.103:80; do rs_check "$rs" "$vs" 1; done
done
if nsenter --net=/run/netns/client timeout 3 wget -q -O - http://10.0.3.101/ 2>/dev/null; then
  fail "a real server without the tunnel answered a request through the VIP"
fi

for vs in 10.0.3.101:80 10.0.3.102:80 10.0.3.103:80; do
  vigilctl rs-setup "$vs" -f /tmp/rs-setup-tun.conf --format shell >"/tmp/rs-setup-$vs.sh" ||
    fail "rs-setup $vs --format shell on the director"
  head -1 "/tmp/rs-setup-$vs.sh" | grep -qx '#!/bin/sh' ||
    fail "rs-setup $vs printed no script: $(cat "/tmp/rs-setup-$vs.sh")"
  for rs in r1 r2; do
    ip netns exec "$rs" sh "/tmp/rs-setup-$vs.sh" ||
      fail "the rs-setup script for $vs failed in $rs: $(cat "/tmp/rs-setup-$vs.sh")"
  done
done

echo "after rs-setup:"
for rs in r1 r2; do
  for vs in 10.0.3.101:80 10.0.3.102:80 10.0.3.103:80; do rs_check "$rs" "$vs" 0; done
done
echo "ipip:"
expect_split client http://10.0.3.101/ 10 "5 5"
echo "gue:"
expect_split client http://10.0.3.102/ 10 "5 5"
echo "gre:"
expect_split client http://10.0.3.103/ 10 "5 5"
stop_pid "$vigild_pid" TERM 10
