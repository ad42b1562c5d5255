# vigild repairs hand edits of the services it owns on its periodic resync (every 10 s) and
# leaves a foreign service alone; SIGHUP with one weight changed changes exactly that weight;
# SIGTERM removes its services and only those. /metrics counts the repairs as drift.
# vigil-timeout: 120
. /tests/lib.sh
. /tests/vigild_lib.bash

config=/tmp/vigild-repair.conf
write_config() {  # write_config WEIGHT_OF_R2
  cat >"$config" <<CONF
global_defs {
    vigil_metrics_address 127.0.0.1 9642
}
virtual_server 10.0.0.1 80 {
    lvs_sched wrr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 8080 {
        weight 1
    }
    real_server 10.0.2.12 8080 {
        weight $1
    }
}
virtual_server 10.0.0.2 53 {
    lvs_sched rr
    lvs_method DR
    protocol UDP
    real_server 10.0.2.21 53 {
        weight 3
    }
}
CONF
}
owned="-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.0.2.11:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.0.2.12:8080 -m -w 2
-A -u 10.0.0.2:53 -s rr
-a -u 10.0.0.2:53 -r 10.0.2.21:53 -g -w 3"
foreign="-A -t 10.0.0.9:80 -s wlc
-a -t 10.0.0.9:80 -r 10.0.2.31:80 -m -w 7"
sorted() { echo "$1" | LC_ALL=C sort; }

write_config 2
start_vigild repair "$config" -
wait_table - "$(sorted "$owned")" 15 || { show_log repair; expect_eq "programmed" "$(sorted "$owned")" "$(table -)"; }

# Hand edits: a weight of an owned real server, a stray real server in an owned service, a
# removed owned real server, and a foreign service.
ipvsadm -e -t 10.0.0.1:80 -r 10.0.2.11:8080 -m -w 9 || fail "ipvsadm -e"
ipvsadm -a -t 10.0.0.1:80 -r 10.0.2.99:8080 -m -w 1 || fail "ipvsadm -a stray"
ipvsadm -d -u 10.0.0.2:53 -r 10.0.2.21:53 || fail "ipvsadm -d"
ipvsadm -A -t 10.0.0.9:80 -s wlc || fail "ipvsadm -A foreign"
ipvsadm -a -t 10.0.0.9:80 -r 10.0.2.31:80 -m -w 7 || fail "ipvsadm -a foreign"
edited=$(table -)
echo "$edited" | grep -q -- '-r 10.0.2.11:8080 -m -w 9' || fail "hand edit not in the table: $edited"
start=$(date +%s)
want=$(sorted "$owned
$foreign")
if ! wait_table - "$want" 15; then
  show_log repair
  expect_eq "repaired within 15 s, foreign service untouched" "$want" "$(table -)"
fi
echo "repaired after about $(($(date +%s) - start)) s"
# Three operations repaired the three hand edits (the foreign service is not vigil's).
drift=$(wget -qO- http://127.0.0.1:9642/metrics | grep '^vigil_ipvs_drift_repairs_total ')
expect_eq "drift counted" "vigil_ipvs_drift_repairs_total 3" "$drift"

# Reload with r2's weight 2 -> 5: exactly that line changes.
before=$(table -)
write_config 5
kill -HUP "$vigild_pid"
want_after=$(echo "$before" | sed 's/-r 10.0.2.12:8080 -m -w 2$/-r 10.0.2.12:8080 -m -w 5/' | LC_ALL=C sort)
[ "$want_after" != "$before" ] || fail "test bug: the weight edit changed nothing"
if ! wait_table - "$want_after" 10; then
  show_log repair
  expect_eq "after SIGHUP" "$want_after" "$(table -)"
fi
echo "$before" >/tmp/vigild-repair.before
table - >/tmp/vigild-repair.after
changed="$(grep -vxF -f /tmp/vigild-repair.after /tmp/vigild-repair.before | sed 's/^/< /')
$(grep -vxF -f /tmp/vigild-repair.before /tmp/vigild-repair.after | sed 's/^/> /')"
expect_eq "SIGHUP diff" "< -a -t 10.0.0.1:80 -r 10.0.2.12:8080 -m -w 2
> -a -t 10.0.0.1:80 -r 10.0.2.12:8080 -m -w 5" "$changed"
alive "$vigild_pid" || fail "vigild exited"

# SIGTERM: the owned services go, the foreign one stays.
stop_pid "$vigild_pid" TERM 10
expect_eq "after SIGTERM only the foreign service" "$(sorted "$foreign")" "$(table -)"
