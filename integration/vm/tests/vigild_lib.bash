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
