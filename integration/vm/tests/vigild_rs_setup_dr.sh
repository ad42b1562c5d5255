# `vigilctl rs-setup` makes a DR service carry traffic (issue 15). Two real servers on the
# director's link start as fresh hosts (no VIP on lo, arp_ignore and arp_announce 0): vigild
# programs the DR service, a request through the VIP gets no answer (the real server drops a
# packet for an address it does not have) and `rs-setup --check` on each exits 1. The
# `--format shell` script printed on the director from its configuration, run on each real
# server, makes `--check` exit 0 and rr split 10 requests 5/5 through the VIP.
# vigil-timeout: 180
. /tests/lib.sh
. /tests/vigild_lib.bash

l2_topology
# l2_topology prepares its real servers for DR by hand: here they start as a fresh host would.
for rs in r1 r2; do
  ip netns exec "$rs" sysctl -qw net.ipv4.conf.all.arp_ignore=0
  ip netns exec "$rs" sysctl -qw net.ipv4.conf.all.arp_announce=0
done
ip -n director addr add 10.0.3.100/32 dev eth0
cat >/tmp/rs-setup.conf <<'CONF'
virtual_server 10.0.3.100 80 {
    lvs_sched rr
    lvs_method DR
    protocol TCP
    real_server 10.0.3.11 80 {
        weight 1
    }
    real_server 10.0.3.12 80 {
        weight 1
    }
}
CONF
start_vigild rs-setup /tmp/rs-setup.conf director
want="-A -t 10.0.3.100:80 -s rr
-a -t 10.0.3.100:80 -r 10.0.3.11:80 -g -w 1
-a -t 10.0.3.100:80 -r 10.0.3.12:80 -g -w 1"
wait_table director "$(echo "$want" | LC_ALL=C sort)" 15 ||
  { show_log rs-setup; expect_eq "DR table" "$(echo "$want" | LC_ALL=C sort)" "$(table director)"; }

# rs_check RS WANT_EXIT: `vigilctl rs-setup --check` on the real server RS.
rs_check() {
  local out rc=0
  out=$(ip netns exec "$1" vigilctl rs-setup 10.0.3.100:80 -f /tmp/rs-setup.conf --check 2>&1) ||
    rc=$?
  echo "$out" | sed "s/^/  $1: /"
  [ "$rc" = "$2" ] || fail "rs-setup --check in $1: exit $rc, expected $2"
}

echo "before rs-setup:"
rs_check r1 1
rs_check r2 1
# rr sends one request to each real server: neither answers.
for attempt in 1 2; do
  if nsenter --net=/run/netns/client timeout 3 wget -q -O - http://10.0.3.100/ 2>/dev/null; then
    fail "a real server without the VIP answered a request through the VIP (attempt $attempt)"
  fi
done

vigilctl rs-setup 10.0.3.100:80 -f /tmp/rs-setup.conf --format shell >/tmp/rs-setup.sh ||
  fail "rs-setup --format shell on the director"
head -1 /tmp/rs-setup.sh | grep -qx '#!/bin/sh' || fail "rs-setup printed no script: $(cat /tmp/rs-setup.sh)"
for rs in r1 r2; do
  ip netns exec "$rs" sh /tmp/rs-setup.sh || fail "the rs-setup script failed in $rs"
done

echo "after rs-setup:"
rs_check r1 0
rs_check r2 0
expect_split client http://10.0.3.100/ 10 "5 5"
stop_pid "$vigild_pid" TERM 10
