# lvs_sync_daemon: two directors d1 (priority 150) and d2 (100) run vigild with VRRP (a client
# VIP and the real servers' gateway VIP), a NAT virtual server and `lvs_sync_daemon eth0 VI_1`.
# The master runs the master sync daemon, the backup the backup one (ipvsadm -L --daemon); a
# connection made through d1 appears in d2's connection table (synced); SIGTERM on d1's vigild
# stops its daemon, d2 becomes master, switches to the master daemon and carries the same
# connection on; a reload with another sync id restarts d2's daemon with it.
# vigil-timeout: 180
. /tests/lib.sh
. /tests/vigild_lib.bash

#   client 10.0.1.2 ---- br0 ---- d1 eth0 10.0.1.11 | d2 eth0 10.0.1.12   (VIP 10.0.1.100)
#   r1 10.0.2.21    ---- br1 ---- d1 eth1 10.0.2.1  | d2 eth1 10.0.2.2    (VIP 10.0.2.254)
for bridge in br0 br1; do
  ip link add "$bridge" type bridge stp_state 0 forward_delay 0
  ip link set "$bridge" up
done
for ns in client d1 d2 r1; do new_ns "$ns"; done
# attach NS IF BRIDGE ADDRESS
attach() {
  ip link add "$1-$2" type veth peer name "$2" netns "$1"
  ip link set "$1-$2" master "$3" up
  ip -n "$1" link set "$2" up
  ip -n "$1" addr add "$4" dev "$2"
}
attach client eth0 br0 10.0.1.2/24
attach d1 eth0 br0 10.0.1.11/24
attach d2 eth0 br0 10.0.1.12/24
attach d1 eth1 br1 10.0.2.1/24
attach d2 eth1 br1 10.0.2.2/24
attach r1 eth0 br1 10.0.2.21/24
ip -n r1 route add default via 10.0.2.254
for ns in d1 d2; do ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1; done
# Take the VIPs' new MAC from the new master's gratuitous ARP at once.
for ns in client r1; do ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_accept=1; done

# write_config NODE PRIORITY SYNC_ID
write_config() {
  cat >"/tmp/vigild-$1.conf" <<CONF
global_defs {
    router_id $1
    lvs_sync_daemon eth0 VI_1 id $3
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $2
    advert_int 1
    virtual_ipaddress {
        10.0.1.100/24 dev eth0
        10.0.2.254/24 dev eth1
    }
}
virtual_server 10.0.1.100 9000 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.21 9000 {
        weight 1
    }
}
CONF
}

# start_full NODE: vigild with both sides (VRRP and IPVS) in NODE's namespace.
declare -A pid_of
start_full() {
  spawn ip netns exec "$1" vigild -n -l -f "/tmp/vigild-$1.conf" -p "/tmp/vigild-$1.pid" \
    >>"/tmp/vigild-$1.log" 2>&1
  pid_of[$1]=$!
}

# daemons NS: the sync daemons running in NS, e.g. "backup eth0 51" (one per line, sorted).
daemons() {
  ip netns exec "$1" ipvsadm -L --daemon 2>/dev/null |
    sed -n 's/^\(master\|backup\) sync daemon (mcast=\([^,]*\), syncid=\([0-9]*\).*/\1 \2 \3/p' |
    LC_ALL=C sort
}

# wait_daemons NS EXPECTED SECONDS: until daemons NS prints EXPECTED (every 0.2 s).
wait_daemons() {
  local i=0 steps=$(($3 * 5))
  while [ $i -lt $steps ]; do
    [ "$(daemons "$1")" = "$2" ] && return 0
    sleep 0.2
    i=$((i + 1))
  done
  show_log d1
  show_log d2
  ip netns exec "$1" ipvsadm -L --daemon
  expect_eq "sync daemons of $1 after $3 s" "$2" "$(daemons "$1")"
}

has_vip() { ip -n "$1" -4 addr show dev eth0 | grep -q 'inet 10\.0\.1\.100/'; }

# wait_vip NS SECONDS
wait_vip() {
  local i=0 steps=$(($2 * 5))
  while [ $i -lt $steps ]; do
    has_vip "$1" && return 0
    sleep 0.2
    i=$((i + 1))
  done
  show_log d1
  show_log d2
  fail "$1 does not hold 10.0.1.100 after $2 s"
}

connection='ESTABLISHED +10\.0\.1\.2:[0-9]+ +10\.0\.1\.100:9000 +10\.0\.2\.21:9000'

# wait_connection NS SECONDS: until NS's ipvsadm -Lnc lists the client's connection.
wait_connection() {
  local i=0 steps=$(($2 * 5))
  while [ $i -lt $steps ]; do
    ip netns exec "$1" ipvsadm -Lnc | grep -qE "$connection" && return 0
    sleep 0.2
    i=$((i + 1))
  done
  ip netns exec "$1" ipvsadm -Lnc
  fail "$1 does not list the client's connection after $2 s"
}

write_config d1 150 51
write_config d2 100 51

# d1 first: it becomes master, with the backup daemon until then and the master daemon after.
start_full d1
wait_vip d1 15
wait_daemons d1 "master eth0 51" 10
start_full d2
wait_daemons d2 "backup eth0 51" 15
has_vip d2 && fail "d2 holds the VIP while d1 is master"
echo "d1 runs the master sync daemon, d2 the backup one"

# A TCP sink on r1 (its stdin a FIFO held open: at EOF nc would close the connection) and a
# client that holds one connection through the VIP and writes a line every 0.2 s.
mkfifo /tmp/sync-fifo
ip netns exec r1 nc -l -p 9000 </tmp/sync-fifo >/tmp/sync-received &
spawned_pids="$spawned_pids $!"
sleep 300 >/tmp/sync-fifo &
spawned_pids="$spawned_pids $!"
i=0
until ip netns exec r1 netstat -ltn 2>/dev/null | grep -q ':9000 '; do
  i=$((i + 1))
  [ $i -lt 50 ] || fail "nc does not listen on r1:9000"
  sleep 0.1
done
spawn nsenter --net=/run/netns/client bash -c '
  exec 3<>/dev/tcp/10.0.1.100/9000 || exit 1
  i=0
  while [ $i -lt 700 ]; do echo "line $i" >&3 || exit 1; sleep 0.2; i=$((i + 1)); done'
writer_pid=$!

received() { wc -l </tmp/sync-received; }
# expect_flowing WHEN: new lines reach r1 within 10 s over the same connection.
expect_flowing() {
  local before i=0
  before=$(received)
  while [ $i -lt 50 ] && [ "$(received)" -le "$before" ]; do
    sleep 0.2
    i=$((i + 1))
  done
  [ "$(received)" -gt "$before" ] || fail "$1: no data flows ($before lines received)"
  alive "$writer_pid" || fail "$1: the client's connection broke"
  echo "$1: data flows ($(received) lines received)"
}

expect_flowing "through d1"
wait_connection d1 5
# The master daemon sends the connection once it saw enough packets (sync_threshold).
wait_connection d2 15
echo "d2 lists the synced connection:"
ip netns exec d2 ipvsadm -Lnc | grep -E "$connection"

# A clean stop of d1: its daemon stops with it, d2 takes over as master.
stop_pid "${pid_of[d1]}" TERM 15
expect_eq "sync daemons of d1 after its vigild stopped" "" "$(daemons d1)"
wait_vip d2 15
wait_daemons d2 "master eth0 51" 10
grep -q 'backup -> master (vrrp_instance VI_1 is MASTER)' /tmp/vigild-d2.log ||
  { show_log d2; fail "d2's log does not say why its sync daemon changed"; }
expect_flowing "through d2 on the synced connection"
ip netns exec d2 ipvsadm -Lnc | grep -E "$connection" || fail "d2 lost the connection"

# A reload with another sync id restarts the daemon with it, still master.
write_config d2 100 52
kill -HUP "${pid_of[d2]}"
wait_daemons d2 "master eth0 52" 10
alive "${pid_of[d2]}" || fail "d2's vigild died on reload"
stop_pid "${pid_of[d2]}" TERM 15
expect_eq "sync daemons of d2 after its vigild stopped" "" "$(daemons d2)"
