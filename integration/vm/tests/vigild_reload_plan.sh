# vigilctl reload --dry-run on a kernel with IPVS: the plan lists exactly the IPVS operations the
# following real reload performs (the table before and after, from ipvsadm -Sn, differs by those
# and nothing else), and the dry run changes nothing itself; a removal the plan shows names the
# live connections it would cut.
# vigil-timeout: 120
. /tests/lib.sh
. /tests/vigild_lib.bash

nat_topology
nat_sink plan

config=/tmp/vigild-plan.conf
write_config() {  # write_config WEIGHT_OF_11 SCHEDULER WITH_SECOND_SERVICE WITH_11 WITH_12
  {
    echo "virtual_server 10.0.1.100 9000 {"
    echo "    lvs_sched $2"
    echo "    lvs_method NAT"
    echo "    protocol TCP"
    if [ "$4" = yes ]; then
      echo "    real_server 10.0.2.11 9000 {"
      echo "        weight $1"
      echo "    }"
    fi
    if [ "$5" = yes ]; then
      echo "    real_server 10.0.2.12 9000 {"
      echo "    }"
    fi
    echo "}"
    if [ "$3" = yes ]; then
      echo "virtual_server 10.0.1.101 80 {"
      echo "    lvs_sched rr"
      echo "    lvs_method NAT"
      echo "    protocol TCP"
      echo "    real_server 10.0.2.12 80 {"
      echo "    }"
      echo "}"
    fi
  } >"$config"
}
# The connection goes to 10.0.2.11 (r1, where the sink listens): the only real server at first.
write_config 3 wrr yes yes no
before="-A -t 10.0.1.100:9000 -s wrr
-A -t 10.0.1.101:80 -s rr
-a -t 10.0.1.100:9000 -r 10.0.2.11:9000 -m -w 3
-a -t 10.0.1.101:80 -r 10.0.2.12:80 -m -w 1"
start_vigild plan "$config" director
wait_table director "$before" 15 || { show_log plan; expect_eq "programmed" "$before" "$(table director)"; }
nat_writer
expect_flowing "before the dry runs"

# A removal of the real server that carries the connection: shown with its live connection.
write_config 3 wrr yes no yes
vigilctl -s director reload --dry-run >/tmp/plan-cut.txt
rc=$?
cat /tmp/plan-cut.txt
[ $rc -eq 7 ] || { show_log plan; fail "dry run exit $rc, expected 7 (changes pending)"; }
grep -q -- '- dest TCP 10.0.1.100:9000 -> 10.0.2.11:9000: 1 active, 0 inactive connections' /tmp/plan-cut.txt \
  || fail "the removal does not show its live connection"
grep -q 'its established connections are dropped' /tmp/plan-cut.txt || fail "no warning for the cut connection"
expect_eq "table after the first dry run" "$before" "$(table director)"

# The edit to apply: a weight, a scheduler, a real server added, a service removed.
write_config 4 rr no yes yes
vigilctl -s director reload --dry-run --json >/tmp/plan.json
rc=$?
[ $rc -eq 7 ] || { cat /tmp/plan.json; fail "dry run exit $rc, expected 7"; }
vigilctl -s director reload --dry-run >/tmp/plan.txt
cat /tmp/plan.txt
expect_eq "table after the dry runs" "$before" "$(table director)"
# The plan's IPVS lines, as ipvsadm would write the operations.
planned=$(sed -n '/^IPVS$/,/^$/p' /tmp/plan.txt | grep -E '^  [-+~] ' | LC_ALL=C sort)
expect_eq "planned IPVS operations" "  + dest TCP 10.0.1.100:9000 -> 10.0.2.12:9000: masq weight 1
  - service TCP 10.0.1.101:80: 1 destination, 0 active, 0 inactive connections
  ~ dest TCP 10.0.1.100:9000 -> 10.0.2.11:9000: weight 3 -> 4
  ~ service TCP 10.0.1.100:9000: sched wrr -> sched rr" "$planned"
grep -q 'Plan: 1 to add, 2 to change, 1 to remove.' /tmp/plan.txt || fail "plan summary"

ops_before=$(grep -c 'applied' /tmp/vigild-plan.log)
vigilctl -s director reload --wait || { show_log plan; fail "reload"; }
after="-A -t 10.0.1.100:9000 -s rr
-a -t 10.0.1.100:9000 -r 10.0.2.11:9000 -m -w 4
-a -t 10.0.1.100:9000 -r 10.0.2.12:9000 -m -w 1"
wait_table director "$after" 5 || { show_log plan; expect_eq "after the reload" "$after" "$(table director)"; }
# The reload sent the plan's four operations, in one pass, and nothing followed.
sleep 1
applied=$(grep 'applied' /tmp/vigild-plan.log | tail -n +$((ops_before + 1)))
expect_eq "the reload's passes" "$(echo "$applied" | sed 's/.*\[ipvs\] //')" "applied 4 operations (0 failed)"
expect_flowing "after the reload"
after_plan=$(vigilctl -s director reload --dry-run)
rc=$?
[ $rc -eq 0 ] || { echo "$after_plan"; fail "dry run after the reload: exit $rc, expected 0"; }
stop_pid "$vigild_pid" TERM 10
