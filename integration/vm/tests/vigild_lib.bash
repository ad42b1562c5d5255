# Helpers of the vigild_*.sh tests (sourced after lib.sh; not a test itself: not *.sh).

# start_vigild NAME CONFIG [NS] [EXTRA_FLAG...]: vigild -C (checkers and IPVS side) in the
# foreground, logging to /tmp/vigild-NAME.log, in NS ("-" = the test's own namespace). Sets
# vigild_pid (also killed by PID when the test exits).
start_vigild() {
  local name=$1 config=$2 ns=${3:--}
  shift 3 2>/dev/null || shift $#
  if [ "$ns" = - ]; then
    spawn vigild -C -n -l -f "$config" -p "/tmp/vigild-$name.pid" "$@" >>"/tmp/vigild-$name.log" 2>&1
  else
    # `ip netns exec` execs vigild: the PID is vigild's.
    spawn ip netns exec "$ns" vigild -C -n -l -f "$config" -p "/tmp/vigild-$name.pid" "$@" \
      >>"/tmp/vigild-$name.log" 2>&1
  fi
  vigild_pid=$!
}

# table NS: ipvsadm -Sn sorted, of NS ("-" = the test's own namespace).
table() {
  if [ "${1:--}" = - ]; then ipvsadm -Sn; else ip netns exec "$1" ipvsadm -Sn; fi | LC_ALL=C sort
}

# golden_table FILE: the golden file without comments, sorted.
golden_table() {
  grep -v '^#' "$1" | LC_ALL=C sort
}

# wait_table NS EXPECTED SECONDS: until the sorted table is EXPECTED (checked every 0.2 s);
# returns 1 when it is not by then.
wait_table() {
  local i=0 steps=$(($3 * 5))
  while [ $i -lt $steps ]; do
    [ "$(table "$1")" = "$2" ] && return 0
    sleep 0.2
    i=$((i + 1))
  done
  return 1
}

# alive PID: the process exists and is not a zombie.
alive() {
  [ -r "/proc/$1/stat" ] || return 1
  [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# stop_pid PID SIGNAL SECONDS: sends SIGNAL and waits until PID is gone (fails the test if not).
stop_pid() {
  kill "-$2" "$1" 2>/dev/null
  local i=0 steps=$(($3 * 5))
  while [ $i -lt $steps ]; do
    alive "$1" || { wait "$1" 2>/dev/null; return 0; }
    sleep 0.2
    i=$((i + 1))
  done
  fail "PID $1 still runs ${3}s after SIG$2"
}

# show_log NAME: vigild's log, for the console when something fails.
show_log() {
  echo "--- vigild log ($1)"
  tail -n 40 "/tmp/vigild-$1.log" 2>/dev/null
}

# wait_sigterm_handled PID: until PID catches SIGTERM (vigild installs its handler after its
# services started; a SIGTERM before that kills it without cleanup). At most 10 s.
wait_sigterm_handled() {
  local i=0 caught
  while [ $i -lt 50 ]; do
    caught=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null)
    [ -n "$caught" ] && [ $((0x$caught & 0x4000)) -ne 0 ] && return 0
    sleep 0.2
    i=$((i + 1))
  done
  fail "PID $1 does not catch SIGTERM after 10 s"
}

# nat_sink NAME: a TCP sink on r1:9000 (nat_topology); every line it gets lands in
# /tmp/NAME-received. nc's stdin is a FIFO held open (at EOF nc would close its side).
nat_sink() {
  mkfifo "/tmp/$1-fifo"
  # (Backgrounded here, not by `spawn`: the FIFO's open blocks until both ends are open.)
  ip netns exec r1 nc -l -p 9000 <"/tmp/$1-fifo" >"/tmp/$1-received" &
  spawned_pids="$spawned_pids $!"
  sleep 300 >"/tmp/$1-fifo" &
  spawned_pids="$spawned_pids $!"
  local i=0
  until ip netns exec r1 netstat -ltn 2>/dev/null | grep -q ':9000 '; do
    i=$((i + 1))
    [ $i -lt 50 ] || fail "nc does not listen on r1:9000"
    sleep 0.1
  done
  sink_name=$1
}

# nat_writer: the client holds one connection to 10.0.1.100:9000 and writes a line every 0.2 s
# (at most 120 s). Sets writer_pid.
nat_writer() {
  spawn nsenter --net=/run/netns/client bash -c '
    exec 3<>/dev/tcp/10.0.1.100/9000 || exit 1
    i=0
    while [ $i -lt 600 ]; do echo "line $i" >&3 || exit 1; sleep 0.2; i=$((i + 1)); done'
  writer_pid=$!
}

# expect_flowing WHEN: the sink receives new lines within 5 s, the writer's connection holds and
# the director's IPVS lists it.
expect_flowing() {
  local before i=0
  received() { wc -l <"/tmp/$sink_name-received"; }
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
