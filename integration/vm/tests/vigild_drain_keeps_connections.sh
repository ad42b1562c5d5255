# A drain through the control socket (vigilctl rs drain) on a kernel with IPVS: the destination
# goes to weight 0 in ipvsadm, the established connection keeps flowing and stays listed, a new
# connection gets no real server; the drain survives a vigild restart (state file: the first
# programming after the restart keeps weight 0); `rs ready` brings the configured weight back.
# `vigilctl services --json` shows the destination's kernel weight and active connections as
# ipvsadm -Ln does, before and after the drain.
# vigil-timeout: 150
. /tests/lib.sh
. /tests/vigild_lib.bash

nat_topology
mkdir -p /var/lib  # Debian has it; vigild makes /var/lib/vigil itself
nat_sink drain

config=/tmp/vigild-drain.conf
cat >"$config" <<'CONF'
virtual_server 10.0.1.100 9000 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 9000 {
        weight 3
    }
}
CONF
serving="-A -t 10.0.1.100:9000 -s rr
-a -t 10.0.1.100:9000 -r 10.0.2.11:9000 -m -w 3"
drained="-A -t 10.0.1.100:9000 -s rr
-a -t 10.0.1.100:9000 -r 10.0.2.11:9000 -m -w 0"
start_vigild drain "$config" director -I
wait_table director "$serving" 15 || { show_log drain; expect_eq "programmed" "$serving" "$(table director)"; }

nat_writer
expect_flowing "before the drain"

# kernel_matches WEIGHT: vigilctl services --json shows the real server's kernel weight WEIGHT
# and as many active connections (at least 1) as ipvsadm -Ln; vigild may dump up to 1 s later.
kernel_matches() {
  local i=0 json kernel weight active listed
  while [ $i -lt 30 ]; do
    json=$(vigilctl -s director services --json | tr -d ' \n')
    kernel=$(printf '%s' "$json" | sed -n 's/.*"kernel":{\([^}]*\)}.*/\1/p')
    weight=$(printf '%s' "$kernel" | sed -n 's/.*"weight":\([0-9]*\).*/\1/p')
    active=$(printf '%s' "$kernel" | sed -n 's/.*"active_connections":\([0-9]*\).*/\1/p')
    # "  -> 10.0.2.11:9000  Masq  3  1  0": weight, ActiveConn, InActConn
    listed=$(ip netns exec director ipvsadm -Ln | awk '$2 == "10.0.2.11:9000" { print $4, $5 }')
    if [ "$weight $active" = "$listed" ] && [ "$weight" = "$1" ] && [ "${active:-0}" -ge 1 ]; then
      echo "services: kernel weight $weight, $active active (ipvsadm: $listed)"
      return 0
    fi
    sleep 0.2
    i=$((i + 1))
  done
  ip netns exec director ipvsadm -Ln
  vigilctl -s director services
  fail "services --json: kernel '$kernel', want weight $1 and ipvsadm's '$listed'"
}
kernel_matches 3

vigilctl -s director rs drain 10.0.1.100:9000 10.0.2.11 --reason "vm test" \
  || { show_log drain; fail "vigilctl rs drain"; }
wait_table director "$drained" 5 || expect_eq "drained" "$drained" "$(table director)"
expect_flowing "after the drain"
kernel_matches 0
vigilctl -s director services | grep -E '\[10\.0\.2\.11\]:tcp:9000 +UP +3 +drain +0 +1 ' \
  || { vigilctl -s director services; fail "services does not show the drain's kernel weight"; }
# A new connection is not scheduled to it: IPVS lists only the established one.
nsenter --net=/run/netns/client timeout 3 bash -c 'exec 3<>/dev/tcp/10.0.1.100/9000' 2>/dev/null
entries=$(ip netns exec director ipvsadm -Lnc | grep -c '10\.0\.2\.11:9000')
[ "$entries" -eq 1 ] || { ip netns exec director ipvsadm -Lnc; fail "a new connection went to the drained real server ($entries entries)"; }
vigilctl -s director status | grep -q 'drain' || { vigilctl -s director status; fail "status does not show the drain"; }

# A restart (SIGKILL: the table stays; -I) keeps it drained: the override is in the state file.
stop_pid "$vigild_pid" KILL 5
[ -s /var/lib/vigil/state_director.conf ] || fail "no state file /var/lib/vigil/state_director.conf"
start_vigild drain "$config" director -I
sleep 3  # the start's reconcile pass has run by now
alive "$vigild_pid" || { show_log drain; fail "vigild did not start again"; }
expect_eq "table after the restart" "$drained" "$(table director)"
expect_flowing "after the restart"

vigilctl -s director rs ready 10.0.1.100:9000 10.0.2.11 || { show_log drain; fail "vigilctl rs ready"; }
wait_table director "$serving" 5 || expect_eq "ready" "$serving" "$(table director)"
expect_flowing "after ready"
stop_pid "$vigild_pid" TERM 10
rm -f /var/lib/vigil/state_director.conf
