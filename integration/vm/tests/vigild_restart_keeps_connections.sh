# An established connection through vigild's NAT service survives vigild being killed
# (SIGKILL) and stopped with -I (SIGTERM, dont-release-ipvs) and started again on the same
# configuration: data still flows after each restart and the kernel still lists the
# connection (ipvsadm -Lnc). A restart must adopt the table, not recreate the service.
# vigil-timeout: 150
. /tests/lib.sh
. /tests/vigild_lib.bash

nat_topology
nat_sink restart

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

nat_writer
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
