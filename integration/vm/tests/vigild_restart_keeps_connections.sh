# An established connection through vigild's NAT service survives vigild being killed
# (SIGKILL) and stopped with -I (SIGTERM, dont-release-ipvs) and started again on the same
# configuration: data still flows after each restart and the kernel still lists the
# connection (ipvsadm -Lnc). A restart must adopt the table, not recreate the service.
# vigil-timeout: 150
. /tests/lib.sh
. /tests/vigild_lib.bash

nat_topology
# A TCP sink on r1: every line the client writes lands in /tmp/restart-received.
# nc's stdin is a FIFO held open (at EOF nc would close its side of the connection).
mkfifo /tmp/restart-fifo
# (Backgrounded here, not by `spawn`: the FIFO's open blocks until both ends are open.)
ip netns exec r1 nc -l -p 9000 </tmp/restart-fifo >/tmp/restart-received &
spawned_pids="$spawned_pids $!"
sleep 300 >/tmp/restart-fifo &
spawned_pids="$spawned_pids $!"
wait_for_listener() {
  local i=0
  while [ $i -lt 50 ]; do
    ip netns exec r1 netstat -ltn 2>/dev/null | grep -q ':9000 ' && return 0
    sleep 0.1
    i=$((i + 1))
  done
  fail "nc does not listen on r1:9000"
}
wait_for_listener

config=/tmp/vigild-restart.conf
cat >"$config" <<'CONF'
virtual_server 10.0.1.100 9000 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 9000 {
        weight 1
    }
}
CONF
owned="-A -t 10.0.1.100:9000 -s rr
-a -t 10.0.1.100:9000 -r 10.0.2.11:9000 -m -w 1"
start_vigild restart "$config" director -I
wait_table director "$owned" 15 || { show_log restart; expect_eq "programmed" "$owned" "$(table director)"; }

# The client holds one connection and writes a line every 0.2 s (at most 120 s).
spawn nsenter --net=/run/netns/client bash -c '
  exec 3<>/dev/tcp/10.0.1.100/9000 || exit 1
  i=0
  while [ $i -lt 600 ]; do echo "line $i" >&3 || exit 1; sleep 0.2; i=$((i + 1)); done'
writer_pid=$!

received() { wc -l </tmp/restart-received; }
# expect_flowing WHEN: the sink receives new lines within 5 s and the connection is listed.
expect_flowing() {
  local before i=0
  before=$(received)
  while [ $i -lt 25 ]; do
    sleep 0.2
    [ "$(received)" -gt "$before" ] && break
    i=$((i + 1))
  done
  [ "$(received)" -gt "$before" ] || fail "$1: no data flows ($before lines received)"
  alive "$writer_pid" || fail "$1: the client's connection broke"
  ip netns exec director ipvsadm -Lnc | grep -E 'ESTABLISHED +10\.0\.1\.2:[0-9]+ +10\.0\.1\.100:9000 +10\.0\.2\.11:9000' \
    || { ip netns exec director ipvsadm -Lnc; fail "$1: ipvsadm -Lnc lost the connection"; }
  echo "$1: data flows ($(received) lines received)"
}
expect_flowing "before any restart"

# SIGKILL: the table stays in the kernel; the new vigild adopts it.
stop_pid "$vigild_pid" KILL 5
expect_eq "table after SIGKILL" "$owned" "$(table director)"
start_vigild restart "$config" director -I
sleep 3  # the start's reconcile pass has run by now
alive "$vigild_pid" || { show_log restart; fail "vigild did not start again"; }
expect_eq "table after the restart" "$owned" "$(table director)"
expect_flowing "after SIGKILL and restart"

# SIGTERM with -I keeps the table; a restart adopts it again.
stop_pid "$vigild_pid" TERM 10
expect_eq "table after SIGTERM with -I" "$owned" "$(table director)"
start_vigild restart "$config" director -I
sleep 3
alive "$vigild_pid" || { show_log restart; fail "vigild did not start again"; }
expect_eq "table after the second restart" "$owned" "$(table director)"
expect_flowing "after SIGTERM -I and restart"
grep -q 'line 0$' /tmp/restart-received || fail "the first line is missing"
