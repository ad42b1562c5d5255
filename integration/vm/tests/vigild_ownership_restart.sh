# vigild remembers which IPVS services it owns across restarts (/run/vigil/ipvs-owned.conf):
# killed (SIGKILL) with 2 services and restarted on a config with 1, it removes the dropped one
# and leaves a service added by hand with ipvsadm. An unreadable state file is reported with
# its line and ignored: vigild starts and owns only what its config names.
# vigil-timeout: 120
. /tests/lib.sh
. /tests/vigild_lib.bash

state=/run/vigil/ipvs-owned.conf
service() {  # service ADDRESS: one NAT service with one real server
  cat <<CONF
virtual_server $1 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 8080 {
        weight 1
    }
}
CONF
}
{ service 10.0.0.1; service 10.0.0.2; } >/tmp/vigild-owned-a.conf
service 10.0.0.1 >/tmp/vigild-owned-b.conf
service 10.0.0.3 >/tmp/vigild-owned-c.conf
rows() {  # rows ADDRESS...: the sorted ipvsadm -Sn lines of those services
  for a in "$@"; do
    echo "-A -t $a:80 -s rr"
    echo "-a -t $a:80 -r 10.0.2.11:8080 -m -w 1"
  done | LC_ALL=C sort
}

start_vigild owned-a /tmp/vigild-owned-a.conf -
wait_table - "$(rows 10.0.0.1 10.0.0.2)" 15 ||
  { show_log owned-a; expect_eq "config A" "$(rows 10.0.0.1 10.0.0.2)" "$(table -)"; }
i=0
while [ $i -lt 50 ] && ! grep -q '10.0.0.2' "$state" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
cat "$state" || fail "no state file $state"
grep -q '"10.0.0.1"' "$state" && grep -q '"10.0.0.2"' "$state" || fail "state does not name both services"

# A foreign service, then SIGKILL: the kernel keeps everything.
ipvsadm -A -t 10.0.0.9:80 -s wlc || fail "ipvsadm -A foreign"
ipvsadm -a -t 10.0.0.9:80 -r 10.0.2.31:80 -m -w 7 || fail "ipvsadm -a foreign"
foreign="-A -t 10.0.0.9:80 -s wlc
-a -t 10.0.0.9:80 -r 10.0.2.31:80 -m -w 7"
stop_pid "$vigild_pid" KILL 5

# Config B drops 10.0.0.2: the restart removes it, keeps 10.0.0.1 and the foreign service.
start_vigild owned-b /tmp/vigild-owned-b.conf -
want=$( (rows 10.0.0.1; echo "$foreign") | LC_ALL=C sort)
if ! wait_table - "$want" 10; then
  show_log owned-b
  expect_eq "restart on config B" "$want" "$(table -)"
fi
grep -q 'owned before this start' /tmp/vigild-owned-b.log || { show_log owned-b; fail "no ownership loaded"; }
i=0
while [ $i -lt 50 ] && grep -q '10.0.0.2' "$state"; do sleep 0.1; i=$((i + 1)); done
grep -q '"10.0.0.2"' "$state" && fail "state still names 10.0.0.2: $(cat "$state")"
stop_pid "$vigild_pid" KILL 5

# A corrupt state: reported with file and line, ignored; 10.0.0.1 is foreign now and stays.
printf 'version = 1;\nservices = ( {{{\n' >"$state"
start_vigild owned-c /tmp/vigild-owned-c.conf -
want=$( (rows 10.0.0.1 10.0.0.3; echo "$foreign") | LC_ALL=C sort)
if ! wait_table - "$want" 10; then
  show_log owned-c
  expect_eq "restart with a corrupt state" "$want" "$(table -)"
fi
grep -Eq "ignoring the ownership state: $state:[0-9]+: " /tmp/vigild-owned-c.log ||
  { show_log owned-c; fail "the corrupt state is not reported with its line"; }
alive "$vigild_pid" || fail "vigild exited"

# SIGTERM removes what it owns (10.0.0.3) and records that it owns nothing.
wait_sigterm_handled "$vigild_pid"
stop_pid "$vigild_pid" TERM 10
[ "$(table -)" = "$( (rows 10.0.0.1; echo "$foreign") | LC_ALL=C sort)" ] || show_log owned-c
expect_eq "after SIGTERM" "$( (rows 10.0.0.1; echo "$foreign") | LC_ALL=C sort)" "$(table -)"
grep -q 'address' "$state" && fail "state after SIGTERM still names services: $(cat "$state")"
true
